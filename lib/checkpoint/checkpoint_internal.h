/* checkpoint_internal.h — helpers shared by lib/train files (private). */
#ifndef CK_CHECKPOINT_INTERNAL_H
#define CK_CHECKPOINT_INTERNAL_H

#include "ck/checkpoint.h"

/* Verify that `path` has the sha256 and size recorded in the checkpoint;
 * -1 with "base weights 'P' differ from those checkpoint X was trained
 * with ..." otherwise. */
int ck_checkpoint_check_base(const ck_checkpoint *c, const char *path);

#endif
