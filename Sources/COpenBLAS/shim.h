#ifndef PEEPHOLE_COPENBLAS_SHIM_H
#define PEEPHOLE_COPENBLAS_SHIM_H
#include <cblas.h>

#endif
