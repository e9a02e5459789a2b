// Quantised matrix kernels and the engine thread pool for Tollgate's transformer engine.
//
// Types are numbered as ggml numbers them (`ggml_type`), blocks are laid out exactly as in ggml-common.h, and the
// arithmetic follows llama.cpp's CPU backend: the activation row is first quantised to the weight type's
// "vec dot type" (Q8_0, Q8_1, Q8_K, F16, BF16 or F32), each block's products are summed in integers, and the
// per-block results are summed in float. Every function works on any x86_64 (and other) CPU: SIMD variants are
// chosen at run time, and all of them give bit-identical results to the portable scalar code.
#ifndef C_TRANSFORMER_KERNELS_H
#define C_TRANSFORMER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TK_TYPE_F32 = 0,
    TK_TYPE_F16 = 1,
    TK_TYPE_Q4_0 = 2,
    TK_TYPE_Q4_1 = 3,
    TK_TYPE_Q5_0 = 6,
    TK_TYPE_Q5_1 = 7,
    TK_TYPE_Q8_0 = 8,
    TK_TYPE_Q8_1 = 9,
    TK_TYPE_Q2_K = 10,
    TK_TYPE_Q3_K = 11,
    TK_TYPE_Q4_K = 12,
    TK_TYPE_Q5_K = 13,
    TK_TYPE_Q6_K = 14,
    TK_TYPE_Q8_K = 15,
    TK_TYPE_BF16 = 30,
};

/// SIMD levels (see `tk_gemm_limited`).
enum {
    TK_SIMD_SCALAR = 0,
    TK_SIMD_AVX2 = 1,     // AVX2 + FMA + F16C
    TK_SIMD_AVX512 = 2,   // AVX-512 F/BW/VL + VNNI (+ the AVX2 set)
};

/// 1 when `type` can be a weight type of `tk_gemm` (and `tk_dequantize` accepts it).
int tk_is_weight_type(uint32_t type);
/// The type the activations are converted to before a dot product with weights of `type`.
uint32_t tk_vec_dot_type(uint32_t type);
/// Elements per block and bytes per block (0 for an unknown type).
int64_t tk_block_elements(uint32_t type);
size_t tk_block_bytes(uint32_t type);

/// Dequantises `count` elements (a whole number of blocks). Accepts the weight types and Q8_0, Q8_1, Q8_K.
void tk_dequantize(uint32_t type, const void *source, float *destination, int64_t count);

/// Converts `count` floats (a whole number of blocks) to an activation type: F32, F16, BF16, Q8_0, Q8_1 or Q8_K,
/// the way ggml's CPU backend does (`quantize_row_q8_0` etc.).
void tk_quantize(uint32_t type, const float *source, void *destination, int64_t count);
/// `tk_quantize` using SIMD up to `simdLimit` (every level gives the same bytes).
void tk_quantize_limited(int simdLimit, uint32_t type, const float *source, void *destination, int64_t count);

/// out[t * outStride + r] = dot(weight row r, activation row t) for r < rows, t < tokens.
/// `weights` points at row 0 (rows are `weightRowBytes` apart, each `columns` elements of `type`);
/// `activations` at token 0 (rows `activationRowBytes` apart, already in `tk_vec_dot_type(type)`).
/// Weight blocks are read once per tile of tokens.
void tk_gemm(uint32_t type, int64_t columns, const void *weights, size_t weightRowBytes, int64_t rows,
             const void *activations, size_t activationRowBytes, int64_t tokens, float *out, int64_t outStride);

/// `tk_gemm` using SIMD up to `simdLimit` (TK_SIMD_SCALAR forces the portable code): for tests and benchmarks,
/// since every level must give the same bits.
void tk_gemm_limited(int simdLimit, uint32_t type, int64_t columns, const void *weights, size_t weightRowBytes,
                     int64_t rows, const void *activations, size_t activationRowBytes, int64_t tokens, float *out,
                     int64_t outStride);

/// The best SIMD level this CPU (and its operating system) supports.
int tk_simd_detected(void);

// MARK: - Decode attention

/// scores[h * scoresStride + j] = dot(query + h * queryStride, key j) * scale for h < heads, j < slots, keys `slots`
/// rows of `headDimension` F16 (`f16` = 1) or F32 values; the same bits as the engine's Swift dot product. Returns 0
/// (and does nothing) where the CPU lacks AVX2/F16C, so the caller uses its own loop.
int tk_attention_scores(const float *query, int64_t heads, int64_t queryStride, const void *keys, int f16,
                        int64_t slots, int64_t headDimension, float scale, float *scores, int64_t scoresStride);
/// output + h * outputStride += scores[h * scoresStride + j] * value j, j in order; 0 as above.
int tk_attention_accumulate(float *output, int64_t heads, int64_t outputStride, const void *values, int f16,
                            int64_t slots, int64_t headDimension, const float *scores, int64_t scoresStride);

// MARK: - Thread pool

typedef struct tk_pool tk_pool;
typedef void (*tk_task)(void *context, int64_t index);

/// A pool of `threads - 1` worker threads; the caller of `tk_pool_run` is the remaining one. NULL on failure.
tk_pool *tk_pool_create(int threads);
/// The same with a chosen idle spin before a worker sleeps (tk_pool_create: 200 µs; 0: sleep at once).
tk_pool *tk_pool_create_spinning(int threads, int64_t spinNanoseconds);
int tk_pool_threads(const tk_pool *pool);
/// Runs task(context, i) for every i in 0..<count, indices handed out one at a time from an atomic counter.
/// Calls from several threads at once are serialised; a call from inside a task runs its indices inline.
void tk_pool_run(tk_pool *pool, int64_t count, tk_task task, void *context);
/// Stops and joins the workers (waiting for a run in progress); later runs execute inline on the caller.
void tk_pool_shutdown(tk_pool *pool);
/// Shuts the pool down and frees it.
void tk_pool_destroy(tk_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
