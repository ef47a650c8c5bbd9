// The one matrix kernel of the compute core: a row-block times a packed matrix, accumulated
// with one fused multiply-add per term in order, so results never depend on the batch size.
// Vector versions for AVX-512 and AVX2 (chosen at run time) compute exactly what the scalar
// version computes: each vector lane runs the same chain of fmaf calls. The file runs a little
// over 250 lines because the three versions stay side by side, where that equality can be read.

#include "peephole_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

size_t pk_packed_count(size_t k, size_t n) {
    return (n + PK_PANEL - 1) / PK_PANEL * k * PK_PANEL;
}

void pk_pack(const float *w, size_t k, size_t n, float *packed) {
    size_t panels = (n + PK_PANEL - 1) / PK_PANEL;
    for (size_t p = 0; p < panels; p++) {
        for (size_t i = 0; i < k; i++) {
            float *to = packed + (p * k + i) * PK_PANEL;
            for (size_t j = 0; j < PK_PANEL; j++) {
                size_t column = p * PK_PANEL + j;
                to[j] = column < n ? w[i * n + column] : 0.0f;
            }
        }
    }
}

pk_isa pk_best_isa(void) {
#if defined(__x86_64__)
    static int cached = -1;
    int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (isa < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) {
            isa = PK_ISA_AVX512;
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            isa = PK_ISA_AVX2;
        } else {
            isa = PK_ISA_SCALAR;
        }
        __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
    }
    return (pk_isa)isa;
#else
    return PK_ISA_SCALAR;
#endif
}

// ---- scalar: the definition -------------------------------------------------------------

// rows × PK_PANEL block; c has leading dimension ldc and PK_PANEL valid columns.
static void block_scalar(const float *a, size_t lda, size_t rows, const float *panel, size_t k, float *c, size_t ldc) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < PK_PANEL; j++) {
            float acc = c[r * ldc + j];
            for (size_t i = 0; i < k; i++) acc = fmaf(a[r * lda + i], panel[i * PK_PANEL + j], acc);
            c[r * ldc + j] = acc;
        }
    }
}

#if defined(__x86_64__)

// ---- AVX-512: 16 lanes, a panel is 4 vectors ---------------------------------------------

// R rows × one panel: 4R accumulators.
#define K512(R)                                                                                        \
    __attribute__((target("avx512f"))) static void block512_##R(const float *a, size_t lda,          \
                                                                const float *panel, size_t k,         \
                                                                float *c, size_t ldc) {               \
        __m512 acc[R][4];                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_loadu_ps(c + r * ldc + 16 * v);           \
        for (size_t i = 0; i < k; i++) {                                                             \
            const float *w = panel + i * PK_PANEL;                                                   \
            __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);                            \
            __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);                       \
            for (int r = 0; r < R; r++) {                                                            \
                __m512 x = _mm512_set1_ps(a[r * lda + i]);                                           \
                acc[r][0] = _mm512_fmadd_ps(x, w0, acc[r][0]);                                       \
                acc[r][1] = _mm512_fmadd_ps(x, w1, acc[r][1]);                                       \
                acc[r][2] = _mm512_fmadd_ps(x, w2, acc[r][2]);                                       \
                acc[r][3] = _mm512_fmadd_ps(x, w3, acc[r][3]);                                       \
            }                                                                                        \
        }                                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int v = 0; v < 4; v++) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);           \
    }
K512(1)
K512(2)
K512(3)
K512(4)
K512(5)
K512(6)

// One row × two panels: 8 independent chains keep both FMA pipes busy for a single sequence.
__attribute__((target("avx512f"))) static void row512_two_panels(const float *a, const float *p0, const float *p1,
                                                                   size_t k, float *c0, float *c1) {
    __m512 s0 = _mm512_loadu_ps(c0), s1 = _mm512_loadu_ps(c0 + 16), s2 = _mm512_loadu_ps(c0 + 32), s3 = _mm512_loadu_ps(c0 + 48);
    __m512 t0 = _mm512_loadu_ps(c1), t1 = _mm512_loadu_ps(c1 + 16), t2 = _mm512_loadu_ps(c1 + 32), t3 = _mm512_loadu_ps(c1 + 48);
    for (size_t i = 0; i < k; i++) {
        __m512 x = _mm512_set1_ps(a[i]);
        const float *u = p0 + i * PK_PANEL, *w = p1 + i * PK_PANEL;
        s0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(u), s0);
        s1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(u + 16), s1);
        s2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(u + 32), s2);
        s3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(u + 48), s3);
        t0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w), t0);
        t1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + 16), t1);
        t2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + 32), t2);
        t3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + 48), t3);
    }
    _mm512_storeu_ps(c0, s0); _mm512_storeu_ps(c0 + 16, s1); _mm512_storeu_ps(c0 + 32, s2); _mm512_storeu_ps(c0 + 48, s3);
    _mm512_storeu_ps(c1, t0); _mm512_storeu_ps(c1 + 16, t1); _mm512_storeu_ps(c1 + 32, t2); _mm512_storeu_ps(c1 + 48, t3);
}

