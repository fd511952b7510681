/* ck/version.h — which ck this is. */
#ifndef CK_VERSION_H
#define CK_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH" of the library linked in (e.g. "0.1.0"). */
const char *ck_version(void);

#ifdef __cplusplus
}
#endif
#endif
