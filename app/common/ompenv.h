#pragma once
// Settings that the C and OpenMP runtimes read only when the process starts,
// before main() runs, so the only way to set them for this process is to
// start it again with them in its environment. A value the user set is kept.
//
// - OMP_WAIT_POLICY=PASSIVE: LibTorch's OpenMP threads spin while they wait
//   for work (libgomp's default). On a 2-core desktop that also runs the UI,
//   decode threads or another job, the spinning threads steal the cores they
//   wait for: the embedding ran at 41 img/s next to one busy process, 93 img/s
//   with PASSIVE (docs/training.md).
// - GLIBC_TUNABLES for malloc (no mmap for big blocks, a large trim threshold
//   and top pad): the engine's initRuntime() sets the same with mallopt() from
//   main(), but in one benchmark binary that was not enough (the network ran
//   at 28 instead of 300 img/s; set from the start it runs at 300).
#include <cstdlib>
#include <unistd.h>

namespace magpie::app {

inline void ensurePassiveOpenMp(char **argv)
{
#ifdef __linux__
    if (std::getenv("MAGPIE_NO_REEXEC")) return;
    bool restart = false;
    if (!std::getenv("OMP_WAIT_POLICY")) {
        ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        restart = true;
    }
    if (!std::getenv("GLIBC_TUNABLES")) {
        ::setenv("GLIBC_TUNABLES",
                 "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=536870912:glibc.malloc.top_pad=67108864", 1);
        restart = true;
    }
    if (!restart) return;
    ::setenv("MAGPIE_NO_REEXEC", "1", 1); // never loop, even if exec fails half-way
    ::execv("/proc/self/exe", argv);      // returns only on failure: go on as we are
#else
    (void)argv;
#endif
}

} // namespace magpie::app
