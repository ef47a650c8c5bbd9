// The GRU and the general LSTM cell updates: gate activations from activation.c, the rest
// element-wise. One row at a time, so a row's values never depend on its batch.

#pragma STDC FP_CONTRACT OFF

#include "peephole_kernels.h"
#include "vector_math.h"

#include <math.h>
#include <string.h>

// ---- sigmoid gates and tanh candidate (Keras' defaults): one pass, vectorised ---------------
// Every lane runs the same operations as the scalar loop (no fused multiply-adds: the pragma
// above and explicit mul/add intrinsics), so the values do not depend on the instruction set.

// z and r: x += recurrent (when given), gates = sigmoid(x); units `from..<count`.
static void gates_scalar(float *x, const float *recurrent, float *gates, size_t count, size_t from) {
    for (size_t u = from; u < count; u++) {
        float v = recurrent ? x[u] + recurrent[u] : x[u];
        x[u] = v;
        gates[u] = sigmoid_s(v);
    }
}

// hh and h: x_h += r ⊙ recurrent_h (when given), hh = tanh(x_h), h = z·h + (1 − z)·hh.
static void update_scalar(float *x_h, const float *recurrent_h, float *gates, float *h, size_t units, size_t from) {
    const float *z = gates, *r = gates + units;
    float *hh = gates + 2 * units;
    for (size_t u = from; u < units; u++) {
        float v = recurrent_h ? x_h[u] + r[u] * recurrent_h[u] : x_h[u];
        x_h[u] = v;
        hh[u] = tanh_s(v);
        h[u] = z[u] * h[u] + (1.0f - z[u]) * hh[u];
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void gates512(float *x, const float *recurrent, float *gates, size_t count) {
    size_t u = 0;
    for (; u + 16 <= count; u += 16) {
        __m512 v = _mm512_loadu_ps(x + u);
        if (recurrent) v = _mm512_add_ps(v, _mm512_loadu_ps(recurrent + u));
        _mm512_storeu_ps(x + u, v);
        _mm512_storeu_ps(gates + u, sigmoid512(v));
    }
    gates_scalar(x, recurrent, gates, count, u);
}

__attribute__((target("avx512f"))) static void update512(float *x_h, const float *recurrent_h, float *gates, float *h, size_t units) {
    const float *z = gates, *r = gates + units;
    float *hh = gates + 2 * units;
    size_t u = 0;
    for (; u + 16 <= units; u += 16) {
        __m512 v = _mm512_loadu_ps(x_h + u);
        if (recurrent_h) v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_loadu_ps(r + u), _mm512_loadu_ps(recurrent_h + u)));
        _mm512_storeu_ps(x_h + u, v);
        __m512 candidate = tanh512(v), gate = _mm512_loadu_ps(z + u);
        _mm512_storeu_ps(hh + u, candidate);
        __m512 kept = _mm512_mul_ps(gate, _mm512_loadu_ps(h + u));
        __m512 fresh = _mm512_mul_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), gate), candidate);
        _mm512_storeu_ps(h + u, _mm512_add_ps(kept, fresh));
    }
    update_scalar(x_h, recurrent_h, gates, h, units, u);
}

__attribute__((target("avx2,fma"))) static void gates256(float *x, const float *recurrent, float *gates, size_t count) {
    size_t u = 0;
    for (; u + 8 <= count; u += 8) {
        __m256 v = _mm256_loadu_ps(x + u);
        if (recurrent) v = _mm256_add_ps(v, _mm256_loadu_ps(recurrent + u));
        _mm256_storeu_ps(x + u, v);
        _mm256_storeu_ps(gates + u, sigmoid256(v));
    }
    gates_scalar(x, recurrent, gates, count, u);
}

