// What each ggml type is to the kernels: block geometry, and which activation type its dot products use
// (ggml-cpu's type_traits_cpu[].vec_dot_type).
#include "tk_internal.h"

int64_t tk_block_elements(uint32_t type) {
    switch (type) {
    case TK_TYPE_F32: case TK_TYPE_F16: case TK_TYPE_BF16: return 1;
    case TK_TYPE_Q4_0: case TK_TYPE_Q4_1: case TK_TYPE_Q5_0: case TK_TYPE_Q5_1: case TK_TYPE_Q8_0: case TK_TYPE_Q8_1:
        return TK_QK;
    case TK_TYPE_Q2_K: case TK_TYPE_Q3_K: case TK_TYPE_Q4_K: case TK_TYPE_Q5_K: case TK_TYPE_Q6_K: case TK_TYPE_Q8_K:
        return TK_QK_K;
    default: return 0;
    }
}

size_t tk_block_bytes(uint32_t type) {
    switch (type) {
    case TK_TYPE_F32: return 4;
    case TK_TYPE_F16: case TK_TYPE_BF16: return 2;
    case TK_TYPE_Q4_0: return TK_Q4_0_BYTES;
    case TK_TYPE_Q4_1: return TK_Q4_1_BYTES;
    case TK_TYPE_Q5_0: return TK_Q5_0_BYTES;
    case TK_TYPE_Q5_1: return TK_Q5_1_BYTES;
    case TK_TYPE_Q8_0: return TK_Q8_0_BYTES;
    case TK_TYPE_Q8_1: return TK_Q8_1_BYTES;
    case TK_TYPE_Q2_K: return TK_Q2_K_BYTES;
    case TK_TYPE_Q3_K: return TK_Q3_K_BYTES;
    case TK_TYPE_Q4_K: return TK_Q4_K_BYTES;
    case TK_TYPE_Q5_K: return TK_Q5_K_BYTES;
    case TK_TYPE_Q6_K: return TK_Q6_K_BYTES;
    case TK_TYPE_Q8_K: return TK_Q8_K_BYTES;
    default: return 0;
    }
}

int tk_is_weight_type(uint32_t type) {
    switch (type) {
    case TK_TYPE_F32: case TK_TYPE_F16: case TK_TYPE_BF16:
    case TK_TYPE_Q4_0: case TK_TYPE_Q4_1: case TK_TYPE_Q5_0: case TK_TYPE_Q5_1: case TK_TYPE_Q8_0:
    case TK_TYPE_Q2_K: case TK_TYPE_Q3_K: case TK_TYPE_Q4_K: case TK_TYPE_Q5_K: case TK_TYPE_Q6_K:
        return 1;
    default: return 0;
    }
}

uint32_t tk_vec_dot_type(uint32_t type) {
    switch (type) {
    case TK_TYPE_F16: return TK_TYPE_F16;
    case TK_TYPE_BF16: return TK_TYPE_BF16;
    case TK_TYPE_Q4_0: case TK_TYPE_Q5_0: case TK_TYPE_Q8_0: return TK_TYPE_Q8_0;
    case TK_TYPE_Q4_1: case TK_TYPE_Q5_1: return TK_TYPE_Q8_1;
    case TK_TYPE_Q2_K: case TK_TYPE_Q3_K: case TK_TYPE_Q4_K: case TK_TYPE_Q5_K: case TK_TYPE_Q6_K: return TK_TYPE_Q8_K;
    default: return TK_TYPE_F32;
    }
}
