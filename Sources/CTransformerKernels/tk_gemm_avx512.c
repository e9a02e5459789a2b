// AVX-512 VNNI kernels for the types that dominate decode time (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).
// Same row groups, token tiles and float operations as the AVX2 kernels (so the same bits); the integer part
// uses 512-bit vpdpbusd: the 32-element types hold 4 rows' half-blocks per register, the K types a whole row's
// 64-byte stretch; Q4_0 with 1...8 tokens has its own matrix-vector kernel (gemv_q4_0_512). Q8_0 weights are signed,
// so there the activations are offset by 128 (to fit vpdpbusd's unsigned operand) and 128 * sum(w) is taken back
// out lane by lane; integer results are exact either way.
#pragma clang fp contract(off)

#include "tk_internal.h"

#if defined(__x86_64__)

#include <stdatomic.h>

#include "tk_x86.h"

#define AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define AVX512_INLINE static inline __attribute__((always_inline, target(AVX512_TARGET)))
#define AVX512_KERNEL static __attribute__((target(AVX512_TARGET)))
#define LOAD512(p) _mm512_loadu_si512((const void *)(p))
#define ZERO512 _mm512_setzero_si512()
#define DOT_U8S8 _mm512_dpbusd_epi32

/// Pairwise sums inside each 128-bit lane: [a0 + a1, a2 + a3, b0 + b1, b2 + b3] (exact integer adds).
AVX512_INLINE __m512i hadd128(__m512i a, __m512i b) {
    __m512 fa = _mm512_castsi512_ps(a), fb = _mm512_castsi512_ps(b);
    return _mm512_add_epi32(_mm512_castps_si512(_mm512_shuffle_ps(fa, fb, 0x88)),
                            _mm512_castps_si512(_mm512_shuffle_ps(fa, fb, 0xDD)));
}

/// z0 holds rows 0...3 and z1 rows 4...7, one 128-bit lane per row; lane i of the result is row i's sum.
AVX512_INLINE __m256i sum_rows_4x4(__m512i z0, __m512i z1) {
    __m512i t = hadd128(z0, z1);
    __m512i u = hadd128(t, t);
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, u));
}

/// 16 bytes from each of four places, one 128-bit lane each.
AVX512_INLINE __m512i load_4x16(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3) {
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p0));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)p1), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)p2), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)p3), 3);
}

AVX512_INLINE __m256i add_halves(__m512i z) {
    return _mm256_add_epi32(_mm512_castsi512_si256(z), _mm512_extracti64x4_epi64(z, 1));
}

// MARK: - 32-element blocks

