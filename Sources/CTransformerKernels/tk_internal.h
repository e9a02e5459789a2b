// Helpers shared by the kernel files: exact half/bfloat16 conversions, little-endian loads, the K-quant scale
// unpacking, and the per-type kernel entry points the dispatcher picks from.
//
// Every kernel keeps one fixed order of float operations per (row, token) result so the scalar and SIMD variants
// agree bit for bit. Each file is compiled with floating-point contraction off (no fused multiply-add unless
// written), which that agreement depends on.
#ifndef TK_INTERNAL_H
#define TK_INTERNAL_H

#include "CTransformerKernels.h"

#include <stdint.h>
#include <string.h>

#define TK_QK 32
#define TK_QK_K 256

// Bytes per block of each layout (ggml-common.h).
#define TK_Q4_0_BYTES 18
#define TK_Q4_1_BYTES 20
#define TK_Q5_0_BYTES 22
#define TK_Q5_1_BYTES 24
#define TK_Q8_0_BYTES 34
#define TK_Q8_1_BYTES 36
#define TK_Q2_K_BYTES 84
#define TK_Q3_K_BYTES 110
#define TK_Q4_K_BYTES 144
#define TK_Q5_K_BYTES 176
#define TK_Q6_K_BYTES 210
#define TK_Q8_K_BYTES 292

static inline uint16_t tk_load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline uint32_t tk_load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline float tk_load_f32(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return v;
}

static inline int16_t tk_load_i16(const uint8_t *p) {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline float tk_bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint32_t tk_float_to_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    return bits;
}

/// IEEE half to float, exact, bit for bit what F16C's vcvtph2ps gives.
static inline float tk_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1Fu) {
        // Infinity, or a NaN made quiet (as vcvtph2ps does).
        return tk_bits_to_float(sign | 0x7F800000u | (mantissa << 13) | (mantissa ? 0x400000u : 0));
    }
    if (exponent != 0) {
        return tk_bits_to_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }
    // Zero or subnormal: mantissa * 2^-24 is exact in float.
    float magnitude = (float)mantissa * 0x1p-24f;
    return sign ? -magnitude : magnitude;
}

/// Float to IEEE half, rounding to nearest even (vcvtps2ph with rounding mode 0; NaNs become quiet NaNs).
static inline uint16_t tk_float_to_half(float f) {
    uint32_t x = tk_float_to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t magnitude = x & 0x7FFFFFFFu;
    if (magnitude >= 0x7F800000u) {
        if (magnitude == 0x7F800000u) return sign | 0x7C00u;
        return (uint16_t)(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
    }
    if (magnitude >= 0x477FF000u) return sign | 0x7C00u;  // 65520 and up round to infinity
    if (magnitude < 0x38800000u) {                         // below 2^-14: a half subnormal or zero
        if (magnitude < 0x33000000u) return sign;          // below 2^-25 rounds to zero
        uint32_t e = magnitude >> 23;
        uint32_t m = (magnitude & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126u - e;                         // 14 ... 24
        uint32_t q = m >> shift;
        uint32_t rest = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rest > half || (rest == half && (q & 1u))) q += 1u;
        return (uint16_t)(sign | q);
    }
    uint32_t q = (magnitude >> 13) - (112u << 10);
    uint32_t rest = magnitude & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (q & 1u))) q += 1u;
    return (uint16_t)(sign | q);
}

static inline float tk_bf16_to_float(uint16_t h) {
    return tk_bits_to_float((uint32_t)h << 16);
}

/// ggml_compute_fp32_to_bf16: round to nearest even, NaNs forced quiet.
static inline uint16_t tk_float_to_bf16(float f) {
    uint32_t u = tk_float_to_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 64u);
    return (uint16_t)((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

static inline float tk_load_half(const uint8_t *p) {
    return tk_half_to_float(tk_load_u16(p));
}

/// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block (ggml's get_scale_min_k4).
static inline void tk_scale_min_k4(int j, const uint8_t *q, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *min = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/// All 8 scales (bytes 0...7) and 8 mins (bytes 8...15) of a Q4_K/Q5_K block at once, as 32-bit word operations.
static inline void tk_scales_mins_k4(const uint8_t *q, uint8_t *out) {
    uint32_t u0 = tk_load_u32(q), u1 = tk_load_u32(q + 4), u2 = tk_load_u32(q + 8);
    uint32_t words[4];
    words[0] = u0 & 0x3F3F3F3Fu;
    words[1] = (u2 & 0x0F0F0F0Fu) | (((u0 >> 6) & 0x03030303u) << 4);
    words[2] = u1 & 0x3F3F3F3Fu;
    words[3] = ((u2 >> 4) & 0x0F0F0F0Fu) | (((u1 >> 6) & 0x03030303u) << 4);
    memcpy(out, words, 16);
}

/// The 16 signed 6-bit scales of a Q3_K block, already minus 32.
static inline void tk_q3_k_scales(const uint8_t *packed, int8_t *scales) {
    for (int j = 0; j < 16; j++) {
        int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
        int high = (packed[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        scales[j] = (int8_t)((low | (high << 4)) - 32);
    }
}

/// One implementation of `tk_gemm` for one weight type, minus the argument checks.
typedef void (*tk_gemm_kernel)(int64_t blocks, const uint8_t *weights, size_t weightRowBytes, int64_t rows,
                               const uint8_t *activations, size_t activationRowBytes, int64_t tokens, float *out,
                               int64_t outStride);

/// Per-type kernels of each SIMD level (NULL where a level has none; the dispatcher falls back a level).
tk_gemm_kernel tk_scalar_kernel(uint32_t type);
tk_gemm_kernel tk_avx2_kernel(uint32_t type);
tk_gemm_kernel tk_avx512_kernel(uint32_t type);

/// The fixed 16-lane summation order of the float types: lane i % 16 accumulates element i, then the lanes are
/// added pairwise (i, i + 8), (i, i + 4), (i, i + 2), (0, 1).
static inline float tk_reduce16(const float *lanes) {
    float s8[8], s4[4];
    for (int i = 0; i < 8; i++) s8[i] = lanes[i] + lanes[i + 8];
    for (int i = 0; i < 4; i++) s4[i] = s8[i] + s8[i + 4];
    float s0 = s4[0] + s4[2];
    float s1 = s4[1] + s4[3];
    return s0 + s1;
}

#endif
