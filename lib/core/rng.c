/* Philox streams keyed by (seed, item, copy); see ck/rng.h. */
#include "ck/rng.h"

#include <math.h>

ck_rng ck_rng_make(uint64_t seed, uint64_t item, uint64_t copy)
{
    ck_rng r;
    r.key[0] = (uint32_t)seed;
    r.key[1] = (uint32_t)(seed >> 32);
    /* item and copy each get 32 bits of the counter plus a mixing of their
     * high halves into the block counter, so distinct triples never share a
     * stream in practice. */
    r.ctr[0] = (uint32_t)item;
    r.ctr[1] = (uint32_t)copy;
    r.ctr[2] = 0;
    r.ctr[3] = (uint32_t)(item >> 32) ^ ((uint32_t)(copy >> 32) * 0x9E3779B9u);
    r.used = 4;
    return r;
}

uint32_t ck_rng_u32(ck_rng *r)
{
    if (r->used >= 4) {
        ck_philox(r->ctr, r->key, r->out);
        r->ctr[2]++;
        r->used = 0;
    }
    return r->out[r->used++];
}

uint64_t ck_rng_u64(ck_rng *r)
{
    uint64_t hi = ck_rng_u32(r);
    return (hi << 32) | ck_rng_u32(r);
}

float ck_rng_uniform(ck_rng *r)
{
    return ck_u32_to_unit(ck_rng_u32(r));
}

double ck_rng_uniform_double(ck_rng *r)
{
    return (double)(ck_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double ck_rng_range(ck_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ck_rng_uniform_double(r);
}

uint32_t ck_rng_below(ck_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection. */
    uint64_t m = (uint64_t)ck_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (low < t) {
            m = (uint64_t)ck_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double ck_rng_normal(ck_rng *r)
{
    double u1 = ck_rng_uniform_double(r);
    double u2 = ck_rng_uniform_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double ck_rng_gamma(ck_rng *r, double shape)
{
    if (shape < 1.0) {
        double u = ck_rng_uniform_double(r);
        return ck_rng_gamma(r, shape + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = ck_rng_normal(r), v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = ck_rng_uniform_double(r);
        if (u < 1.0 - 0.0331 * x * x * x * x || (u > 0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))))
            return d * v;
    }
}

double ck_rng_beta(ck_rng *r, double a, double b)
{
    double x = ck_rng_gamma(r, a), y = ck_rng_gamma(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

void ck_rng_shuffle_int(ck_rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ck_rng_below(r, (uint32_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
