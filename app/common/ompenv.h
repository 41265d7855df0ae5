#pragma once
// LibTorch's OpenMP threads spin while they wait for work (libgomp's default
// OMP_WAIT_POLICY). On a 2-core desktop that also runs the UI, decode threads
// or another job, the spinning threads steal the cores they wait for: the
// embedding ran at 41 img/s next to one busy process, 93 img/s with PASSIVE
// (docs/training.md). libgomp reads the variable once, when it is loaded,
// before main() runs, so the only way to set it for this process is to start
// it again with the variable in its environment. A value the user set is kept.
#include <cstdlib>
#include <unistd.h>

namespace magpie::app {

inline void ensurePassiveOpenMp(char **argv)
{
#ifdef __linux__
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("MAGPIE_NO_REEXEC")) return;
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::setenv("MAGPIE_NO_REEXEC", "1", 1); // never loop, even if exec fails half-way
    ::execv("/proc/self/exe", argv);      // returns only on failure: go on as we are
#else
    (void)argv;
#endif
}

} // namespace magpie::app
