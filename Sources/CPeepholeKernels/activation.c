// Every activation the compute core computes, in one place.
//
// Layer activations (Dense, Activation) follow Keras' definitions with libm, element by element,
// with no contraction into fused multiply-adds, so a layer's output is what the formula gives
// in float32. The gates of the recurrent cells take sigmoid and tanh from vector_math.h (Cephes'
// expf, vectorised, the same on every instruction set) because they run at every step; the
// other gate activations are the layer definitions below.

#pragma STDC FP_CONTRACT OFF

#include "peephole_kernels.h"
#include "vector_math.h"

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

static inline float max0(float x) { return 0.0f >= x ? 0.0f : x; }

static inline float sigmoid_libm(float x) {
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

float pk_activation_scalar(pk_activation kind, float x) {
    switch (kind) {
    case PK_LINEAR: return x;
    case PK_RELU: return max0(x);
    case PK_SIGMOID: return sigmoid_libm(x);
    case PK_TANH: return tanhf(x);
    case PK_ELU: return x > 0 ? x : expm1f(x);
    case PK_SELU: return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * expm1f(x));
    case PK_SOFTPLUS: return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case PK_SOFTSIGN: return x / (1.0f + fabsf(x));
    case PK_SWISH: return x * sigmoid_libm(x);
    case PK_GELU: return 0.5f * x * (1.0f + erff(x / 1.41421356f));
    case PK_EXPONENTIAL: return expf(x);
    case PK_HARD_SIGMOID: { float y = max0(x + 3.0f); return (6.0f < y ? 6.0f : y) / 6.0f; }
    case PK_HARD_SIGMOID_KERAS2: { float y = max0(0.2f * x + 0.5f); return 1.0f < y ? 1.0f : y; }
    case PK_LEAKY_RELU: return x > 0 ? x : 0.2f * x;
    case PK_SOFTMAX: break;
    }
    return x;  // softmax needs its row: see pk_activate
}

// Numerically stable softmax of one row, in place.
static void softmax_row(float *row, size_t count) {
    float largest = -INFINITY;
    for (size_t i = 0; i < count; i++) largest = row[i] >= largest ? row[i] : largest;
    float sum = 0;
    for (size_t i = 0; i < count; i++) {
        row[i] = expf(row[i] - largest);
        sum += row[i];
    }
    for (size_t i = 0; i < count; i++) row[i] /= sum;
}

void pk_activate(pk_activation kind, float *values, size_t count, size_t width) {
    if (kind == PK_LINEAR) return;
    if (kind == PK_SOFTMAX) {
        for (size_t row = 0; row + width <= count; row += width) softmax_row(values + row, width);
        return;
    }
    for (size_t i = 0; i < count; i++) values[i] = pk_activation_scalar(kind, values[i]);
}

// ---- gate activations ---------------------------------------------------------------------

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void sigmoid_tanh512(int use_tanh, float *v, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 x = _mm512_loadu_ps(v + i);
        _mm512_storeu_ps(v + i, use_tanh ? tanh512(x) : sigmoid512(x));
    }
    for (; i < count; i++) v[i] = use_tanh ? tanh_s(v[i]) : sigmoid_s(v[i]);
}

__attribute__((target("avx2,fma"))) static void sigmoid_tanh256(int use_tanh, float *v, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        _mm256_storeu_ps(v + i, use_tanh ? tanh256(x) : sigmoid256(x));
    }
    for (; i < count; i++) v[i] = use_tanh ? tanh_s(v[i]) : sigmoid_s(v[i]);
}
#endif

void pk_gate_activate(pk_isa isa, pk_activation kind, float *values, size_t count) {
    if (kind != PK_SIGMOID && kind != PK_TANH) {
        pk_activate(kind, values, count, count);
        return;
    }
    int use_tanh = kind == PK_TANH;
    if (isa > pk_best_isa()) isa = pk_best_isa();
#if defined(__x86_64__)
    if (isa == PK_ISA_AVX512) { sigmoid_tanh512(use_tanh, values, count); return; }
    if (isa == PK_ISA_AVX2) { sigmoid_tanh256(use_tanh, values, count); return; }
#endif
    for (size_t i = 0; i < count; i++) values[i] = use_tanh ? tanh_s(values[i]) : sigmoid_s(values[i]);
}

#define ADD_BODY for (size_t i = 0; i < count; i++) result[i] = a[i] + b[i];
static void add_scalar(const float *a, const float *b, float *result, size_t count) { ADD_BODY }
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void add512(const float *a, const float *b, float *result, size_t count) { ADD_BODY }
__attribute__((target("avx2"))) static void add256(const float *a, const float *b, float *result, size_t count) { ADD_BODY }
#endif

// An addition is exact in every lane width, so this picks the widest without changing a value.
void pk_add(const float *a, const float *b, float *result, size_t count) {
#if defined(__x86_64__)
    if (pk_best_isa() == PK_ISA_AVX512) { add512(a, b, result, count); return; }
    if (pk_best_isa() == PK_ISA_AVX2) { add256(a, b, result, count); return; }
#endif
    add_scalar(a, b, result, count);
}
