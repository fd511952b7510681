/* Private to the ck-finetune tool. */
#ifndef CK_FINETUNE_TOOL_H
#define CK_FINETUNE_TOOL_H

#include <stdio.h>

#include "ck/train.h"

void finetune_usage(FILE *f);
/* --summary: build the model described by o and print it to out. */
int finetune_summary(const ck_train_options *o, FILE *out);

#endif