AVX512_INLINE void gemm_q32_512(const uint32_t type, int64_t nb, const uint8_t *w, size_t wrb, int64_t rows,
                                const uint8_t *a, size_t arb, int64_t tokens, float *out, int64_t os) {
    const int withMin = type == TK_TYPE_Q4_1 || type == TK_TYPE_Q5_1;
    const int five = type == TK_TYPE_Q5_0 || type == TK_TYPE_Q5_1;
    const size_t wbb = tk_block_bytes(type);
    const size_t abb = withMin ? TK_Q8_1_BYTES : TK_Q8_0_BYTES;
    const size_t aqs = withMin ? 4 : 2;
    const size_t qsAt = type == TK_TYPE_Q4_1 ? 4 : type == TK_TYPE_Q5_0 ? 6 : type == TK_TYPE_Q5_1 ? 8 : 2;
    const size_t qhAt = type == TK_TYPE_Q5_0 ? 2 : 4;
    const int offset = type == TK_TYPE_Q4_0 ? 8 : type == TK_TYPE_Q5_0 ? 16 : 0;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i bit5 = _mm512_set1_epi8(0x10);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512i offsetBytes = _mm512_set1_epi8((char)offset);
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
        const uint8_t *wr[ROW_GROUP];
        int nr = group_rows(w, wrb, r0, rows, wr);
        for (int64_t t0 = 0; t0 < tokens; t0 += TOKEN_TILE) {
            int nt = tokens - t0 < TOKEN_TILE ? (int)(tokens - t0) : TOKEN_TILE;
            __m256 acc[TOKEN_TILE];
            for (int t = 0; t < TOKEN_TILE; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (t0 == 0) prefetch_next_group(wr, wrb, (size_t)b * wbb, wbb);
                __m512i lo[2], hi[2], init[2];
                for (int g = 0; g < 2; g++) {
                    const uint8_t *p[4];
                    for (int k = 0; k < 4; k++) p[k] = wr[4 * g + k] + (size_t)b * wbb;
                    if (type == TK_TYPE_Q8_0) {
                        lo[g] = load_4x16(p[0] + 2, p[1] + 2, p[2] + 2, p[3] + 2);
                        hi[g] = load_4x16(p[0] + 18, p[1] + 18, p[2] + 18, p[3] + 18);
                        __m512i sum128 = DOT_U8S8(DOT_U8S8(ZERO512, flip, lo[g]), flip, hi[g]);
                        init[g] = _mm512_sub_epi32(ZERO512, sum128);
                    } else {
                        __m512i q = load_4x16(p[0] + qsAt, p[1] + qsAt, p[2] + qsAt, p[3] + qsAt);
                        lo[g] = _mm512_and_si512(q, low4);
                        hi[g] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
                        if (five) {
                            uint64_t qh[4];
                            for (int k = 0; k < 4; k++) qh[k] = tk_load_u32(p[k] + qhAt);
                            uint64_t lowBits = 0, highBits = 0;
                            for (int k = 0; k < 4; k++) {
                                lowBits |= (qh[k] & 0xFFFF) << (16 * k);
                                highBits |= (qh[k] >> 16) << (16 * k);
                            }
                            lo[g] = _mm512_mask_add_epi8(lo[g], (__mmask64)lowBits, lo[g], bit5);
                            hi[g] = _mm512_mask_add_epi8(hi[g], (__mmask64)highBits, hi[g], bit5);
                        }
                        init[g] = _mm512_setzero_si512();
                    }
                }
                __m256 dw = load_halves(wr, (size_t)b * wbb);
                __m256 mw = withMin ? load_halves(wr, (size_t)b * wbb + 2) : _mm256_setzero_ps();
                for (int t = 0; t < nt; t++) {
                    const uint8_t *ab = a + (size_t)(t0 + t) * arb + (size_t)b * abb;
                    __m512i alo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(ab + aqs)));
                    __m512i ahi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(ab + aqs + 16)));
                    __m512i s[2];
                    if (type == TK_TYPE_Q8_0) {
                        alo = _mm512_xor_si512(alo, flip);
                        ahi = _mm512_xor_si512(ahi, flip);
                        for (int g = 0; g < 2; g++) s[g] = DOT_U8S8(DOT_U8S8(init[g], alo, lo[g]), ahi, hi[g]);
                    } else {
                        __m512i start = ZERO512;
                        if (offset) {
                            // Lane by lane, minus offset * the activations: sum((q - offset) * a).
                            __m512i shift = DOT_U8S8(DOT_U8S8(start, offsetBytes, alo), offsetBytes, ahi);
                            start = _mm512_sub_epi32(start, shift);
                        }
                        for (int g = 0; g < 2; g++) s[g] = DOT_U8S8(DOT_U8S8(start, lo[g], alo), hi[g], ahi);
                    }
                    __m256i isum = sum_rows_4x4(s[0], s[1]);
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

// MARK: - Q4_K, Q5_K

/// Int32 lanes [s, 0] (int16 pairs) of scale sub-blocks `first` (lanes 0...7) and `second` (lanes 8...15).
AVX512_INLINE __m512i scale_lanes(__m512i scales32, int first, int second) {
    __m512i index = _mm512_mask_blend_epi32((__mmask16)0xFF00, _mm512_set1_epi32(first), _mm512_set1_epi32(second));
    return _mm512_permutexvar_epi32(index, scales32);
}

