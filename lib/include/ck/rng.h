/* ck/rng.h — counter-based random numbers (Philox4x32-10).
 *
 * Why counter-based: the stream for one item is a pure function of
 * (seed, item, copy), so results are the same bytes whatever the number of
 * threads or the order in which items are processed. Never use rand().
 *
 *   ck_rng r = ck_rng_make(seed, item_index, copy_index);
 *   float u = ck_rng_uniform(&r);          // [0,1)
 *
 * The state is a small value type (deliberately not opaque: it is copied
 * into loops and into CUDA kernels). ck_philox() is usable from device code
 * when compiled by nvcc, so CPU and GPU dropout masks match bit for bit.
 */
#ifndef CK_RNG_H
#define CK_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__CUDACC__)
#define CK_HOSTDEV __host__ __device__
#else
#define CK_HOSTDEV
#endif

/* The seed every tool uses unless told otherwise (--seed), so that the
 * same command gives the same bytes whichever tool runs it. */
#define CK_DEFAULT_SEED 1

typedef struct ck_rng {
    uint32_t key[2];     /* from the seed */
    uint32_t ctr[4];     /* item, copy, block counter (2 words) */
    uint32_t out[4];     /* last generated block */
    int used;            /* words of out[] already consumed */
} ck_rng;

/* One Philox4x32-10 block: 4 random words for (counter, key). */
static inline CK_HOSTDEV void ck_philox(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int i = 0; i < 10; i++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Stateless: 4 words for (seed, a, b, c). Used for per-element masks. */
static inline CK_HOSTDEV void ck_philox_at(uint64_t seed, uint32_t a, uint32_t b, uint32_t c, uint32_t out[4])
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {a, b, c, 0x636b0001u};
    ck_philox(ctr, key, out);
}

/* Uniform float in [0,1) from 24 random bits (exact, identical everywhere). */
static inline CK_HOSTDEV float ck_u32_to_unit(uint32_t x)
{
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

ck_rng ck_rng_make(uint64_t seed, uint64_t item, uint64_t copy);
uint32_t ck_rng_u32(ck_rng *r);
uint64_t ck_rng_u64(ck_rng *r);
/* [0,1) with 24 bits. */
float ck_rng_uniform(ck_rng *r);
/* [0,1) with 53 bits. */
double ck_rng_uniform_double(ck_rng *r);
/* Uniform in [lo, hi). */
double ck_rng_range(ck_rng *r, double lo, double hi);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint32_t ck_rng_below(ck_rng *r, uint32_t n);
/* Standard normal (Box–Muller). */
double ck_rng_normal(ck_rng *r);
/* Gamma(shape, 1), shape > 0 (Marsaglia–Tsang; shape < 1 through
 * Gamma(shape + 1)·U^(1/shape)). */
double ck_rng_gamma(ck_rng *r, double shape);
/* Beta(a, b), a, b > 0: X/(X+Y) of two gamma variates (mixup's weight). */
double ck_rng_beta(ck_rng *r, double a, double b);
/* Fisher–Yates shuffle of an int array. */
void ck_rng_shuffle_int(ck_rng *r, int *a, int n);

#ifdef __cplusplus
}
#endif
#endif
