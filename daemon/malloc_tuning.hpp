// glibc's per-thread cache of freed chunks (tcache) holds 7 chunks per size class by default.
// aiked frees and allocates in bursts of thousands of SAs (terminate --all, bulk initiate); with
// 7 entries nearly every free goes into the shared bins, where coalescing and malloc_consolidate
// took about a quarter of the CPU of a bulk terminate (docs/benchmarks.md). The cache size is a
// glibc tunable read only at program start, so aiked re-executes itself once with it set.
#pragma once

namespace aike::daemon {

// The tcache entries per size class aiked asks for (glibc's default is 7, its maximum 65535).
inline constexpr unsigned malloc_tcache_count = 512;

// Call first thing in main(), before any thread exists. If GLIBC_TUNABLES does not set
// glibc.malloc.tcache_count yet (an operator's own value is kept), adds it and re-executes
// itself (the file /proc/self/exe points to) with the same arguments (same PID); returns only if it did not re-execute
// (already set, or exec failed: aiked then runs with glibc's defaults).
void tune_malloc(char** argv);

}  // namespace aike::daemon