static void block512(const float *a, size_t lda, size_t rows, const float *panel, size_t k, float *c, size_t ldc) {
    switch (rows) {
    case 1: block512_1(a, lda, panel, k, c, ldc); break;
    case 2: block512_2(a, lda, panel, k, c, ldc); break;
    case 3: block512_3(a, lda, panel, k, c, ldc); break;
    case 4: block512_4(a, lda, panel, k, c, ldc); break;
    case 5: block512_5(a, lda, panel, k, c, ldc); break;
    default: block512_6(a, lda, panel, k, c, ldc); break;
    }
}

// ---- AVX2: 8 lanes, a panel is 8 vectors --------------------------------------------------

// R rows × half a panel (32 columns): 4R accumulators, at most 12 of the 16 registers.
#define K256(R)                                                                                        \
    __attribute__((target("avx2,fma"))) static void half256_##R(const float *a, size_t lda,          \
                                                                 const float *panel, size_t k,        \
                                                                 float *c, size_t ldc) {              \
        __m256 acc[R][4];                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int v = 0; v < 4; v++) acc[r][v] = _mm256_loadu_ps(c + r * ldc + 8 * v);            \
        for (size_t i = 0; i < k; i++) {                                                             \
            const float *w = panel + i * PK_PANEL;                                                   \
            for (int r = 0; r < R; r++) {                                                            \
                __m256 x = _mm256_set1_ps(a[r * lda + i]);                                           \
                for (int v = 0; v < 4; v++)                                                          \
                    acc[r][v] = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8 * v), acc[r][v]);           \
            }                                                                                        \
        }                                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int v = 0; v < 4; v++) _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);            \
    }
K256(1)
K256(2)
K256(3)

// One row × a whole panel: 8 chains.
__attribute__((target("avx2,fma"))) static void row256(const float *a, const float *panel, size_t k, float *c) {
    __m256 acc[8];
    for (int v = 0; v < 8; v++) acc[v] = _mm256_loadu_ps(c + 8 * v);
    for (size_t i = 0; i < k; i++) {
        __m256 x = _mm256_set1_ps(a[i]);
        const float *w = panel + i * PK_PANEL;
        for (int v = 0; v < 8; v++) acc[v] = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8 * v), acc[v]);
    }
    for (int v = 0; v < 8; v++) _mm256_storeu_ps(c + 8 * v, acc[v]);
}

static void block256(const float *a, size_t lda, size_t rows, const float *panel, size_t k, float *c, size_t ldc) {
    if (rows == 1) { row256(a, panel, k, c); return; }
    for (size_t half = 0; half < PK_PANEL; half += 32) {
        for (size_t r = 0; r < rows; r += 3) {
            size_t left = rows - r;
            const float *ar = a + r * lda, *ph = panel + half;
            float *cr = c + r * ldc + half;
            if (left >= 3) half256_3(ar, lda, ph, k, cr, ldc);
            else if (left == 2) half256_2(ar, lda, ph, k, cr, ldc);
            else half256_1(ar, lda, ph, k, cr, ldc);
        }
    }
}

#endif

// ---- driver -----------------------------------------------------------------------------

// The most rows one block call takes.
#define BLOCK_ROWS 6

static void block(pk_isa isa, const float *a, size_t lda, size_t rows, const float *panel, size_t k, float *c, size_t ldc) {
#if defined(__x86_64__)
    if (isa == PK_ISA_AVX512) { block512(a, lda, rows, panel, k, c, ldc); return; }
    if (isa == PK_ISA_AVX2) { block256(a, lda, rows, panel, k, c, ldc); return; }
#endif
    (void)isa;
    block_scalar(a, lda, rows, panel, k, c, ldc);
}