AVX512_INLINE void gemm_q45_K_512(const int five, int64_t nb, const uint8_t *w, size_t wrb, int64_t rows,
                                  const uint8_t *a, size_t arb, int64_t tokens, float *out, int64_t os) {
    const size_t wbb = five ? TK_Q5_K_BYTES : TK_Q4_K_BYTES;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i bit5 = _mm512_set1_epi8(0x10);
    // The qh bit of each 32-byte half: sub-blocks (0, 2), (1, 3), (4, 6), (5, 7).
    const __m512i bitLo0 = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8(1 << 0), _mm512_set1_epi8(1 << 2));
    const __m512i bitHi0 = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8(1 << 1), _mm512_set1_epi8(1 << 3));
    const __m512i bitLo1 = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8(1 << 4), _mm512_set1_epi8((char)(1 << 6)));
    const __m512i bitHi1 = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8(1 << 5), _mm512_set1_epi8((char)(1 << 7)));
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
        const uint8_t *wr[ROW_GROUP];
        int nr = group_rows(w, wrb, r0, rows, wr);
        for (int64_t t0 = 0; t0 < tokens; t0 += TOKEN_TILE) {
            int nt = tokens - t0 < TOKEN_TILE ? (int)(tokens - t0) : TOKEN_TILE;
            __m256 acc[TOKEN_TILE];
            for (int t = 0; t < TOKEN_TILE; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (t0 == 0) prefetch_next_group(wr, wrb, (size_t)b * wbb, wbb);
                __m512i scales[ROW_GROUP][4];
                __m128i mins[ROW_GROUP];
                for (int i = 0; i < ROW_GROUP; i++) {
                    __m128i v = scales_mins_k4(wr[i] + (size_t)b * wbb + 4);
                    __m512i s32 = _mm512_cvtepu8_epi32(v);
                    scales[i][0] = scale_lanes(s32, 0, 2);
                    scales[i][1] = scale_lanes(s32, 1, 3);
                    scales[i][2] = scale_lanes(s32, 4, 6);
                    scales[i][3] = scale_lanes(s32, 5, 7);
                    mins[i] = _mm_cvtepu8_epi16(_mm_srli_si128(v, 8));
                }
                __m256 d = load_halves(wr, (size_t)b * wbb);
                __m256 dmin = load_halves(wr, (size_t)b * wbb + 2);
                for (int t = 0; t < nt; t++) {
                    const uint8_t *ab = a + (size_t)(t0 + t) * arb + (size_t)b * TK_Q8_K_BYTES;
                    const uint8_t *aq = ab + 4;
                    __m512i a0 = LOAD512(aq), a1 = LOAD512(aq + 64), a2 = LOAD512(aq + 128), a3 = LOAD512(aq + 192);
                    __m512i aLo0 = _mm512_shuffle_i64x2(a0, a1, 0x44), aHi0 = _mm512_shuffle_i64x2(a0, a1, 0xEE);
                    __m512i aLo1 = _mm512_shuffle_i64x2(a2, a3, 0x44), aHi1 = _mm512_shuffle_i64x2(a2, a3, 0xEE);
                    __m128i bsumPairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)(ab + 260)),
                                                       _mm_loadu_si128((const __m128i *)(ab + 276)));
                    __m256i p[ROW_GROUP];
                    __m128i m[ROW_GROUP];
                    for (int i = 0; i < ROW_GROUP; i++) {
                        const uint8_t *wb = wr[i] + (size_t)b * wbb;
                        const uint8_t *qs = wb + (five ? 48 : 16);
                        __m512i q0 = LOAD512(qs), q1 = LOAD512(qs + 64);
                        __m512i lo0 = _mm512_and_si512(q0, low4);
                        __m512i hi0 = _mm512_and_si512(_mm512_srli_epi16(q0, 4), low4);
                        __m512i lo1 = _mm512_and_si512(q1, low4);
                        __m512i hi1 = _mm512_and_si512(_mm512_srli_epi16(q1, 4), low4);
                        if (five) {
                            __m512i h = _mm512_broadcast_i64x4(LOAD256(wb + 16));
                            lo0 = _mm512_mask_add_epi8(lo0, _mm512_test_epi8_mask(h, bitLo0), lo0, bit5);
                            hi0 = _mm512_mask_add_epi8(hi0, _mm512_test_epi8_mask(h, bitHi0), hi0, bit5);
                            lo1 = _mm512_mask_add_epi8(lo1, _mm512_test_epi8_mask(h, bitLo1), lo1, bit5);
                            hi1 = _mm512_mask_add_epi8(hi1, _mm512_test_epi8_mask(h, bitHi1), hi1, bit5);
                        }
                        // Each 32-bit lane sums 4 products (< 2^15), so vpdpwssd on its low half applies the scale.
                        __m512i sum = _mm512_dpwssd_epi32(ZERO512, DOT_U8S8(ZERO512, lo0, aLo0), scales[i][0]);
                        sum = _mm512_dpwssd_epi32(sum, DOT_U8S8(ZERO512, hi0, aHi0), scales[i][1]);
                        sum = _mm512_dpwssd_epi32(sum, DOT_U8S8(ZERO512, lo1, aLo1), scales[i][2]);
                        sum = _mm512_dpwssd_epi32(sum, DOT_U8S8(ZERO512, hi1, aHi1), scales[i][3]);
                        p[i] = add_halves(sum);
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

// MARK: - Q6_K

AVX512_INLINE void gemm_q6_K_512(int64_t nb, const uint8_t *w, size_t wrb, int64_t rows, const uint8_t *a,
                                 size_t arb, int64_t tokens, float *out, int64_t os) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i low2 = _mm512_set1_epi8(3);
    // qh shifts for the two 32-byte halves of each quarter: (0, 2) and (4, 6).
    const __m512i shiftA = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi16(0), _mm512_set1_epi16(2));
    const __m512i shiftB = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi16(4), _mm512_set1_epi16(6));
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
        const uint8_t *wr[ROW_GROUP];
        int nr = group_rows(w, wrb, r0, rows, wr);
        for (int64_t t0 = 0; t0 < tokens; t0 += TOKEN_TILE) {
            int nt = tokens - t0 < TOKEN_TILE ? (int)(tokens - t0) : TOKEN_TILE;
            __m256 acc[TOKEN_TILE];
            for (int t = 0; t < TOKEN_TILE; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (t0 == 0) prefetch_next_group(wr, wrb, (size_t)b * TK_Q6_K_BYTES, TK_Q6_K_BYTES);
                __m512i scales[ROW_GROUP][4];
                __m256i scales16[ROW_GROUP];
                for (int i = 0; i < ROW_GROUP; i++) {
                    __m128i v = _mm_loadu_si128((const __m128i *)(wr[i] + (size_t)b * TK_Q6_K_BYTES + 192));
                    __m512i s32 = _mm512_and_si512(_mm512_cvtepi8_epi32(v), _mm512_set1_epi32(0xFFFF));
                    // Lane l of quarter k covers elements 4l...4l+3 of its 64: sub-block 4k + l / 4.
                    const __m512i quarter = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
                    for (int k = 0; k < 4; k++) {
                        __m512i index = _mm512_add_epi32(_mm512_set1_epi32(4 * k), quarter);
                        scales[i][k] = _mm512_permutexvar_epi32(index, s32);
                    }
                    scales16[i] = _mm256_cvtepi8_epi16(v);
                }
                __m256 d = load_halves(wr, (size_t)b * TK_Q6_K_BYTES + 208);
                for (int t = 0; t < nt; t++) {
                    const uint8_t *ab = a + (size_t)(t0 + t) * arb + (size_t)b * TK_Q8_K_BYTES;
                    const uint8_t *aq = ab + 4;
                    __m256i bsums = _mm256_loadu_si256((const __m256i *)(ab + 260));
                    __m512i act[4];
                    for (int k = 0; k < 4; k++) act[k] = LOAD512(aq + 64 * k);
                    __m256i p[ROW_GROUP];
                    for (int i = 0; i < ROW_GROUP; i++) {
                        const uint8_t *wb = wr[i] + (size_t)b * TK_Q6_K_BYTES;
                        __m512i sum = _mm512_setzero_si512();
                        for (int n = 0; n < 2; n++) {
                            __m512i l = LOAD512(wb + 64 * n);
                            __m512i h = _mm512_broadcast_i64x4(LOAD256(wb + 128 + 32 * n));
                            __m512i hA = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(h, shiftA), low2), 4);
                            __m512i hB = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(h, shiftB), low2), 4);
                            __m512i uA = _mm512_or_si512(_mm512_and_si512(l, low4), hA);
                            __m512i uB = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4), hB);
                            // 4 products of u < 64 and |a| <= 127 stay below 2^15: vpdpwssd applies the scales.
                            sum = _mm512_dpwssd_epi32(sum, DOT_U8S8(ZERO512, uA, act[2 * n]), scales[i][2 * n]);
                            sum = _mm512_dpwssd_epi32(sum, DOT_U8S8(ZERO512, uB, act[2 * n + 1]), scales[i][2 * n + 1]);
                        }
                        __m256i correction = _mm256_slli_epi32(_mm256_madd_epi16(scales16[i], bsums), 5);
                        p[i] = _mm256_sub_epi32(add_halves(sum), correction);
                    }
                    __m256 da = _mm256_set1_ps(tk_load_f32(ab));
                    acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_mul_ps(da, d), _mm256_cvtepi32_ps(sum8x8(p))));
                }
            }
            for (int t = 0; t < nt; t++) store_rows(out + (t0 + t) * os + r0, acc[t], nr);
        }
    }
}

