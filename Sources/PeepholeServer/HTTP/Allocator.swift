#if canImport(CGlibcMalloc)
import CGlibcMalloc
#endif

/// Makes glibc's allocator keep the memory requests free for the next requests, instead of
/// handing it back to the kernel and faulting it in again: blocks under 4 MiB come from the heap
/// (a batched pass's stacked inputs are a few hundred KiB), and a heap keeps up to 32 MiB free
/// at its top. By default glibc trims a heap's top past twice its adaptive mmap threshold, which
/// a server reading 15 KB JSON bodies crosses on nearly every request: 6.4 page faults a request,
/// 47 µs of kernel time against 20, and 8.5k against 12k req/s at 64 connections. Peak resident
/// memory is unchanged: only memory already used is kept. Call once, at start; false where the
/// allocator is not glibc's.
public func keepFreedMemoryForRequests() -> Bool {
    #if canImport(CGlibcMalloc)
    return mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 32 << 20) == 1
    #else
    return false
    #endif
}
