// AVX2 helpers shared by the AVX2 and AVX-512 kernel files (x86_64 only). Each is compiled for the AVX2 target
// and inlined into kernels of that target or a wider one.
#ifndef TK_X86_H
#define TK_X86_H

#include <immintrin.h>

#include "tk_internal.h"

#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))
/// Rows per group (one float lane each) and tokens per tile of the block kernels.
#define ROW_GROUP 8
#define TOKEN_TILE 4

#define LOAD128(p) _mm_loadu_si128((const __m128i *)(p))
#define LOAD256(p) _mm256_loadu_si256((const __m256i *)(p))

/// Lane i of the result is the sum of the 8 lanes of p[i] (exact integer adds).
AVX2_INLINE __m256i sum8x8(const __m256i *p) {
    __m256i s01 = _mm256_hadd_epi32(p[0], p[1]);
    __m256i s23 = _mm256_hadd_epi32(p[2], p[3]);
    __m256i s45 = _mm256_hadd_epi32(p[4], p[5]);
    __m256i s67 = _mm256_hadd_epi32(p[6], p[7]);
    __m256i s0123 = _mm256_hadd_epi32(s01, s23);
    __m256i s4567 = _mm256_hadd_epi32(s45, s67);
    __m256i low = _mm256_permute2x128_si256(s0123, s4567, 0x20);
    __m256i high = _mm256_permute2x128_si256(s0123, s4567, 0x31);
    return _mm256_add_epi32(low, high);
}

/// Lane i of the result is the sum of the 4 lanes of p[i] (exact integer adds).
AVX2_INLINE __m256i sum8x4(const __m128i *p) {
    __m256i p04 = _mm256_set_m128i(p[4], p[0]);
    __m256i p15 = _mm256_set_m128i(p[5], p[1]);
    __m256i p26 = _mm256_set_m128i(p[6], p[2]);
    __m256i p37 = _mm256_set_m128i(p[7], p[3]);
    return _mm256_hadd_epi32(_mm256_hadd_epi32(p04, p15), _mm256_hadd_epi32(p26, p37));
}

AVX2_INLINE int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// The f16 at `offset` in each of the 8 rows, as floats.
AVX2_INLINE __m256 load_halves(const uint8_t *const *rows, size_t offset) {
    __m128i h = _mm_cvtsi32_si128(tk_load_u16(rows[0] + offset));
    h = _mm_insert_epi16(h, tk_load_u16(rows[1] + offset), 1);
    h = _mm_insert_epi16(h, tk_load_u16(rows[2] + offset), 2);
    h = _mm_insert_epi16(h, tk_load_u16(rows[3] + offset), 3);
    h = _mm_insert_epi16(h, tk_load_u16(rows[4] + offset), 4);
    h = _mm_insert_epi16(h, tk_load_u16(rows[5] + offset), 5);
    h = _mm_insert_epi16(h, tk_load_u16(rows[6] + offset), 6);
    h = _mm_insert_epi16(h, tk_load_u16(rows[7] + offset), 7);
    return _mm256_cvtph_ps(h);
}

AVX2_INLINE float half_at(const uint8_t *p) {
    return _cvtsh_ss(tk_load_u16(p));
}

/// 16 bytes of nibbles as 32 bytes: low nibbles first (elements 0...15), then high nibbles (16...31).
AVX2_INLINE __m256i nibbles32(const uint8_t *p) {
    __m128i x = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0F));
}

/// Byte k is 0x10 where bit k of `bits` is set, else 0.
AVX2_INLINE __m256i bits_to_0x10(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                                            3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/// Asks for the next row group's cache lines that start within bytes [offset, offset + bytes) of each row, into
/// L2: a group's rows are eight streams at once, which the hardware prefetchers follow less well than one long
/// row (this made streaming 1.2 to 1.4 times faster).
AVX2_INLINE void prefetch_next_group(const uint8_t *const *rows, size_t wrb, size_t offset, size_t bytes) {
    size_t ahead = ROW_GROUP * wrb;
    for (size_t line = (offset + 63) & ~(size_t)63; line < offset + bytes; line += 64) {
        for (int i = 0; i < ROW_GROUP; i++) _mm_prefetch((const char *)(rows[i] + ahead + line), _MM_HINT_T1);
    }
}

/// Writes lanes 0..<count of v to out[0], out[1], ...
AVX2_INLINE void store_rows(float *out, __m256 v, int count) {
    if (count == ROW_GROUP) {
        _mm256_storeu_ps(out, v);
        return;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (int i = 0; i < count; i++) out[i] = lanes[i];
}

/// Row pointers of a group; rows past the end repeat the last one (their results are not stored).
AVX2_INLINE int group_rows(const uint8_t *w, size_t wrb, int64_t r0, int64_t rows, const uint8_t **out) {
    int count = rows - r0 < ROW_GROUP ? (int)(rows - r0) : ROW_GROUP;
    for (int i = 0; i < ROW_GROUP; i++) out[i] = w + (size_t)(r0 + (i < count ? i : count - 1)) * wrb;
    return count;
}

/// The 8 scales (bytes 0...7) and 8 mins (bytes 8...15) of a Q4_K/Q5_K block from its 12 packed bytes at `p`
/// (tk_scales_mins_k4 in registers; reads 16 bytes, which stay inside the block).
AVX2_INLINE __m128i scales_mins_k4(const uint8_t *p) {
    __m128i x = _mm_loadu_si128((const __m128i *)p);
    __m128i words = _mm_srlv_epi32(_mm_shuffle_epi32(x, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4));
    __m128i low = _mm_and_si128(words, _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
    __m128i top = _mm_srli_epi32(_mm_shuffle_epi32(x, _MM_SHUFFLE(1, 1, 0, 0)), 6);
    top = _mm_slli_epi32(_mm_and_si128(top, _mm_set1_epi32(0x03030303)), 4);
    top = _mm_and_si128(top, _mm_setr_epi32(0, -1, 0, -1));
    return _mm_or_si128(low, top);
}

#endif
