// Block unpacking shared by the dequantiser and the scalar kernels: each function turns one block into its
// integer quants (in element order) plus its integer scales, exactly as ggml's dequantize_row_* reads them.
#ifndef TK_UNPACK_H
#define TK_UNPACK_H

#include "tk_internal.h"

/// Q4_0: q - 8 in -8...7.
static inline void tk_unpack_q4_0(const uint8_t *block, int8_t *q) {
    const uint8_t *qs = block + 2;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((qs[j] & 0xF) - 8);
        q[j + 16] = (int8_t)((qs[j] >> 4) - 8);
    }
}

/// Q4_1: q in 0...15.
static inline void tk_unpack_q4_1(const uint8_t *block, int8_t *q) {
    const uint8_t *qs = block + 4;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(qs[j] & 0xF);
        q[j + 16] = (int8_t)(qs[j] >> 4);
    }
}

/// Q5_0 (offset 16) and Q5_1 (offset 0): the fifth bit of element j is bit j of qh.
static inline void tk_unpack_q5(const uint8_t *qhBytes, const uint8_t *qs, int offset, int8_t *q) {
    uint32_t qh = tk_load_u32(qhBytes);
    for (int j = 0; j < 16; j++) {
        int low = (qs[j] & 0xF) | (int)(((qh >> j) & 1u) << 4);
        int high = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
        q[j] = (int8_t)(low - offset);
        q[j + 16] = (int8_t)(high - offset);
    }
}

/// Q2_K: q in 0...3; scale and min of each 16 elements.
static inline void tk_unpack_q2_K(const uint8_t *block, int8_t *q, uint8_t *scales, uint8_t *mins) {
    const uint8_t *packed = block;
    const uint8_t *qs = block + 16;
    for (int j = 0; j < 16; j++) {
        scales[j] = packed[j] & 0xF;
        mins[j] = packed[j] >> 4;
    }
    for (int n = 0; n < 2; n++) {
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                q[128 * n + 32 * j + l] = (int8_t)((qs[32 * n + l] >> (2 * j)) & 3);
            }
        }
    }
}

/// Q3_K: q in -4...3 (minus 4 where the hmask bit is clear); signed scales of each 16 elements.
static inline void tk_unpack_q3_K(const uint8_t *block, int8_t *q, int8_t *scales) {
    const uint8_t *hmask = block;
    const uint8_t *qs = block + 32;
    tk_q3_k_scales(block + 96, scales);
    for (int n = 0; n < 2; n++) {
        for (int j = 0; j < 4; j++) {
            int bit = 4 * n + j;
            for (int l = 0; l < 32; l++) {
                int low = (qs[32 * n + l] >> (2 * j)) & 3;
                int high = (hmask[l] >> bit) & 1;
                q[128 * n + 32 * j + l] = (int8_t)(low - (high ? 0 : 4));
            }
        }
    }
}

/// Q4_K (bits 4) and Q5_K (bits 5): q in 0...15 or 0...31; 6-bit scale and min of each 32 elements.
static inline void tk_unpack_q45_K(const uint8_t *block, int fiveBits, int8_t *q, uint8_t *scales, uint8_t *mins) {
    const uint8_t *packed = block + 4;
    const uint8_t *qh = block + 16;
    const uint8_t *qs = fiveBits ? block + 48 : block + 16;
    for (int j = 0; j < 8; j++) tk_scale_min_k4(j, packed, &scales[j], &mins[j]);
    for (int j = 0; j < 4; j++) {
        for (int l = 0; l < 32; l++) {
            int low = qs[32 * j + l] & 0xF;
            int high = qs[32 * j + l] >> 4;
            if (fiveBits) {
                low |= ((qh[l] >> (2 * j)) & 1) << 4;
                high |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
            }
            q[64 * j + l] = (int8_t)low;
            q[64 * j + 32 + l] = (int8_t)high;
        }
    }
}

/// Q6_K: q in -32...31; signed scales of each 16 elements.
static inline void tk_unpack_q6_K(const uint8_t *block, int8_t *q, int8_t *scales) {
    const uint8_t *ql = block;
    const uint8_t *qh = block + 128;
    memcpy(scales, block + 192, 16);
    for (int n = 0; n < 2; n++) {
        for (int l = 0; l < 32; l++) {
            const uint8_t *low = ql + 64 * n;
            uint8_t high = qh[32 * n + l];
            q[128 * n + l] = (int8_t)(((low[l] & 0xF) | ((high & 3) << 4)) - 32);
            q[128 * n + l + 32] = (int8_t)(((low[l + 32] & 0xF) | (((high >> 2) & 3) << 4)) - 32);
            q[128 * n + l + 64] = (int8_t)(((low[l] >> 4) | (((high >> 4) & 3) << 4)) - 32);
            q[128 * n + l + 96] = (int8_t)(((low[l + 32] >> 4) | (((high >> 6) & 3) << 4)) - 32);
        }
    }
}

#endif
