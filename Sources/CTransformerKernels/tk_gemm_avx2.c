// AVX2 kernels. Rows go in groups of 8 with one float lane per row: for each block the 8 rows' integer sums are
// gathered into one vector (sum8x8), scaled and added exactly as the scalar code does, so both agree bit for bit.
// Tokens go in tiles of 4 inside each row group, so a group's weight blocks are unpacked once per tile and stay
// in L1 while the tile's activations stream past them.
#pragma clang fp contract(off)

#include "tk_internal.h"

#if defined(__x86_64__)

#include "tk_x86.h"

#define AVX2_KERNEL static __attribute__((target("avx2,fma,f16c")))

// MARK: - 32-element blocks: Q8_0, Q4_0, Q5_0 (against Q8_0), Q4_1, Q5_1 (against Q8_1)

AVX2_INLINE void gemm_q32(const uint32_t type, int64_t nb, const uint8_t *w, size_t wrb, int64_t rows,
                          const uint8_t *a, size_t arb, int64_t tokens, float *out, int64_t os) {
    const int withMin = type == TK_TYPE_Q4_1 || type == TK_TYPE_Q5_1;
    const size_t wbb = tk_block_bytes(type);
    const size_t abb = withMin ? TK_Q8_1_BYTES : TK_Q8_0_BYTES;
    const size_t aqs = withMin ? 4 : 2;
    const int offset = type == TK_TYPE_Q4_0 ? 8 : type == TK_TYPE_Q5_0 ? 16 : 0;
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i ones8 = _mm256_set1_epi8(1);
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
        const uint8_t *wr[ROW_GROUP];
        int nr = group_rows(w, wrb, r0, rows, wr);
        for (int64_t t0 = 0; t0 < tokens; t0 += TOKEN_TILE) {
            int nt = tokens - t0 < TOKEN_TILE ? (int)(tokens - t0) : TOKEN_TILE;
            __m256 acc[TOKEN_TILE];
            for (int t = 0; t < TOKEN_TILE; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (t0 == 0) prefetch_next_group(wr, wrb, (size_t)b * wbb, wbb);
                __m256i wq[ROW_GROUP], wabs[ROW_GROUP];
                for (int i = 0; i < ROW_GROUP; i++) {
                    const uint8_t *wb = wr[i] + (size_t)b * wbb;
                    switch (type) {
                    case TK_TYPE_Q8_0:
                        wq[i] = _mm256_loadu_si256((const __m256i *)(wb + 2));
                        wabs[i] = _mm256_abs_epi8(wq[i]);
                        break;
                    case TK_TYPE_Q4_0: wq[i] = nibbles32(wb + 2); break;
                    case TK_TYPE_Q4_1: wq[i] = nibbles32(wb + 4); break;
                    case TK_TYPE_Q5_0:
                        wq[i] = _mm256_or_si256(nibbles32(wb + 6), bits_to_0x10(tk_load_u32(wb + 2)));
                        break;
                    default:
                        wq[i] = _mm256_or_si256(nibbles32(wb + 8), bits_to_0x10(tk_load_u32(wb + 4)));
                        break;
                    }
                }
                __m256 dw = load_halves(wr, (size_t)b * wbb);
                __m256 mw = withMin ? load_halves(wr, (size_t)b * wbb + 2) : _mm256_setzero_ps();
                for (int t = 0; t < nt; t++) {
                    const uint8_t *ab = a + (size_t)(t0 + t) * arb + (size_t)b * abb;
                    __m256i aq = _mm256_loadu_si256((const __m256i *)(ab + aqs));
                    __m256i p[ROW_GROUP];
                    for (int i = 0; i < ROW_GROUP; i++) {
                        __m256i pairs = type == TK_TYPE_Q8_0
                                            ? _mm256_maddubs_epi16(wabs[i], _mm256_sign_epi8(aq, wq[i]))
                                            : _mm256_maddubs_epi16(wq[i], aq);
                        p[i] = _mm256_madd_epi16(pairs, ones16);
                    }
                    __m256i isum = sum8x8(p);
                    if (offset) {
                        int asum = hsum_i32(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, aq), ones16));
                        isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(offset * asum));
                    }
                    __m256 dd = _mm256_mul_ps(dw, _mm256_set1_ps(half_at(ab)));
                    __m256 term = _mm256_mul_ps(dd, _mm256_cvtepi32_ps(isum));
                    if (withMin) term = _mm256_add_ps(term, _mm256_mul_ps(mw, _mm256_set1_ps(half_at(ab + 2))));
                    acc[t] = _mm256_add_ps(acc[t], term);
                }
            }
            for (int t = 0; t < nt; t++) store_rows(out + (t0 + t) * os + r0, acc[t], nr);
        }
    }
}

