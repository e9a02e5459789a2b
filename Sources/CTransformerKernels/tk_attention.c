// Decode attention over one cache block for several query heads that share its kv head, reading F16 or F32 keys
// and values in place (F16 widened in registers). The float operations are those of the engine's Swift code
// (VectorMath.dot, VectorMath.addScaled), in the same order, so the results are the same bits: a dot product keeps
// two 8-lane accumulators over 16-element steps (multiply, then add: no FMA), adds them, sums the 8 lanes one by one
// from zero, then the 8-element and single-element tails.
#pragma clang fp contract(off)

#include "tk_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ATTN_TARGET __attribute__((target("avx2,f16c")))
#define ATTN_INLINE static inline __attribute__((always_inline, target("avx2,f16c")))

ATTN_INLINE __m256 load8(const void *base, int f16, int64_t i) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + i)));
    return _mm256_loadu_ps((const float *)base + i);
}

ATTN_INLINE float load1(const void *base, int f16, int64_t i) {
    if (f16) return tk_half_to_float(((const uint16_t *)base)[i]);
    return ((const float *)base)[i];
}

ATTN_INLINE float dot_row(const float *a, const void *b, int f16, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_loadu_ps(a + i), load8(b, f16, i)));
        acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), load8(b, f16, i + 8)));
    }
    if (i + 8 <= n) {
        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_loadu_ps(a + i), load8(b, f16, i)));
        i += 8;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(acc0, acc1));
    float sum = 0.0f;
    for (int l = 0; l < 8; l++) sum += lanes[l];
    for (; i < n; i++) sum += a[i] * load1(b, f16, i);
    return sum;
}

ATTN_TARGET static void scores_avx2(const float *q, int64_t heads, int64_t qStride, const void *keys, int f16,
                                    int64_t slots, int64_t hd, float scale, float *scores, int64_t scoresStride) {
    for (int64_t j = 0; j < slots; j++) {
        const void *k = f16 ? (const void *)((const uint16_t *)keys + j * hd) : (const void *)((const float *)keys + j * hd);
        for (int64_t h = 0; h < heads; h++) scores[h * scoresStride + j] = dot_row(q + h * qStride, k, f16, hd) * scale;
    }
}

ATTN_TARGET static void accumulate_avx2(float *out, int64_t heads, int64_t outStride, const void *values, int f16,
                                        int64_t slots, int64_t hd, const float *scores, int64_t scoresStride) {
    for (int64_t j = 0; j < slots; j++) {
        for (int64_t h = 0; h < heads; h++) {
            float *y = out + h * outStride;
            float a = scores[h * scoresStride + j];
            __m256 av = _mm256_set1_ps(a);
            int64_t i = 0;
            for (; i + 8 <= hd; i += 8) {
                _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(av, load8(values, f16, j * hd + i))));
            }
            for (; i < hd; i++) y[i] += a * load1(values, f16, j * hd + i);
        }
    }
}
#endif

int tk_attention_scores(const float *query, int64_t heads, int64_t queryStride, const void *keys, int f16,
                        int64_t slots, int64_t headDimension, float scale, float *scores, int64_t scoresStride) {
#if defined(__x86_64__)
    if (tk_simd_detected() >= TK_SIMD_AVX2) {
        scores_avx2(query, heads, queryStride, keys, f16, slots, headDimension, scale, scores, scoresStride);
        return 1;
    }
#endif
    (void)query, (void)heads, (void)queryStride, (void)keys, (void)f16, (void)slots, (void)headDimension;
    (void)scale, (void)scores, (void)scoresStride;
    return 0;
}

int tk_attention_accumulate(float *output, int64_t heads, int64_t outputStride, const void *values, int f16,
                            int64_t slots, int64_t headDimension, const float *scores, int64_t scoresStride) {
#if defined(__x86_64__)
    if (tk_simd_detected() >= TK_SIMD_AVX2) {
        accumulate_avx2(output, heads, outputStride, values, f16, slots, headDimension, scores, scoresStride);
        return 1;
    }
#endif
    (void)output, (void)heads, (void)outputStride, (void)values, (void)f16, (void)slots, (void)headDimension;
    (void)scores, (void)scoresStride;
    return 0;
}
