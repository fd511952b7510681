/* ck/threads.h — the bound on thread counts that options may ask for. */
#ifndef CK_THREADS_H
#define CK_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The most threads (compute or image-loading) an option may ask for: 4 per
 * online core. More only costs memory and stacks; 100000 crashed the
 * OpenMP runtime and made the loader allocate gigabytes. */
int ck_thread_limit(void);

#ifdef __cplusplus
}
#endif
#endif
