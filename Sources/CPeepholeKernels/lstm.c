// The LSTM cell update of the compute core's default activations, and one-hot detection.
// The scalar code is the definition; the vector versions run the same operations per lane
// (explicit fused multiply-adds everywhere, nothing left to the compiler's contraction).

#include "peephole_kernels.h"

#include "vector_math.h"

// Units `from..<units` of one row.
static void cell_scalar(const float *z, float *gates, float *c, float *h, size_t units, size_t from) {
    for (size_t u = from; u < units; u++) {
        float i = sigmoid_s(z[u]), f = sigmoid_s(z[units + u]);
        float g = tanh_s(z[2 * units + u]), o = sigmoid_s(z[3 * units + u]);
        gates[u] = i; gates[units + u] = f; gates[2 * units + u] = g; gates[3 * units + u] = o;
        float cell = fmaf(f, c[u], i * g);
        c[u] = cell;
        h[u] = o * tanh_s(cell);
    }
}

#if defined(__x86_64__)

// ---- AVX-512 ----------------------------------------------------------------------------

__attribute__((target("avx512f"))) static void cell512(const float *z, float *gates, float *c, float *h, size_t units) {
    size_t u = 0;
    for (; u + 16 <= units; u += 16) {
        __m512 i = sigmoid512(_mm512_loadu_ps(z + u)), f = sigmoid512(_mm512_loadu_ps(z + units + u));
        __m512 g = tanh512(_mm512_loadu_ps(z + 2 * units + u)), o = sigmoid512(_mm512_loadu_ps(z + 3 * units + u));
        _mm512_storeu_ps(gates + u, i); _mm512_storeu_ps(gates + units + u, f);
        _mm512_storeu_ps(gates + 2 * units + u, g); _mm512_storeu_ps(gates + 3 * units + u, o);
        __m512 cell = _mm512_fmadd_ps(f, _mm512_loadu_ps(c + u), _mm512_mul_ps(i, g));
        _mm512_storeu_ps(c + u, cell);
        _mm512_storeu_ps(h + u, _mm512_mul_ps(o, tanh512(cell)));
    }
    cell_scalar(z, gates, c, h, units, u);
}

// ---- AVX2 -------------------------------------------------------------------------------

__attribute__((target("avx2,fma"))) static void cell256(const float *z, float *gates, float *c, float *h, size_t units) {
    size_t u = 0;
    for (; u + 8 <= units; u += 8) {
        __m256 i = sigmoid256(_mm256_loadu_ps(z + u)), f = sigmoid256(_mm256_loadu_ps(z + units + u));
        __m256 g = tanh256(_mm256_loadu_ps(z + 2 * units + u)), o = sigmoid256(_mm256_loadu_ps(z + 3 * units + u));
        _mm256_storeu_ps(gates + u, i); _mm256_storeu_ps(gates + units + u, f);
        _mm256_storeu_ps(gates + 2 * units + u, g); _mm256_storeu_ps(gates + 3 * units + u, o);
        __m256 cell = _mm256_fmadd_ps(f, _mm256_loadu_ps(c + u), _mm256_mul_ps(i, g));
        _mm256_storeu_ps(c + u, cell);
        _mm256_storeu_ps(h + u, _mm256_mul_ps(o, tanh256(cell)));
    }
    cell_scalar(z, gates, c, h, units, u);
}

#endif

void pk_lstm_cell(pk_isa isa, const float *z, float *gates, float *c, float *h, size_t units) {
    if (isa > pk_best_isa()) isa = pk_best_isa();
#if defined(__x86_64__)
    if (isa == PK_ISA_AVX512) { cell512(z, gates, c, h, units); return; }
    if (isa == PK_ISA_AVX2) { cell256(z, gates, c, h, units); return; }
#endif
    cell_scalar(z, gates, c, h, units, 0);
}

// Branch-free, so the compiler vectorises it: per row, count the non-zeros and the ones and
// sum the positions of the non-zeros; a one-hot row has one of each.
#define ONE_HOT_BODY                                                                               \
    for (size_t r = 0; r < rows; r++) {                                                            \
        const float *row = data + r * width;                                                       \
        int32_t nonzero = 0, ones = 0, position = 0;                                               \
        for (int32_t j = 0; j < (int32_t)width; j++) {                                             \
            nonzero += row[j] != 0.0f;                                                             \
            ones += row[j] == 1.0f;                                                                \
            position += row[j] != 0.0f ? j : 0;                                                    \
        }                                                                                          \
        if (nonzero != 1 || ones != 1) return 0;                                                   \
        indices[r] = position;                                                                     \
    }                                                                                              \
    return 1;

static int one_hot_scalar(const float *data, size_t rows, size_t width, long *indices) { ONE_HOT_BODY }
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static int one_hot512(const float *data, size_t rows, size_t width, long *indices) { ONE_HOT_BODY }
__attribute__((target("avx2"))) static int one_hot256(const float *data, size_t rows, size_t width, long *indices) { ONE_HOT_BODY }
#endif

int pk_one_hot_indices(const float *data, size_t rows, size_t width, long *indices) {
    if (width == 0 || width > INT32_MAX) return 0;
#if defined(__x86_64__)
    if (pk_best_isa() == PK_ISA_AVX512) return one_hot512(data, rows, width, indices);
    if (pk_best_isa() == PK_ISA_AVX2) return one_hot256(data, rows, width, indices);
#endif
    return one_hot_scalar(data, rows, width, indices);
}
