/* ck/split.h — stratified holdout and k-fold splits over class indices.
 *
 * Deterministic: the result is a pure function of (cls[], n, fraction or k,
 * seed); another seed gives another split. Members of each class are shuffled
 * with ck_rng_make(seed, class, stream) and then cut, so every class is
 * represented in proportion.
 *
 * Holdout rounding (documented because users check counts): the total number
 * of validation rows is T = round(val_frac * n) (halves away from zero).
 * Class c first gets floor(val_frac * n_c); the remaining rows go one each
 * to the classes with the largest fractional parts (ties: lower class index
 * first). Then each class with n_c >= 2 is capped at n_c - 1 so it keeps at
 * least one training row, and a class with a single member always trains
 * (caps may make the total slightly lower than T). So every class is within
 * ±1 of val_frac * n_c.
 *
 * K-fold: class c's shuffled members are dealt round-robin to folds starting
 * at fold (members of classes before c) mod k, so each fold gets
 * floor or ceil(n_c / k) of every class and fold sizes differ by at most 1.
 * With k >= 2 a class with n_c >= 2 keeps a training row in every fold; a
 * single-member class is in the validation part of exactly one fold.
 */
#ifndef CK_SPLIT_H
#define CK_SPLIT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cls[i] in 0..ncls-1 (every value must be >= 0). is_val[i] = 1 for
 * validation rows, 0 for training rows. 0 < val_frac < 1. -1 and an error
 * on bad arguments. */
int ck_split_holdout(const int *cls, int n, double val_frac, uint64_t seed, unsigned char *is_val);
/* fold_of[i] in 0..k-1: row i is validation in fold fold_of[i] and training
 * in every other fold. 2 <= k <= n. */
int ck_split_kfold(const int *cls, int n, int k, uint64_t seed, int *fold_of);

#ifdef __cplusplus
}
#endif
#endif
