// The GRU and the general LSTM cell updates: gate activations from activation.c, the rest
// element-wise. One row at a time, so a row's values never depend on its batch.

#pragma STDC FP_CONTRACT OFF

#include "peephole_kernels.h"

#include <math.h>
#include <string.h>

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
    const float *z = gates, *r = gates + units;
    float *hh = gates + 2 * units;
    if (recurrent_h) {
        for (size_t u = 0; u < units; u++) x_h[u] = x_h[u] + r[u] * recurrent_h[u];
    }
    memcpy(hh, x_h, units * sizeof(float));
    pk_gate_activate(isa, activation, hh, units);
    for (size_t u = 0; u < units; u++) h[u] = z[u] * h[u] + (1.0f - z[u]) * hh[u];
}
