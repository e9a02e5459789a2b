// Activation quantisers, bit-identical to what llama.cpp's x86 CPU backend produces (checked against it by the
// fixtures): Q8_0/Q8_1 scale by 127 / amax and round half to even (_mm256_round_ps), Q8_K follows
// quantize_row_q8_K_ref (iscale = -127 / the signed max-abs element, nearest_int, clamp at 127).
#pragma clang fp contract(off)

#include <math.h>

#include "tk_internal.h"

/// Round half to even for |v| < 2^22, as ggml's nearest_int (and vroundps in the default mode) do.
static inline int nearest_int(float v) {
    float shifted = v + 12582912.0f;
    return (int)(tk_float_to_bits(shifted) & 0x007FFFFFu) - 0x00400000;
}

static void quantize_q8_0_or_1(const float *x, uint8_t *y, int64_t count, int withSum) {
    size_t bytes = withSum ? TK_Q8_1_BYTES : TK_Q8_0_BYTES;
    for (int64_t i = 0; i < count / TK_QK; i++) {
        const float *v = x + i * TK_QK;
        uint8_t *out = y + (size_t)i * bytes;
        float amax = 0.0f;
        for (int j = 0; j < TK_QK; j++) {
            float a = fabsf(v[j]);
            amax = a > amax ? a : amax;
        }
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        uint16_t dh = tk_float_to_half(d);
        memcpy(out, &dh, 2);
        int8_t *qs = (int8_t *)(out + (withSum ? 4 : 2));
        int sum = 0;
        for (int j = 0; j < TK_QK; j++) {
            int q = nearest_int(v[j] * id);
            qs[j] = (int8_t)q;
            sum += q;
        }
        if (withSum) {
            uint16_t sh = tk_float_to_half(d * (float)sum);
            memcpy(out + 2, &sh, 2);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/// The same as quantize_q8_0_or_1, 32 elements per step: the max-abs keeps the scalar loop's rule per lane (a NaN
/// never wins), the rounding is the same add-2^23+2^22 trick on the same float products, and vpmovdb truncates
/// like the (int8_t) cast, so every input, NaN payloads and infinities included, gives the scalar bytes.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void quantize_q8_0_or_1_512(const float *x, uint8_t *y,
                                                                                      int64_t count, int withSum) {
    size_t bytes = withSum ? TK_Q8_1_BYTES : TK_Q8_0_BYTES;
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    const __m512i mantissa = _mm512_set1_epi32(0x007FFFFF);
    const __m512i bias = _mm512_set1_epi32(0x00400000);
    for (int64_t i = 0; i < count / TK_QK; i++) {
        const float *v = x + i * TK_QK;
        uint8_t *out = y + (size_t)i * bytes;
        __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
        // max_ps(a, m) = a > m ? a : m, the scalar rule, lane by lane from 0.
        __m512 m = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps());
        m = _mm512_max_ps(_mm512_abs_ps(v1), m);
        float lanes[16];
        _mm512_storeu_ps(lanes, m);
        float amax = 0.0f;
        for (int j = 0; j < 16; j++) amax = lanes[j] > amax ? lanes[j] : amax;
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        uint16_t dh = tk_float_to_half(d);
        memcpy(out, &dh, 2);
        __m512 scale = _mm512_set1_ps(id);
        __m512i q0 = _mm512_sub_epi32(
            _mm512_and_si512(_mm512_castps_si512(_mm512_add_ps(_mm512_mul_ps(v0, scale), magic)), mantissa), bias);
        __m512i q1 = _mm512_sub_epi32(
            _mm512_and_si512(_mm512_castps_si512(_mm512_add_ps(_mm512_mul_ps(v1, scale), magic)), mantissa), bias);
        uint8_t *qs = out + (withSum ? 4 : 2);
        _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(q1));
        if (withSum) {
            int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));  // of the ints, as the scalar code
            uint16_t sh = tk_float_to_half(d * (float)sum);
            memcpy(out + 2, &sh, 2);
        }
    }
}
#endif

static void quantize_q8_K(const float *x, uint8_t *y, int64_t count) {
    for (int64_t i = 0; i < count / TK_QK_K; i++) {
        const float *v = x + i * TK_QK_K;
        uint8_t *out = y + (size_t)i * TK_Q8_K_BYTES;
        int8_t *qs = (int8_t *)(out + 4);
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < TK_QK_K; j++) {
            float a = fabsf(v[j]);
            if (a > amax) {
                amax = a;
                max = v[j];
            }
        }
        if (amax == 0.0f) {
            memset(out, 0, TK_Q8_K_BYTES);
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < TK_QK_K; j++) {
            int q = nearest_int(iscale * v[j]);
            qs[j] = (int8_t)(q < 127 ? q : 127);
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += qs[16 * j + l];
            int16_t s16 = (int16_t)sum;
            memcpy(out + 260 + 2 * j, &s16, 2);
        }
        float d = 1.0f / iscale;
        memcpy(out, &d, 4);
    }
}

void tk_quantize(uint32_t type, const float *source, void *destination, int64_t count) {
    tk_quantize_limited(TK_SIMD_AVX512, type, source, destination, count);
}

void tk_quantize_limited(int simdLimit, uint32_t type, const float *source, void *destination, int64_t count) {
    uint8_t *y = (uint8_t *)destination;
#if defined(__x86_64__)
    if ((type == TK_TYPE_Q8_0 || type == TK_TYPE_Q8_1) && simdLimit >= TK_SIMD_AVX512 &&
        tk_simd_detected() >= TK_SIMD_AVX512) {
        quantize_q8_0_or_1_512(source, y, count, type == TK_TYPE_Q8_1);
        return;
    }
#endif
    switch (type) {
    case TK_TYPE_F32:
        memcpy(destination, source, (size_t)count * 4);
        break;
    case TK_TYPE_F16:
        for (int64_t i = 0; i < count; i++) {
            uint16_t h = tk_float_to_half(source[i]);
            memcpy(y + 2 * i, &h, 2);
        }
        break;
    case TK_TYPE_BF16:
        for (int64_t i = 0; i < count; i++) {
            uint16_t h = tk_float_to_bf16(source[i]);
            memcpy(y + 2 * i, &h, 2);
        }
        break;
    case TK_TYPE_Q8_0: quantize_q8_0_or_1(source, y, count, 0); break;
    case TK_TYPE_Q8_1: quantize_q8_0_or_1(source, y, count, 1); break;
    case TK_TYPE_Q8_K: quantize_q8_K(source, y, count); break;
    default: break;
    }
}
