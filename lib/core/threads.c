/* The bound on thread-count options; see ck/threads.h. */
#include "ck/threads.h"

#include <unistd.h>

int ck_thread_limit(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 1024 ? 4096 : (int)(4 * n);
}
