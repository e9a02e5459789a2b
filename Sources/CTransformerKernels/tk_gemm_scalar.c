// The portable kernels, and the definition of the arithmetic every SIMD variant reproduces bit for bit:
// per block an exact integer sum, then `acc = acc + term` in block order with the term's float operations
// written out below; the float types sum in 16 lanes (tk_reduce16).
#pragma clang fp contract(off)

#include "tk_unpack.h"

static int isum_i8(const int8_t *w, const int8_t *a, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++) sum += (int)w[i] * (int)a[i];
    return sum;
}

/// Q4_0, Q5_0, Q8_0 against Q8_0: term = (dw * da) * isum.
static float dot_q8_0_family(uint32_t type, const uint8_t *w, const uint8_t *a, int64_t blocks) {
    size_t wBytes = tk_block_bytes(type);
    float acc = 0.0f;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *wb = w + (size_t)b * wBytes;
        const uint8_t *ab = a + (size_t)b * TK_Q8_0_BYTES;
        int8_t q[TK_QK];
        if (type == TK_TYPE_Q4_0) tk_unpack_q4_0(wb, q);
        else if (type == TK_TYPE_Q5_0) tk_unpack_q5(wb + 2, wb + 6, 16, q);
        else memcpy(q, wb + 2, TK_QK);
        int isum = isum_i8(q, (const int8_t *)(ab + 2), TK_QK);
        float term = (tk_load_half(wb) * tk_load_half(ab)) * (float)isum;
        acc = acc + term;
    }
    return acc;
}

/// Q4_1, Q5_1 against Q8_1: term = (dw * da) * isum + mw * sa.
static float dot_q8_1_family(uint32_t type, const uint8_t *w, const uint8_t *a, int64_t blocks) {
    size_t wBytes = tk_block_bytes(type);
    float acc = 0.0f;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *wb = w + (size_t)b * wBytes;
        const uint8_t *ab = a + (size_t)b * TK_Q8_1_BYTES;
        int8_t q[TK_QK];
        if (type == TK_TYPE_Q4_1) tk_unpack_q4_1(wb, q);
        else tk_unpack_q5(wb + 4, wb + 8, 0, q);
        int isum = isum_i8(q, (const int8_t *)(ab + 4), TK_QK);
        float term = (tk_load_half(wb) * tk_load_half(ab)) * (float)isum + tk_load_half(wb + 2) * tk_load_half(ab + 2);
        acc = acc + term;
    }
    return acc;
}

/// The K types against Q8_K: term = (da * d) * isum - (da * dmin) * imin (the last part only with mins).
static float dot_k_family(uint32_t type, const uint8_t *w, const uint8_t *a, int64_t blocks) {
    size_t wBytes = tk_block_bytes(type);
    float acc = 0.0f;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *wb = w + (size_t)b * wBytes;
        const uint8_t *ab = a + (size_t)b * TK_Q8_K_BYTES;
        const int8_t *aq = (const int8_t *)(ab + 4);
        float da = tk_load_f32(ab);
        int16_t bsums[16];
        memcpy(bsums, ab + 260, 32);
        int8_t q[TK_QK_K];
        int isum = 0, imin = 0;
        float d = 0.0f, dmin = 0.0f;
        switch (type) {
        case TK_TYPE_Q2_K: {
            uint8_t scales[16], mins[16];
            tk_unpack_q2_K(wb, q, scales, mins);
            for (int j = 0; j < 16; j++) {
                isum += (int)scales[j] * isum_i8(q + 16 * j, aq + 16 * j, 16);
                imin += (int)mins[j] * (int)bsums[j];
            }
            d = tk_load_half(wb + 80);
            dmin = tk_load_half(wb + 82);
            break;
        }
        case TK_TYPE_Q3_K: case TK_TYPE_Q6_K: {
            int8_t scales[16];
            if (type == TK_TYPE_Q3_K) tk_unpack_q3_K(wb, q, scales);
            else tk_unpack_q6_K(wb, q, scales);
            for (int j = 0; j < 16; j++) isum += (int)scales[j] * isum_i8(q + 16 * j, aq + 16 * j, 16);
            d = tk_load_half(wb + (type == TK_TYPE_Q3_K ? 108 : 208));
            break;
        }
        default: {
            uint8_t scales[8], mins[8];
            tk_unpack_q45_K(wb, type == TK_TYPE_Q5_K, q, scales, mins);
            for (int j = 0; j < 8; j++) {
                isum += (int)scales[j] * isum_i8(q + 32 * j, aq + 32 * j, 32);
                imin += (int)mins[j] * ((int)bsums[2 * j] + (int)bsums[2 * j + 1]);
            }
            d = tk_load_half(wb);
            dmin = tk_load_half(wb + 2);
            break;
        }
        }
        float term;
        if (type == TK_TYPE_Q3_K || type == TK_TYPE_Q6_K) {
            term = (da * d) * (float)isum;
        } else {
            term = (da * d) * (float)isum - (da * dmin) * (float)imin;
        }
        acc = acc + term;
    }
    return acc;
}

