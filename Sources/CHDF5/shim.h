#ifndef PEEPHOLE_CHDF5_SHIM_H
#define PEEPHOLE_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5's type and property identifiers are macros over globals that need H5open();
   Swift cannot import them, so each one we use is a function here. */
static inline hid_t peephole_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t peephole_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t peephole_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t peephole_h5s_all(void) { return H5S_ALL; }
static inline unsigned peephole_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline size_t peephole_h5t_variable(void) { return H5T_VARIABLE; }

/* Silences HDF5's default error printer: we report errors ourselves. */
static inline void peephole_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

#endif