// MARK: - 256-element blocks against Q8_K

/// The int16 broadcast pattern that picks 16-bit lane k of a 128-bit vector into every lane.
AVX2_INLINE __m256i pick16(int k) {
    return _mm256_set1_epi16((short)((2 * k) | ((2 * k + 1) << 8)));
}

/// Scales s[2k] for the low 8 int16 lanes and s[2k + 1] for the high 8, from 16 int8 scales.
AVX2_INLINE __m256i scale_pair(__m128i scales8, int k) {
    __m128i pick = _mm_setr_epi8((char)(2 * k), (char)(2 * k), (char)(2 * k), (char)(2 * k), (char)(2 * k),
                                 (char)(2 * k), (char)(2 * k), (char)(2 * k), (char)(2 * k + 1), (char)(2 * k + 1),
                                 (char)(2 * k + 1), (char)(2 * k + 1), (char)(2 * k + 1), (char)(2 * k + 1),
                                 (char)(2 * k + 1), (char)(2 * k + 1));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
}

/// Q4_K (five = 0) and Q5_K (five = 1): 8 sub-blocks of 32 with 6-bit scales and mins.
AVX2_INLINE void gemm_q45_K(const int five, int64_t nb, const uint8_t *w, size_t wrb, int64_t rows,
                            const uint8_t *a, size_t arb, int64_t tokens, float *out, int64_t os) {
    const size_t wbb = five ? TK_Q5_K_BYTES : TK_Q4_K_BYTES;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
        const uint8_t *wr[ROW_GROUP];
        int nr = group_rows(w, wrb, r0, rows, wr);
        for (int64_t t0 = 0; t0 < tokens; t0 += TOKEN_TILE) {
            int nt = tokens - t0 < TOKEN_TILE ? (int)(tokens - t0) : TOKEN_TILE;
            __m256 acc[TOKEN_TILE];
            for (int t = 0; t < TOKEN_TILE; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (t0 == 0) prefetch_next_group(wr, wrb, (size_t)b * wbb, wbb);
                __m256i scales[ROW_GROUP];
                __m128i mins[ROW_GROUP];
                for (int i = 0; i < ROW_GROUP; i++) {
                    __m128i v = scales_mins_k4(wr[i] + (size_t)b * wbb + 4);
                    scales[i] = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(v));
                    mins[i] = _mm_cvtepu8_epi16(_mm_srli_si128(v, 8));
                }
                __m256 d = load_halves(wr, (size_t)b * wbb);
                __m256 dmin = load_halves(wr, (size_t)b * wbb + 2);
                for (int t = 0; t < nt; t++) {
                    const uint8_t *ab = a + (size_t)(t0 + t) * arb + (size_t)b * TK_Q8_K_BYTES;
                    const uint8_t *aq = ab + 4;
                    __m128i bsumPairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)(ab + 260)),
                                                       _mm_loadu_si128((const __m128i *)(ab + 276)));
                    __m256i p[ROW_GROUP];
                    __m128i m[ROW_GROUP];
                    for (int i = 0; i < ROW_GROUP; i++) {
                        const uint8_t *wb = wr[i] + (size_t)b * wbb;
                        const uint8_t *qs = wb + (five ? 48 : 16);
                        __m256i high = five ? _mm256_loadu_si256((const __m256i *)(wb + 16)) : _mm256_setzero_si256();
                        __m256i sum = _mm256_setzero_si256();
                        for (int j = 0; j < 4; j++) {
                            __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
                            __m256i lo = _mm256_and_si256(q, low4);
                            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
                            if (five) {
                                __m256i bitLo = _mm256_and_si256(_mm256_srli_epi16(high, 2 * j), one);
                                __m256i bitHi = _mm256_and_si256(_mm256_srli_epi16(high, 2 * j + 1), one);
                                lo = _mm256_or_si256(lo, _mm256_slli_epi16(bitLo, 4));
                                hi = _mm256_or_si256(hi, _mm256_slli_epi16(bitHi, 4));
                            }
                            __m256i plo = _mm256_maddubs_epi16(lo, LOAD256(aq + 64 * j));
                            __m256i phi = _mm256_maddubs_epi16(hi, LOAD256(aq + 64 * j + 32));
                            plo = _mm256_madd_epi16(plo, _mm256_shuffle_epi8(scales[i], pick16(2 * j)));
                            phi = _mm256_madd_epi16(phi, _mm256_shuffle_epi8(scales[i], pick16(2 * j + 1)));
                            sum = _mm256_add_epi32(sum, _mm256_add_epi32(plo, phi));
                        }
                        p[i] = sum;
                        m[i] = _mm_madd_epi16(mins[i], bsumPairs);
                    }
                    __m256 da = _mm256_set1_ps(tk_load_f32(ab));
                    __m256 plus = _mm256_mul_ps(_mm256_mul_ps(da, d), _mm256_cvtepi32_ps(sum8x8(p)));
                    __m256 minus = _mm256_mul_ps(_mm256_mul_ps(da, dmin), _mm256_cvtepi32_ps(sum8x4(m)));
                    acc[t] = _mm256_add_ps(acc[t], _mm256_sub_ps(plus, minus));
                }
            }
            for (int t = 0; t < nt; t++) store_rows(out + (t0 + t) * os + r0, acc[t], nr);
        }
    }
}

