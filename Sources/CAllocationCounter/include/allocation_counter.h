#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Heap allocations made by the whole process since it started (`malloc`, `calloc`, `realloc`,
/// `posix_memalign`, `aligned_alloc`, `memalign`), or -1 where they cannot be counted (not glibc).
///
/// Linked only into `peephole-bench`: the executable's definitions of those functions take the
/// place of the C library's for every library in the process, count, and hand the call to glibc's
/// own allocator (`__libc_*`). Allocation counts per request are a stable measure on a noisy
/// machine, where times are not.
long long ac_allocations(void);

#endif
