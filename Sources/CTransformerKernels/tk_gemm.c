// Run-time dispatch: the best kernel the CPU (and the caller's limit) allows, falling back a level where a type has
// no kernel at the chosen one.
#include <stdatomic.h>

#include "tk_internal.h"

static _Atomic int simdDetected = -1;

int tk_simd_detected(void) {
    int level = atomic_load_explicit(&simdDetected, memory_order_relaxed);
    if (level >= 0) return level;
    level = TK_SIMD_SCALAR;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        level = TK_SIMD_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
            level = TK_SIMD_AVX512;
        }
    }
#endif
    atomic_store_explicit(&simdDetected, level, memory_order_relaxed);
    return level;
}

void tk_gemm_limited(int simdLimit, uint32_t type, int64_t columns, const void *weights, size_t weightRowBytes,
                     int64_t rows, const void *activations, size_t activationRowBytes, int64_t tokens, float *out,
                     int64_t outStride) {
    int64_t per = tk_block_elements(type);
    if (!tk_is_weight_type(type) || per == 0 || rows <= 0 || tokens <= 0 || columns % per != 0) return;
    int level = tk_simd_detected();
    if (simdLimit < level) level = simdLimit;
    tk_gemm_kernel kernel = NULL;
    if (level >= TK_SIMD_AVX512) kernel = tk_avx512_kernel(type);
    if (kernel == NULL && level >= TK_SIMD_AVX2) kernel = tk_avx2_kernel(type);
    if (kernel == NULL) kernel = tk_scalar_kernel(type);
    kernel(columns / per, (const uint8_t *)weights, weightRowBytes, rows, (const uint8_t *)activations,
           activationRowBytes, tokens, out, outStride);
}

void tk_gemm(uint32_t type, int64_t columns, const void *weights, size_t weightRowBytes, int64_t rows,
             const void *activations, size_t activationRowBytes, int64_t tokens, float *out, int64_t outStride) {
    tk_gemm_limited(TK_SIMD_AVX512, type, columns, weights, weightRowBytes, rows, activations, activationRowBytes,
                    tokens, out, outStride);
}