/// Q2_K, Q3_K and Q6_K: 16 sub-blocks of 16. The quants are made unsigned (Q3_K + 4, Q6_K + 32) and the offset
/// taken back out through the activations' block sums; Q2_K subtracts its mins the same way.
AVX2_INLINE void gemm_q16_K(const uint32_t type, int64_t nb, const uint8_t *w, size_t wrb, int64_t rows,
                            const uint8_t *a, size_t arb, int64_t tokens, float *out, int64_t os) {
    const size_t wbb = tk_block_bytes(type);
    const size_t dOffset = type == TK_TYPE_Q2_K ? 80 : type == TK_TYPE_Q3_K ? 108 : 208;
    const __m256i low2 = _mm256_set1_epi8(3);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
        const uint8_t *wr[ROW_GROUP];
        int nr = group_rows(w, wrb, r0, rows, wr);
        for (int64_t t0 = 0; t0 < tokens; t0 += TOKEN_TILE) {
            int nt = tokens - t0 < TOKEN_TILE ? (int)(tokens - t0) : TOKEN_TILE;
            __m256 acc[TOKEN_TILE];
            for (int t = 0; t < TOKEN_TILE; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (t0 == 0) prefetch_next_group(wr, wrb, (size_t)b * wbb, wbb);
                __m128i scales8[ROW_GROUP];
                __m256i corrections[ROW_GROUP];  // int16 factors of the block sums
                for (int i = 0; i < ROW_GROUP; i++) {
                    const uint8_t *wb = wr[i] + (size_t)b * wbb;
                    if (type == TK_TYPE_Q2_K) {
                        __m128i packed = _mm_loadu_si128((const __m128i *)wb);
                        scales8[i] = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
                        __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
                        corrections[i] = _mm256_cvtepu8_epi16(mins);
                    } else {
                        int8_t sc[16];
                        if (type == TK_TYPE_Q3_K) tk_q3_k_scales(wb + 96, sc);
                        else memcpy(sc, wb + 192, 16);
                        scales8[i] = _mm_loadu_si128((const __m128i *)sc);
                        corrections[i] = _mm256_cvtepi8_epi16(scales8[i]);
                    }
                }
                __m256 d = load_halves(wr, (size_t)b * wbb + dOffset);
                __m256 dmin = type == TK_TYPE_Q2_K ? load_halves(wr, (size_t)b * wbb + 82) : _mm256_setzero_ps();
                for (int t = 0; t < nt; t++) {
                    const uint8_t *ab = a + (size_t)(t0 + t) * arb + (size_t)b * TK_Q8_K_BYTES;
                    const uint8_t *aq = ab + 4;
                    __m256i bsums = _mm256_loadu_si256((const __m256i *)(ab + 260));
                    __m256i p[ROW_GROUP], m[ROW_GROUP];
                    for (int i = 0; i < ROW_GROUP; i++) {
                        const uint8_t *wb = wr[i] + (size_t)b * wbb;
                        __m256i sum = _mm256_setzero_si256();
                        for (int n = 0; n < 2; n++) {
                            __m256i u[4];
                            if (type == TK_TYPE_Q6_K) {
                                __m256i l0 = _mm256_loadu_si256((const __m256i *)(wb + 64 * n));
                                __m256i l1 = _mm256_loadu_si256((const __m256i *)(wb + 64 * n + 32));
                                __m256i h = _mm256_loadu_si256((const __m256i *)(wb + 128 + 32 * n));
                                __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(h, low2), 4);
                                __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), low2), 4);
                                __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), low2), 4);
                                __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), low2), 4);
                                u[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), h0);
                                u[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), h1);
                                u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), h2);
                                u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), h3);
                            } else {
                                const uint8_t *qs = wb + (type == TK_TYPE_Q2_K ? 16 : 32);
                                __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * n));
                                __m256i hm = type == TK_TYPE_Q3_K ? LOAD256(wb) : _mm256_setzero_si256();
                                for (int j = 0; j < 4; j++) {
                                    u[j] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), low2);
                                    if (type == TK_TYPE_Q3_K) {
                                        __m256i bit = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * n + j), one);
                                        u[j] = _mm256_or_si256(u[j], _mm256_slli_epi16(bit, 2));
                                    }
                                }
                            }
                            for (int j = 0; j < 4; j++) {
                                int k = 4 * n + j;
                                __m256i pairs = _mm256_maddubs_epi16(u[j], LOAD256(aq + 32 * k));
                                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, scale_pair(scales8[i], k)));
                            }
                        }
                        __m256i c = _mm256_madd_epi16(corrections[i], bsums);
                        if (type == TK_TYPE_Q2_K) {
                            p[i] = sum;
                            m[i] = c;
                        } else {
                            p[i] = _mm256_sub_epi32(sum, _mm256_slli_epi32(c, type == TK_TYPE_Q6_K ? 5 : 2));
                        }
                    }
                    __m256 da = _mm256_set1_ps(tk_load_f32(ab));
                    __m256 term = _mm256_mul_ps(_mm256_mul_ps(da, d), _mm256_cvtepi32_ps(sum8x8(p)));
                    if (type == TK_TYPE_Q2_K) {
                        __m256 minus = _mm256_mul_ps(_mm256_mul_ps(da, dmin), _mm256_cvtepi32_ps(sum8x8(m)));
                        term = _mm256_sub_ps(term, minus);
                    }
                    acc[t] = _mm256_add_ps(acc[t], term);
                }
            }
            for (int t = 0; t < nt; t++) store_rows(out + (t0 + t) * os + r0, acc[t], nr);
        }
    }
}