__attribute__((target("avx2,fma"))) static void update256(float *x_h, const float *recurrent_h, float *gates, float *h, size_t units) {
    const float *z = gates, *r = gates + units;
    float *hh = gates + 2 * units;
    size_t u = 0;
    for (; u + 8 <= units; u += 8) {
        __m256 v = _mm256_loadu_ps(x_h + u);
        if (recurrent_h) v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_loadu_ps(r + u), _mm256_loadu_ps(recurrent_h + u)));
        _mm256_storeu_ps(x_h + u, v);
        __m256 candidate = tanh256(v), gate = _mm256_loadu_ps(z + u);
        _mm256_storeu_ps(hh + u, candidate);
        __m256 kept = _mm256_mul_ps(gate, _mm256_loadu_ps(h + u));
        __m256 fresh = _mm256_mul_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), gate), candidate);
        _mm256_storeu_ps(h + u, _mm256_add_ps(kept, fresh));
    }
    update_scalar(x_h, recurrent_h, gates, h, units, u);
}
#endif

void pk_lstm_cell_general(pk_isa isa, pk_activation activation, pk_activation recurrent_activation,
                          const float *z, float *gates, float *c, float *h, size_t units) {
    memcpy(gates, z, 4 * units * sizeof(float));
    pk_gate_activate(isa, recurrent_activation, gates, 2 * units);
    pk_gate_activate(isa, activation, gates + 2 * units, units);
    pk_gate_activate(isa, recurrent_activation, gates + 3 * units, units);
    const float *i = gates, *f = gates + units, *g = gates + 2 * units, *o = gates + 3 * units;
    for (size_t u = 0; u < units; u++) {
        c[u] = fmaf(f[u], c[u], i[u] * g[u]);
        h[u] = c[u];
    }
    pk_gate_activate(isa, activation, h, units);
    for (size_t u = 0; u < units; u++) h[u] = o[u] * h[u];
}

void pk_gru_gates(pk_isa isa, pk_activation recurrent_activation, float *x, const float *recurrent,
                  float *gates, const float *h, float *reset_h, size_t units) {
    if (isa > pk_best_isa()) isa = pk_best_isa();
    if (recurrent_activation == PK_SIGMOID) {
#if defined(__x86_64__)
        if (isa == PK_ISA_AVX512) gates512(x, recurrent, gates, 2 * units);
        else if (isa == PK_ISA_AVX2) gates256(x, recurrent, gates, 2 * units);
        else
#endif
        gates_scalar(x, recurrent, gates, 2 * units, 0);
        if (reset_h) {
            for (size_t u = 0; u < units; u++) reset_h[u] = gates[units + u] * h[u];
        }
        return;
    }
    if (recurrent) {
        for (size_t u = 0; u < 2 * units; u++) x[u] = x[u] + recurrent[u];
    }
    memcpy(gates, x, 2 * units * sizeof(float));
    pk_gate_activate(isa, recurrent_activation, gates, 2 * units);
    if (reset_h) {
        for (size_t u = 0; u < units; u++) reset_h[u] = gates[units + u] * h[u];
    }
}

void pk_gru_update(pk_isa isa, pk_activation activation, float *x_h, const float *recurrent_h,
                   float *gates, float *h, size_t units) {
    if (isa > pk_best_isa()) isa = pk_best_isa();
    if (activation == PK_TANH) {
#if defined(__x86_64__)
        if (isa == PK_ISA_AVX512) { update512(x_h, recurrent_h, gates, h, units); return; }
        if (isa == PK_ISA_AVX2) { update256(x_h, recurrent_h, gates, h, units); return; }
#endif
        update_scalar(x_h, recurrent_h, gates, h, units, 0);
        return;
    }
    const float *z = gates, *r = gates + units;
    float *hh = gates + 2 * units;
    if (recurrent_h) {
        for (size_t u = 0; u < units; u++) x_h[u] = x_h[u] + r[u] * recurrent_h[u];
    }
    memcpy(hh, x_h, units * sizeof(float));
    pk_gate_activate(isa, activation, hh, units);
    for (size_t u = 0; u < units; u++) h[u] = z[u] * h[u] + (1.0f - z[u]) * hh[u];
}
