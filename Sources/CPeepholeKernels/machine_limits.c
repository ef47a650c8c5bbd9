// What this machine allows one core, for `peephole-bench` to set the engine's figures against:
// how fast one thread moves floats (a STREAM-style copy) and how many fused multiply-adds one
// core retires per second. Nothing in the compute core calls these; the caller times them.
//
// Copy: `dst[i] = src[i]` with ordinary vector loads and stores, as STREAM's Copy compiles
// (no non-temporal stores, so the figure is what a kernel that writes its results sees); STREAM
// counts the bytes read plus the bytes written, 8 per float. The loop is written with intrinsics
// so the compiler cannot turn it into a call to memcpy, whose large-size path is a different
// (non-temporal) copy.
//
// Read: a sum over `src`, the traffic of a kernel that only streams weights.
//
// Peak: independent chains `acc = fma(acc, m, a)`, more chains than the FMA pipes' latency times
// their number (Zen 4: 2 pipes × 4 cycles), so every cycle issues an FMA on every pipe.

#include "peephole_kernels.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void copy512(const float *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 64 <= count; i += 64) {
        __m512 a = _mm512_loadu_ps(src + i), b = _mm512_loadu_ps(src + i + 16);
        __m512 c = _mm512_loadu_ps(src + i + 32), d = _mm512_loadu_ps(src + i + 48);
        _mm512_storeu_ps(dst + i, a); _mm512_storeu_ps(dst + i + 16, b);
        _mm512_storeu_ps(dst + i + 32, c); _mm512_storeu_ps(dst + i + 48, d);
    }
    for (; i < count; i++) dst[i] = src[i];
}

__attribute__((target("avx2"))) static void copy256(const float *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256 a = _mm256_loadu_ps(src + i), b = _mm256_loadu_ps(src + i + 8);
        __m256 c = _mm256_loadu_ps(src + i + 16), d = _mm256_loadu_ps(src + i + 24);
        _mm256_storeu_ps(dst + i, a); _mm256_storeu_ps(dst + i + 8, b);
        _mm256_storeu_ps(dst + i + 16, c); _mm256_storeu_ps(dst + i + 24, d);
    }
    for (; i < count; i++) dst[i] = src[i];
}

__attribute__((target("avx512f"))) static float sum512(const float *src, size_t count) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= count; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(src + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(src + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(src + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_loadu_ps(src + i + 48));
    }
    float total = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    for (; i < count; i++) total += src[i];
    return total;
}

__attribute__((target("avx2"))) static float sum256(const float *src, size_t count) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(src + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(src + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(src + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(src + i + 24));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    float total = 0;
    for (int v = 0; v < 8; v++) total += lanes[v];
    for (; i < count; i++) total += src[i];
    return total;
}

// 24 chains of 16 lanes: 24 of the 32 zmm registers, more than the 8 in flight the pipes need.
__attribute__((target("avx512f"))) static float fma512(size_t iterations) {
    __m512 acc[24];
    for (int c = 0; c < 24; c++) acc[c] = _mm512_set1_ps((float)c * 1e-3f);
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (size_t i = 0; i < iterations; i++)
        for (int c = 0; c < 24; c++) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
    __m512 total = acc[0];
    for (int c = 1; c < 24; c++) total = _mm512_add_ps(total, acc[c]);
    return _mm512_reduce_add_ps(total);
}

// 12 chains of 8 lanes: 12 of the 16 ymm registers, the other two hold the constants.
__attribute__((target("avx2,fma"))) static float fma256(size_t iterations) {
    __m256 acc[12];
    for (int c = 0; c < 12; c++) acc[c] = _mm256_set1_ps((float)c * 1e-3f);
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (size_t i = 0; i < iterations; i++)
        for (int c = 0; c < 12; c++) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
    float lanes[8], total = 0;
    for (int c = 1; c < 12; c++) acc[0] = _mm256_add_ps(acc[0], acc[c]);
    _mm256_storeu_ps(lanes, acc[0]);
    for (int v = 0; v < 8; v++) total += lanes[v];
    return total;
}
#endif

void pk_copy_floats(pk_isa isa, const float *src, float *dst, size_t count) {
#if defined(__x86_64__)
    if (isa == PK_ISA_AVX512) { copy512(src, dst, count); return; }
    if (isa == PK_ISA_AVX2) { copy256(src, dst, count); return; }
#endif
    for (size_t i = 0; i < count; i++) dst[i] = src[i];
}

float pk_sum_floats(pk_isa isa, const float *src, size_t count) {
#if defined(__x86_64__)
    if (isa == PK_ISA_AVX512) return sum512(src, count);
    if (isa == PK_ISA_AVX2) return sum256(src, count);
#endif
    float total = 0;
    for (size_t i = 0; i < count; i++) total += src[i];
    return total;
}

size_t pk_fma_chains(pk_isa isa, size_t iterations, float *sink) {
#if defined(__x86_64__)
    if (isa == PK_ISA_AVX512) { *sink = fma512(iterations); return iterations * 24 * 16; }
    if (isa == PK_ISA_AVX2) { *sink = fma256(iterations); return iterations * 12 * 8; }
#endif
    float acc[8] = {0, 1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f, 7e-3f};
    for (size_t i = 0; i < iterations; i++)
        for (int c = 0; c < 8; c++) acc[c] = fmaf(acc[c], 0.999999f, 1e-7f);
    *sink = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    return iterations * 8;
}