// MARK: - Float types: 16 lanes per (row, token), 4 rows at a time

AVX2_INLINE __m256 load8(const uint32_t type, const uint8_t *p) {
    switch (type) {
    case TK_TYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    case TK_TYPE_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
    default: return _mm256_loadu_ps((const float *)p);
    }
}

AVX2_INLINE float load1(const uint32_t type, const uint8_t *p) {
    switch (type) {
    case TK_TYPE_F16: return tk_load_half(p);
    case TK_TYPE_BF16: return tk_bf16_to_float(tk_load_u16(p));
    default: return tk_load_f32(p);
    }
}

AVX2_INLINE void gemm_float(const uint32_t type, int64_t columns, const uint8_t *w, size_t wrb, int64_t rows,
                            const uint8_t *a, size_t arb, int64_t tokens, float *out, int64_t os) {
    const size_t es = type == TK_TYPE_F32 ? 4 : 2;
    const int64_t whole = columns & ~(int64_t)15;
    for (int64_t t = 0; t < tokens; t++) {
        const uint8_t *at = a + (size_t)t * arb;
        for (int64_t r0 = 0; r0 < rows; r0 += 4) {
            int nr = rows - r0 < 4 ? (int)(rows - r0) : 4;
            const uint8_t *wr[4];
            for (int k = 0; k < 4; k++) wr[k] = w + (size_t)(r0 + (k < nr ? k : nr - 1)) * wrb;
            __m256 acc[4][2];
            for (int k = 0; k < 4; k++) acc[k][0] = acc[k][1] = _mm256_setzero_ps();
            for (int64_t i = 0; i < whole; i += 16) {
                __m256 a0 = load8(type, at + i * es), a1 = load8(type, at + (i + 8) * es);
                for (int k = 0; k < 4; k++) {
                    acc[k][0] = _mm256_add_ps(acc[k][0], _mm256_mul_ps(load8(type, wr[k] + i * es), a0));
                    acc[k][1] = _mm256_add_ps(acc[k][1], _mm256_mul_ps(load8(type, wr[k] + (i + 8) * es), a1));
                }
            }
            for (int k = 0; k < nr; k++) {
                float lanes[16];
                _mm256_storeu_ps(lanes, acc[k][0]);
                _mm256_storeu_ps(lanes + 8, acc[k][1]);
                for (int64_t i = whole; i < columns; i++) {
                    lanes[i & 15] = lanes[i & 15] + load1(type, wr[k] + i * es) * load1(type, at + i * es);
                }
                out[t * os + r0 + k] = tk_reduce16(lanes);
            }
        }
    }
}

