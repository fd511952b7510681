/* Private helpers shared by the submission_*.c files. */
#ifndef CK_SUBMISSION_INTERNAL_H
#define CK_SUBMISSION_INTERNAL_H

#include <stddef.h>

#include "ck/submission.h"

/* Record the source line of a row (reader only). */
void ck_submission_set_line_(ck_submission *s, int row, int line);

#endif