static float load_element(uint32_t type, const uint8_t *p, int64_t i) {
    switch (type) {
    case TK_TYPE_F16: return tk_load_half(p + 2 * i);
    case TK_TYPE_BF16: return tk_bf16_to_float(tk_load_u16(p + 2 * i));
    default: return tk_load_f32(p + 4 * i);
    }
}

/// F32, F16, BF16 against the same type: products summed in 16 lanes.
static float dot_float_family(uint32_t type, const uint8_t *w, const uint8_t *a, int64_t columns) {
    float lanes[16] = {0};
    for (int64_t i = 0; i < columns; i++) {
        lanes[i & 15] = lanes[i & 15] + load_element(type, w, i) * load_element(type, a, i);
    }
    return tk_reduce16(lanes);
}

static float dot(uint32_t type, const uint8_t *w, const uint8_t *a, int64_t blocks) {
    switch (type) {
    case TK_TYPE_Q4_0: case TK_TYPE_Q5_0: case TK_TYPE_Q8_0: return dot_q8_0_family(type, w, a, blocks);
    case TK_TYPE_Q4_1: case TK_TYPE_Q5_1: return dot_q8_1_family(type, w, a, blocks);
    case TK_TYPE_Q2_K: case TK_TYPE_Q3_K: case TK_TYPE_Q4_K: case TK_TYPE_Q5_K: case TK_TYPE_Q6_K:
        return dot_k_family(type, w, a, blocks);
    default: return dot_float_family(type, w, a, blocks);
    }
}

#define SCALAR_KERNEL(name, type)                                                                                  \
    static void name(int64_t blocks, const uint8_t *w, size_t wrb, int64_t rows, const uint8_t *a, size_t arb,     \
                     int64_t tokens, float *out, int64_t os) {                                                     \
        for (int64_t r = 0; r < rows; r++) {                                                                       \
            for (int64_t t = 0; t < tokens; t++) out[t * os + r] = dot(type, w + r * wrb, a + t * arb, blocks);    \
        }                                                                                                          \
    }

SCALAR_KERNEL(gemm_f32, TK_TYPE_F32)
SCALAR_KERNEL(gemm_f16, TK_TYPE_F16)
SCALAR_KERNEL(gemm_bf16, TK_TYPE_BF16)
SCALAR_KERNEL(gemm_q4_0, TK_TYPE_Q4_0)
SCALAR_KERNEL(gemm_q4_1, TK_TYPE_Q4_1)
SCALAR_KERNEL(gemm_q5_0, TK_TYPE_Q5_0)
SCALAR_KERNEL(gemm_q5_1, TK_TYPE_Q5_1)
SCALAR_KERNEL(gemm_q8_0, TK_TYPE_Q8_0)
SCALAR_KERNEL(gemm_q2_K, TK_TYPE_Q2_K)
SCALAR_KERNEL(gemm_q3_K, TK_TYPE_Q3_K)
SCALAR_KERNEL(gemm_q4_K, TK_TYPE_Q4_K)
SCALAR_KERNEL(gemm_q5_K, TK_TYPE_Q5_K)
SCALAR_KERNEL(gemm_q6_K, TK_TYPE_Q6_K)

tk_gemm_kernel tk_scalar_kernel(uint32_t type) {
    switch (type) {
    case TK_TYPE_F32: return gemm_f32;
    case TK_TYPE_F16: return gemm_f16;
    case TK_TYPE_BF16: return gemm_bf16;
    case TK_TYPE_Q4_0: return gemm_q4_0;
    case TK_TYPE_Q4_1: return gemm_q4_1;
    case TK_TYPE_Q5_0: return gemm_q5_0;
    case TK_TYPE_Q5_1: return gemm_q5_1;
    case TK_TYPE_Q8_0: return gemm_q8_0;
    case TK_TYPE_Q2_K: return gemm_q2_K;
    case TK_TYPE_Q3_K: return gemm_q3_K;
    case TK_TYPE_Q4_K: return gemm_q4_K;
    case TK_TYPE_Q5_K: return gemm_q5_K;
    case TK_TYPE_Q6_K: return gemm_q6_K;
    default: return NULL;
    }
}