// MARK: - Entry points

#define KERNEL(name, body)                                                                                         \
    AVX2_KERNEL void name(int64_t nb, const uint8_t *w, size_t wrb, int64_t rows, const uint8_t *a, size_t arb,     \
                          int64_t tokens, float *out, int64_t os) {                                                 \
        body;                                                                                                       \
    }

KERNEL(gemm_q8_0_avx2, gemm_q32(TK_TYPE_Q8_0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q4_0_avx2, gemm_q32(TK_TYPE_Q4_0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q5_0_avx2, gemm_q32(TK_TYPE_Q5_0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q4_1_avx2, gemm_q32(TK_TYPE_Q4_1, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q5_1_avx2, gemm_q32(TK_TYPE_Q5_1, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q4_K_avx2, gemm_q45_K(0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q5_K_avx2, gemm_q45_K(1, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q2_K_avx2, gemm_q16_K(TK_TYPE_Q2_K, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q3_K_avx2, gemm_q16_K(TK_TYPE_Q3_K, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q6_K_avx2, gemm_q16_K(TK_TYPE_Q6_K, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_f32_avx2, gemm_float(TK_TYPE_F32, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_f16_avx2, gemm_float(TK_TYPE_F16, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_bf16_avx2, gemm_float(TK_TYPE_BF16, nb, w, wrb, rows, a, arb, tokens, out, os))

tk_gemm_kernel tk_avx2_kernel(uint32_t type) {
    switch (type) {
    case TK_TYPE_Q8_0: return gemm_q8_0_avx2;
    case TK_TYPE_Q4_0: return gemm_q4_0_avx2;
    case TK_TYPE_Q5_0: return gemm_q5_0_avx2;
    case TK_TYPE_Q4_1: return gemm_q4_1_avx2;
    case TK_TYPE_Q5_1: return gemm_q5_1_avx2;
    case TK_TYPE_Q2_K: return gemm_q2_K_avx2;
    case TK_TYPE_Q3_K: return gemm_q3_K_avx2;
    case TK_TYPE_Q4_K: return gemm_q4_K_avx2;
    case TK_TYPE_Q5_K: return gemm_q5_K_avx2;
    case TK_TYPE_Q6_K: return gemm_q6_K_avx2;
    case TK_TYPE_F32: return gemm_f32_avx2;
    case TK_TYPE_F16: return gemm_f16_avx2;
    case TK_TYPE_BF16: return gemm_bf16_avx2;
    default: return NULL;
    }
}

#else

tk_gemm_kernel tk_avx2_kernel(uint32_t type) {
    (void)type;
    return NULL;
}

#endif
