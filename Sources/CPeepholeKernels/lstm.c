// The LSTM cell update of the compute core's default activations, and one-hot detection.
// The scalar code is the definition; the vector versions run the same operations per lane
// (explicit fused multiply-adds everywhere, nothing left to the compiler's contraction).

#include "peephole_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Cephes expf constants: n = round(x / ln 2) by adding 1.5·2²³, r = x - n·ln 2 in two parts,
// a degree-6 polynomial, 2ⁿ through the exponent field.
#define EXP_HI 88.0f
#define EXP_LO (-87.0f)
#define LOG2E 1.44269504f
#define SHIFTER 12582912.0f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

// ---- scalar: the definition -------------------------------------------------------------

static inline float exp_s(float x) {
    x = EXP_HI < x ? EXP_HI : x;
    x = EXP_LO > x ? EXP_LO : x;
    float shifted = fmaf(x, LOG2E, SHIFTER);
    float n = shifted - SHIFTER;
    float r = fmaf(n, -LN2_HI, x);
    r = fmaf(n, -LN2_LO, r);
    float p = fmaf(P0, r, P1);
    p = fmaf(p, r, P2);
    p = fmaf(p, r, P3);
    p = fmaf(p, r, P4);
    p = fmaf(p, r, P5);
    float y = fmaf(p, r * r, r) + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    int32_t exponent = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &exponent, sizeof scale);
    return y * scale;
}

static inline float sigmoid_s(float x) { return 1.0f / (1.0f + exp_s(-x)); }

static inline float tanh_s(float x) {
    float t = 1.0f - 2.0f / (exp_s(2.0f * fabsf(x)) + 1.0f);
    return x < 0 ? 0.0f - t : t;
}

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

#define T512 __attribute__((target("avx512f"))) static inline

T512 __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(EXP_HI), x);
    x = _mm512_max_ps(_mm512_set1_ps(EXP_LO), x);
    __m512 shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(LOG2E), _mm512_set1_ps(SHIFTER));
    __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(SHIFTER));
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_HI), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(P0), r, _mm512_set1_ps(P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P5));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i exponent = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000)), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(exponent));
}

T512 __m512 sigmoid512(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

T512 __m512 tanh512(__m512 x) {
    __m512 magnitude = _mm512_abs_ps(x);
    __m512 e = exp512(_mm512_mul_ps(_mm512_set1_ps(2.0f), magnitude));
    __m512 t = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_sub_ps(t, negative, _mm512_setzero_ps(), t);
}

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

#define T256 __attribute__((target("avx2,fma"))) static inline

T256 __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(EXP_HI), x);
    x = _mm256_max_ps(_mm256_set1_ps(EXP_LO), x);
    __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), _mm256_set1_ps(SHIFTER));
    __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(SHIFTER));
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(P0), r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P5));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i exponent = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000)), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(exponent));
}

T256 __m256 sigmoid256(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

T256 __m256 tanh256(__m256 x) {
    __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 e = exp256(_mm256_mul_ps(_mm256_set1_ps(2.0f), magnitude));
    __m256 t = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(t, _mm256_sub_ps(_mm256_setzero_ps(), t), negative);
}

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