// MARK: - Matrix-vector (one token): Q4_0

// One token against a group of 8 rows, 4 blocks (one chunk) at a time. Each row's chunk is one 64-byte load plus
// 8 bytes, its 4 blocks' nibbles gathered into one register (vpermt2b) against activations laid out once per call
// to match (lane k: block k). The -8 offset is folded into the accumulator's start: -8 * (the same lane's
// activation sum), so each lane sums (q - 8) * a exactly. Lanes are then summed per block with two rounds of
// vpackssdw + vpmaddwd (every partial sum fits in int16 there: |lane| <= 8 * 8 * 128, pairs <= 2 * that) and
// transposed to one float lane per row; the float part is the same (dw * da) * isum added block by block.

#define GEMV_SLAB 64 /* chunks of 4 blocks per activation slab (8192 columns) */
// vpermt2b needs AVX512_VBMI on top of the file's set (Ice Lake and later; Cascade Lake has VNNI without it).
#define GEMV_TARGET AVX512_TARGET ",avx512vbmi"
#define GEMV_INLINE static inline __attribute__((always_inline, target(GEMV_TARGET)))
#define GEMV_KERNEL static __attribute__((target(GEMV_TARGET)))

static int gemv_supported(void) {
    static _Atomic int supported = -1;
    int value = atomic_load_explicit(&supported, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx512vbmi") ? 1 : 0;
        atomic_store_explicit(&supported, value, memory_order_relaxed);
    }
    return value;
}