// Terms are added in chunks of this many rows of the packed matrix, so that a chunk of a panel
// (KC × PK_PANEL floats, 32 KB) stays in the L1 cache while every row block of `a` passes over
// it. Each chunk continues the previous chunk's sums from `c`, so the order of terms is kept.
#define KC 128

// One panel's columns for every row block of `a`, terms i0 ..< i0 + kc.
static void panel_rows(pk_isa isa, const float *a, size_t lda, size_t rows, const float *packed, size_t k,
                       size_t i0, size_t kc, size_t n, size_t p, float *c, size_t ldc) {
    const float *panel = packed + (p * k + i0) * PK_PANEL;
    size_t column = p * PK_PANEL, width = n - column < PK_PANEL ? n - column : PK_PANEL;
    for (size_t r = 0; r < rows; r += BLOCK_ROWS) {
        size_t count = rows - r < BLOCK_ROWS ? rows - r : BLOCK_ROWS;
        const float *ar = a + r * lda + i0;
        if (width == PK_PANEL) {
            block(isa, ar, lda, count, panel, kc, c + r * ldc + column, ldc);
        } else {
            // The last, partial panel runs on a padded copy of its columns.
            float padded[BLOCK_ROWS * PK_PANEL];
            memset(padded, 0, sizeof padded);
            for (size_t i = 0; i < count; i++) memcpy(padded + i * PK_PANEL, c + (r + i) * ldc + column, width * sizeof(float));
            block(isa, ar, lda, count, panel, kc, padded, PK_PANEL);
            for (size_t i = 0; i < count; i++) memcpy(c + (r + i) * ldc + column, padded + i * PK_PANEL, width * sizeof(float));
        }
    }
}

// Panels, or pairs of full panels (one row under AVX-512), p and p + 1.
static void pair_or_panel(pk_isa isa, const float *a, size_t lda, size_t rows, const float *packed, size_t k,
                          size_t i0, size_t kc, size_t n, size_t p, int pair, float *c, size_t ldc) {
#if defined(__x86_64__)
    if (pair) {
        row512_two_panels(a + i0, packed + (p * k + i0) * PK_PANEL, packed + ((p + 1) * k + i0) * PK_PANEL, kc,
                          c + p * PK_PANEL, c + (p + 1) * PK_PANEL);
        return;
    }
#endif
    (void)pair;
    panel_rows(isa, a, lda, rows, packed, k, i0, kc, n, p, c, ldc);
}

static void chunk(pk_isa isa, const float *a, size_t lda, size_t rows, const float *packed, size_t k,
                  size_t i0, size_t kc, size_t n, float *c, size_t ldc, int reverse) {
    size_t panels = (n + PK_PANEL - 1) / PK_PANEL;
    // A single row takes full panels two at a time under AVX-512: 8 chains for the 2 FMA pipes.
    size_t paired = rows == 1 && isa == PK_ISA_AVX512 ? n / PK_PANEL / 2 * 2 : 0;
    if (!reverse) {
        for (size_t p = 0; p < paired; p += 2) pair_or_panel(isa, a, lda, rows, packed, k, i0, kc, n, p, 1, c, ldc);
        for (size_t p = paired; p < panels; p++) pair_or_panel(isa, a, lda, rows, packed, k, i0, kc, n, p, 0, c, ldc);
    } else {
        for (size_t p = panels; p-- > paired;) pair_or_panel(isa, a, lda, rows, packed, k, i0, kc, n, p, 0, c, ldc);
        for (size_t p = paired; p >= 2; p -= 2) pair_or_panel(isa, a, lda, rows, packed, k, i0, kc, n, p - 2, 1, c, ldc);
    }
}

void pk_matmul_acc(pk_isa isa, const float *a, size_t lda, size_t rows,
                   const float *packed, size_t k, size_t n, float *c, size_t ldc, int reverse_panels) {
    if (isa > pk_best_isa()) isa = pk_best_isa();
    for (size_t i0 = 0; i0 < k; i0 += KC) {
        chunk(isa, a, lda, rows, packed, k, i0, k - i0 < KC ? k - i0 : KC, n, c, ldc, reverse_panels);
    }
}
