// Dequantisation with ggml's (and gguf-py's) exact float operations: d * q, d * q + m, (d * sc) * q - dmin * m.
#pragma clang fp contract(off)

#include "tk_unpack.h"

#if defined(__x86_64__)
#include <immintrin.h>

// The half and bfloat16 conversions are exact, so F16C gives the scalar code's bits (models read their f16
// caches through here, so it is worth the speed).
__attribute__((target("avx2,f16c"))) static void halves_to_floats(const uint8_t *s, float *d, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 2 * i))));
    for (; i < n; i++) d[i] = tk_load_half(s + 2 * i);
}

__attribute__((target("avx2"))) static void bf16_to_floats(const uint8_t *s, float *d, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + 2 * i)));
        _mm256_storeu_si256((__m256i *)(d + i), _mm256_slli_epi32(wide, 16));
    }
    for (; i < n; i++) d[i] = tk_bf16_to_float(tk_load_u16(s + 2 * i));
}
#endif

static void dequantize_block(uint32_t type, const uint8_t *b, float *y) {
    int8_t q[TK_QK_K];
    switch (type) {
    case TK_TYPE_Q4_0: {
        float d = tk_load_half(b);
        tk_unpack_q4_0(b, q);
        for (int i = 0; i < TK_QK; i++) y[i] = d * (float)q[i];
        break;
    }
    case TK_TYPE_Q4_1: {
        float d = tk_load_half(b), m = tk_load_half(b + 2);
        tk_unpack_q4_1(b, q);
        for (int i = 0; i < TK_QK; i++) y[i] = d * (float)q[i] + m;
        break;
    }
    case TK_TYPE_Q5_0: {
        float d = tk_load_half(b);
        tk_unpack_q5(b + 2, b + 6, 16, q);
        for (int i = 0; i < TK_QK; i++) y[i] = d * (float)q[i];
        break;
    }
    case TK_TYPE_Q5_1: {
        float d = tk_load_half(b), m = tk_load_half(b + 2);
        tk_unpack_q5(b + 4, b + 8, 0, q);
        for (int i = 0; i < TK_QK; i++) y[i] = d * (float)q[i] + m;
        break;
    }
    case TK_TYPE_Q8_0: case TK_TYPE_Q8_1: {
        float d = tk_load_half(b);
        const int8_t *qs = (const int8_t *)(b + (type == TK_TYPE_Q8_0 ? 2 : 4));
        for (int i = 0; i < TK_QK; i++) y[i] = d * (float)qs[i];
        break;
    }
    case TK_TYPE_Q8_K: {
        float d = tk_load_f32(b);
        const int8_t *qs = (const int8_t *)(b + 4);
        for (int i = 0; i < TK_QK_K; i++) y[i] = d * (float)qs[i];
        break;
    }
    case TK_TYPE_Q2_K: {
        uint8_t scales[16], mins[16];
        float d = tk_load_half(b + 80), dmin = tk_load_half(b + 82);
        tk_unpack_q2_K(b, q, scales, mins);
        for (int i = 0; i < TK_QK_K; i++) {
            float dl = d * (float)scales[i / 16], ml = dmin * (float)mins[i / 16];
            y[i] = dl * (float)q[i] - ml;
        }
        break;
    }
    case TK_TYPE_Q3_K: {
        int8_t scales[16];
        float d = tk_load_half(b + 108);
        tk_unpack_q3_K(b, q, scales);
        for (int i = 0; i < TK_QK_K; i++) y[i] = (d * (float)scales[i / 16]) * (float)q[i];
        break;
    }
    case TK_TYPE_Q4_K: case TK_TYPE_Q5_K: {
        uint8_t scales[8], mins[8];
        float d = tk_load_half(b), dmin = tk_load_half(b + 2);
        tk_unpack_q45_K(b, type == TK_TYPE_Q5_K, q, scales, mins);
        for (int i = 0; i < TK_QK_K; i++) {
            float dl = d * (float)scales[i / 32], ml = dmin * (float)mins[i / 32];
            y[i] = dl * (float)q[i] - ml;
        }
        break;
    }
    case TK_TYPE_Q6_K: {
        int8_t scales[16];
        float d = tk_load_half(b + 208);
        tk_unpack_q6_K(b, q, scales);
        for (int i = 0; i < TK_QK_K; i++) y[i] = (d * (float)scales[i / 16]) * (float)q[i];
        break;
    }
    default: break;
    }
}

void tk_dequantize(uint32_t type, const void *source, float *destination, int64_t count) {
    const uint8_t *s = (const uint8_t *)source;
    switch (type) {
    case TK_TYPE_F32:
        memcpy(destination, source, (size_t)count * 4);
        return;
    case TK_TYPE_F16:
#if defined(__x86_64__)
        if (tk_simd_detected() >= TK_SIMD_AVX2) {
            halves_to_floats(s, destination, count);
            return;
        }
#endif
        for (int64_t i = 0; i < count; i++) destination[i] = tk_load_half(s + 2 * i);
        return;
    case TK_TYPE_BF16:
#if defined(__x86_64__)
        if (tk_simd_detected() >= TK_SIMD_AVX2) {
            bf16_to_floats(s, destination, count);
            return;
        }
#endif
        for (int64_t i = 0; i < count; i++) destination[i] = tk_bf16_to_float(tk_load_u16(s + 2 * i));
        return;
    default: break;
    }
    int64_t per = tk_block_elements(type);
    size_t bytes = tk_block_bytes(type);
    if (per == 0) return;
    for (int64_t i = 0; i < count / per; i++) dequantize_block(type, s + (size_t)i * bytes, destination + i * per);
}
