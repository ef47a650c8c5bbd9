#ifndef PEEPHOLE_KERNELS_H
#define PEEPHOLE_KERNELS_H

#include <stddef.h>

/// The width, in floats, of one panel of a packed matrix.
#define PK_PANEL 64

/// Instruction sets the matrix kernel can run on; `pk_best_isa` picks the widest this CPU has.
typedef enum {
    PK_ISA_SCALAR = 0,
    PK_ISA_AVX2 = 1,
    PK_ISA_AVX512 = 2,
} pk_isa;

/// The widest instruction set this CPU supports.
pk_isa pk_best_isa(void);

/// Floats needed to pack a row-major `[k, n]` matrix: `ceil(n / PK_PANEL)` panels of `k` rows
/// of `PK_PANEL` columns, the last panel padded with zeros.
size_t pk_packed_count(size_t k, size_t n);

/// Packs row-major `w` `[k, n]` into `packed` (`pk_packed_count(k, n)` floats).
void pk_pack(const float *w, size_t k, size_t n, float *packed);

/// `c[r, j] += Σ_i a[r, i] · w[i, j]` for `r < rows`, `j < n`, with `w` packed by `pk_pack`.
///
/// Contract: every element is computed as `acc = c[r, j]; for i in 0..<k: acc = fma(a[r, i],
/// w[i, j], acc)`, one fused multiply-add per term in order of `i`. So an element's value
/// depends only on its own row of `a`, never on `rows`, on the other rows, or on `isa`:
/// a batched run equals the unbatched runs bit for bit.
///
/// `reverse_panels` visits the column panels last to first: a loop that alternates it on
/// each call (as the LSTM's steps do) finds the panels it used last still in the L1 cache.
void pk_matmul_acc(pk_isa isa, const float *a, size_t lda, size_t rows,
                   const float *packed, size_t k, size_t n, float *c, size_t ldc, int reverse_panels);

/// One LSTM cell update for one row, with sigmoid gates and tanh (Keras' defaults).
///
/// `z` holds the row's pre-activations `[i f g o]` (`units` each); `gates` receives the
/// activated gates in the same layout; then `c = fma(f, c, i·g)` and `h = o · tanh(c)`.
/// Every lane computes the same operations on every instruction set (Cephes-style `exp` with
/// fused multiply-adds), so the result does not depend on `isa`.
void pk_lstm_cell(pk_isa isa, const float *z, float *gates, float *c, float *h, size_t units);

/// Whether every one of `rows` rows of `width` values holds exactly one 1 and zeros elsewhere;
/// if so, `indices[r]` is the position of row r's 1.
int pk_one_hot_indices(const float *data, size_t rows, size_t width, long *indices);

/// The activations of `pk_activate`, in Peephole's `Activation` order.
typedef enum {
    PK_LINEAR = 0, PK_RELU, PK_SIGMOID, PK_TANH, PK_SOFTMAX, PK_ELU, PK_SELU, PK_SOFTPLUS, PK_SOFTSIGN,
    PK_SWISH, PK_GELU, PK_EXPONENTIAL, PK_HARD_SIGMOID, PK_HARD_SIGMOID_KERAS2, PK_LEAKY_RELU,
} pk_activation;

/// Keras' definition of `kind` at `x` (libm, no fused multiply-adds); softmax is not element-wise
/// and returns `x`.
float pk_activation_scalar(pk_activation kind, float x);

/// A layer activation in place over `count` values; softmax normalises each row of `width`.
void pk_activate(pk_activation kind, float *values, size_t count, size_t width);

/// A recurrent gate activation in place: sigmoid and tanh on the Cephes `exp` (the same values on
/// every instruction set), the others as `pk_activate`. Not for softmax.
void pk_gate_activate(pk_isa isa, pk_activation kind, float *values, size_t count);

/// `result[i] = a[i] + b[i]`.
void pk_add(const float *a, const float *b, float *result, size_t count);

/// One row's LSTM update for any activations: `gates` = `z` (`[i f g o]`) with `recurrent_activation`
/// on i, f, o and `activation` on g; `c = fma(f, c, i·g)`, `h = o · activation(c)`.
void pk_lstm_cell_general(pk_isa isa, pk_activation activation, pk_activation recurrent_activation,
                          const float *z, float *gates, float *c, float *h, size_t units);

/// A GRU row's update and reset gates. `x` holds `[z r h]` pre-activations from the input (`units`
/// each); `recurrent`, when not NULL, the recurrent terms of z and r, added into `x` first. Then
/// `gates[0..<2·units]` = `recurrent_activation` of `x`'s z and r. When `reset_h` is not NULL
/// (without `reset_after`), also `reset_h = r ⊙ h`, the vector the candidate's product takes.
void pk_gru_gates(pk_isa isa, pk_activation recurrent_activation, float *x, const float *recurrent,
                  float *gates, const float *h, float *reset_h, size_t units);

/// A GRU row's candidate and new state from `gates` (z, r from `pk_gru_gates`): `x_h += r ⊙
/// recurrent_h` when `recurrent_h` is not NULL (`reset_after`), `hh = activation(x_h)` into
/// `gates[2·units…]`, then `h = z ⊙ h + (1 − z) ⊙ hh`. `x_h` keeps the candidate's pre-activation.
void pk_gru_update(pk_isa isa, pk_activation activation, float *x_h, const float *recurrent_h,
                   float *gates, float *h, size_t units);

// ---- machine limits (machine_limits.c): what one core allows, for peephole-bench ----------

/// `dst[i] = src[i]` for `i < count` with ordinary vector loads and stores (STREAM's Copy;
/// never memcpy's non-temporal path). For timing copy bandwidth.
void pk_copy_floats(pk_isa isa, const float *src, float *dst, size_t count);

/// The sum of `count` floats, in an unspecified order. For timing read-only bandwidth.
float pk_sum_floats(pk_isa isa, const float *src, size_t count);

/// Runs `iterations` rounds of independent fused multiply-add chains, enough to keep every FMA
/// pipe busy; writes their sum to `sink` (so they are not optimised away) and returns the
/// multiply-adds done (2 FLOP each). For timing the core's FMA peak.
size_t pk_fma_chains(pk_isa isa, size_t iterations, float *sink);

#endif