typedef struct {
    __m512i lo, hi, init; // activations of elements 0...15 and 16...31 of each block, the offset start
    __m512 da[2];         // da of blocks 0, 1 (8 lanes each) and 2, 3
} gemv_chunk;

/// Lays out blocks [b0, b0 + count) of a Q8_0 activation row as chunks (count need not be a multiple of 4; the
/// missing blocks are zeros).
GEMV_INLINE void gemv_prepare_q4_0(const uint8_t *a, int64_t b0, int64_t count, gemv_chunk *chunks) {
    const __m512i ones = _mm512_set1_epi8(1);
    int64_t nc = (count + 3) / 4;
    for (int64_t c = 0; c < nc; c++) {
        uint8_t lo[64], hi[64];
        float da[32];
        for (int k = 0; k < 4; k++) {
            int64_t b = 4 * c + k;
            if (b < count) {
                const uint8_t *ab = a + (size_t)(b0 + b) * TK_Q8_0_BYTES;
                memcpy(lo + 16 * k, ab + 2, 16);
                memcpy(hi + 16 * k, ab + 18, 16);
                _mm256_storeu_ps(da + 8 * k, _mm256_set1_ps(half_at(ab)));
            } else {
                memset(lo + 16 * k, 0, 16);
                memset(hi + 16 * k, 0, 16);
                _mm256_storeu_ps(da + 8 * k, _mm256_setzero_ps());
            }
        }
        gemv_chunk *g = chunks + c;
        g->lo = LOAD512(lo);
        g->hi = LOAD512(hi);
        __m512i sums = DOT_U8S8(DOT_U8S8(ZERO512, ones, g->lo), ones, g->hi);
        g->init = _mm512_sub_epi32(ZERO512, _mm512_slli_epi32(sums, 3));
        g->da[0] = _mm512_loadu_ps(da);
        g->da[1] = _mm512_loadu_ps(da + 16);
    }
}

