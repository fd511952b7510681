/* conv_winograd.h — test hook of conv_winograd.c (private). */
#ifndef CK_CONV_WINOGRAD_H
#define CK_CONV_WINOGRAD_H

/* Tests only: force the number of tiles per chunk (0 = automatic) so that
 * small shapes exercise the multi-chunk path. Returns the previous value. */
long ck_cpu_winograd_set_chunk(long tiles);

#endif
