/* ck/ck.h — the whole library in one include, for programs built on the
 * kit (pkg-config --cflags --libs ck). Each header also stands alone. */
#ifndef CK_CK_H
#define CK_CK_H

#include "ck/arch.h"
#include "ck/augment.h"
#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/dataset.h"
#include "ck/dtype.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/json.h"
#include "ck/labels.h"
#include "ck/metrics.h"
#include "ck/model.h"
#include "ck/multigpu.h"
#include "ck/ops.h"
#include "ck/optim.h"
#include "ck/predict.h"
#include "ck/progress.h"
#include "ck/rng.h"
#include "ck/safetensors.h"
#include "ck/sha256.h"
#include "ck/split.h"
#include "ck/strmap.h"
#include "ck/submission.h"
#include "ck/synth.h"
#include "ck/table.h"
#include "ck/text.h"
#include "ck/threads.h"
#include "ck/train.h"
#include "ck/version.h"
#include "ck/weights.h"
#include "ck/worst.h"

#endif