/// Int32 lane k (0...3) of 128-bit lane j of the result: the sum of 128-bit lane j of p[k] (exact: every partial
/// sum fits in int16).
GEMV_INLINE __m512i sum_lanes_4(const __m512i *p) {
    const __m512i ones16 = _mm512_set1_epi16(1);
    __m512i t01 = _mm512_madd_epi16(_mm512_packs_epi32(p[0], p[1]), ones16);
    __m512i t23 = _mm512_madd_epi16(_mm512_packs_epi32(p[2], p[3]), ones16);
    return _mm512_madd_epi16(_mm512_packs_epi32(t01, t23), ones16);
}

/// Up to GEMV_TOKENS tokens (rows of `a`, `arb` bytes apart) against the same weights: each row's chunk is loaded,
/// unpacked and its scales gathered once, then reduced against every token's activations. Per (row, token) the
/// integer sums and float operations are exactly the one-token kernel's, so each token gets the bits it would get
/// alone; the activation-only parts (layout, the -8 * sum(a) start, da) are prepared once per (token, block).
#define GEMV_TOKENS 4
GEMV_INLINE void gemv_q4_0_tokens(const int nt, int64_t nb, const uint8_t *w, size_t wrb, int64_t rows,
                                  const uint8_t *a, size_t arb, float *out, int64_t os) {
    const size_t wbb = TK_Q4_0_BYTES;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    // Byte 16k + i: nibble byte i of block k (bytes 18k + 2 + i of the chunk; 64 and up from the second table).
    uint8_t qIndex[64], dIndex[4][64];
    for (int p = 0; p < 64; p++) qIndex[p] = (uint8_t)(18 * (p / 16) + 2 + p % 16);
    // Byte 16k + 2r + j of the halves register: byte j of row r's block k scale; pair m holds rows 2m, 2m + 1.
    for (int m = 0; m < 4; m++) {
        for (int p = 0; p < 64; p++) {
            int k = p / 16, r = (p % 16) / 2, j = p % 2;
            dIndex[m][p] = (uint8_t)(r / 2 == m ? (r % 2 ? 64 : 0) + 18 * k + j : 0);
        }
    }
    const __m512i qIdx = LOAD512(qIndex);
    const __m512i dIdx0 = LOAD512(dIndex[0]), dIdx1 = LOAD512(dIndex[1]);
    const __m512i dIdx2 = LOAD512(dIndex[2]), dIdx3 = LOAD512(dIndex[3]);
    const __m512i blockLanes = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i blockLanesHigh = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    gemv_chunk chunks[GEMV_TOKENS][GEMV_SLAB];
    for (int64_t s0 = 0; s0 < nb; s0 += 4 * GEMV_SLAB) {
        int64_t sn = nb - s0 < 4 * GEMV_SLAB ? nb - s0 : 4 * GEMV_SLAB;
        for (int t = 0; t < nt; t++) gemv_prepare_q4_0(a + (size_t)t * arb, s0, sn, chunks[t]);
        int64_t nc = (sn + 3) / 4;
        for (int64_t r0 = 0; r0 < rows; r0 += ROW_GROUP) {
            const uint8_t *wr[ROW_GROUP];
            int nr = group_rows(w, wrb, r0, rows, wr);
            __m256 acc[GEMV_TOKENS];
            for (int t = 0; t < nt; t++) {
                acc[t] = s0 == 0 ? _mm256_setzero_ps()
                                 : _mm256_maskz_loadu_ps((__mmask8)((1u << nr) - 1), out + t * os + r0);
            }
            for (int64_t c = 0; c < nc; c++) {
                size_t offset = (size_t)(s0 + 4 * c) * wbb;
                int blocks = sn - 4 * c < 4 ? (int)(sn - 4 * c) : 4;
                prefetch_next_group(wr, wrb, offset, 4 * wbb);
                __m512i l[ROW_GROUP], lo[ROW_GROUP], hi[ROW_GROUP];
                for (int i = 0; i < ROW_GROUP; i++) {
                    const uint8_t *q = wr[i] + offset;
                    __m512i h;
                    if (blocks == 4) {
                        l[i] = LOAD512(q);
                        h = _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)(q + 64)));
                    } else {
                        l[i] = _mm512_maskz_loadu_epi8((__mmask64)((1ull << (blocks * wbb)) - 1), q);
                        h = ZERO512;
                    }
                    __m512i nib = _mm512_permutex2var_epi8(l[i], qIdx, h);
                    lo[i] = _mm512_and_si512(nib, low4);
                    hi[i] = _mm512_and_si512(_mm512_srli_epi16(nib, 4), low4);
                }
                __m512i d01 = _mm512_permutex2var_epi8(l[0], dIdx0, l[1]);
                __m512i d23 = _mm512_permutex2var_epi8(l[2], dIdx1, l[3]);
                __m512i d45 = _mm512_permutex2var_epi8(l[4], dIdx2, l[5]);
                __m512i d67 = _mm512_permutex2var_epi8(l[6], dIdx3, l[7]);
                __m512i d03 = _mm512_mask_blend_epi8((__mmask64)0x00F000F000F000F0ull, d01, d23);
                __m512i d47 = _mm512_mask_blend_epi8((__mmask64)0xF000F000F000F000ull, d45, d67);
                __m512i halves = _mm512_mask_blend_epi8((__mmask64)0xFF00FF00FF00FF00ull, d03, d47);
                __m512 dw01 = _mm512_cvtph_ps(_mm512_castsi512_si256(halves));
                __m512 dw23 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(halves, 1));
                for (int t = 0; t < nt; t++) {
                    const gemv_chunk *g = chunks[t] + c;
                    __m512i p[ROW_GROUP];
                    for (int i = 0; i < ROW_GROUP; i++) p[i] = DOT_U8S8(DOT_U8S8(g->init, lo[i], g->lo), hi[i], g->hi);
                    __m512i u0 = sum_lanes_4(p), u1 = sum_lanes_4(p + 4);
                    __m512i x01 = _mm512_permutex2var_epi64(u0, blockLanes, u1);
                    __m512i x23 = _mm512_permutex2var_epi64(u0, blockLanesHigh, u1);
                    __m512 t01 = _mm512_mul_ps(_mm512_mul_ps(dw01, g->da[0]), _mm512_cvtepi32_ps(x01));
                    __m512 t23 = _mm512_mul_ps(_mm512_mul_ps(dw23, g->da[1]), _mm512_cvtepi32_ps(x23));
                    __m256 sum = _mm256_add_ps(acc[t], _mm512_castps512_ps256(t01));
                    if (blocks > 1) sum = _mm256_add_ps(sum, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t01), 1)));
                    if (blocks > 2) sum = _mm256_add_ps(sum, _mm512_castps512_ps256(t23));
                    if (blocks > 3) sum = _mm256_add_ps(sum, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t23), 1)));
                    acc[t] = sum;
                }
            }
            for (int t = 0; t < nt; t++) store_rows(out + t * os + r0, acc[t], nr);
        }
    }
}

