#ifndef PEEPHOLE_CGLIBCMALLOC_SHIM_H
#define PEEPHOLE_CGLIBCMALLOC_SHIM_H
// glibc's allocator tuning (mallopt), which the Glibc module does not include.
#include <malloc.h>

#endif