GEMV_KERNEL void gemv_q4_0_512(int64_t nb, const uint8_t *w, size_t wrb, int64_t rows, const uint8_t *a,
                                 float *out) {
    gemv_q4_0_tokens(1, nb, w, wrb, rows, a, 0, out, 0);
}

/// 2...8 tokens: tiles of up to GEMV_TOKENS, each reading the weights once for all its tokens.
GEMV_KERNEL void gemv_q4_0_512_small(int64_t nb, const uint8_t *w, size_t wrb, int64_t rows, const uint8_t *a,
                                       size_t arb, int64_t tokens, float *out, int64_t os) {
    for (int64_t t0 = 0; t0 < tokens; t0 += GEMV_TOKENS) {
        int64_t nt = tokens - t0 < GEMV_TOKENS ? tokens - t0 : GEMV_TOKENS;
        const uint8_t *at = a + (size_t)t0 * arb;
        float *ot = out + t0 * os;
        switch (nt) {
        case 1: gemv_q4_0_tokens(1, nb, w, wrb, rows, at, arb, ot, os); break;
        case 2: gemv_q4_0_tokens(2, nb, w, wrb, rows, at, arb, ot, os); break;
        case 3: gemv_q4_0_tokens(3, nb, w, wrb, rows, at, arb, ot, os); break;
        default: gemv_q4_0_tokens(4, nb, w, wrb, rows, at, arb, ot, os); break;
        }
    }
}

// MARK: - Entry points

#define KERNEL(name, body)                                                                                         \
    AVX512_KERNEL void name(int64_t nb, const uint8_t *w, size_t wrb, int64_t rows, const uint8_t *a, size_t arb,   \
                            int64_t tokens, float *out, int64_t os) {                                               \
        body;                                                                                                       \
    }

KERNEL(gemm_q8_0_avx512, gemm_q32_512(TK_TYPE_Q8_0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q4_0_avx512, if (tokens == 1 && gemv_supported()) gemv_q4_0_512(nb, w, wrb, rows, a, out);
                          else if (tokens <= 2 * GEMV_TOKENS && gemv_supported())
                              gemv_q4_0_512_small(nb, w, wrb, rows, a, arb, tokens, out, os);
                          else gemm_q32_512(TK_TYPE_Q4_0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q5_0_avx512, gemm_q32_512(TK_TYPE_Q5_0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q4_1_avx512, gemm_q32_512(TK_TYPE_Q4_1, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q5_1_avx512, gemm_q32_512(TK_TYPE_Q5_1, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q4_K_avx512, gemm_q45_K_512(0, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q5_K_avx512, gemm_q45_K_512(1, nb, w, wrb, rows, a, arb, tokens, out, os))
KERNEL(gemm_q6_K_avx512, gemm_q6_K_512(nb, w, wrb, rows, a, arb, tokens, out, os))

tk_gemm_kernel tk_avx512_kernel(uint32_t type) {
    switch (type) {
    case TK_TYPE_Q8_0: return gemm_q8_0_avx512;
    case TK_TYPE_Q4_0: return gemm_q4_0_avx512;
    case TK_TYPE_Q5_0: return gemm_q5_0_avx512;
    case TK_TYPE_Q4_1: return gemm_q4_1_avx512;
    case TK_TYPE_Q5_1: return gemm_q5_1_avx512;
    case TK_TYPE_Q4_K: return gemm_q4_K_avx512;
    case TK_TYPE_Q5_K: return gemm_q5_K_avx512;
    case TK_TYPE_Q6_K: return gemm_q6_K_avx512;
    default: return NULL;
    }
}

#else

tk_gemm_kernel tk_avx512_kernel(uint32_t type) {
    (void)type;
    return NULL;
}

#endif
