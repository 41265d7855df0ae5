#pragma once

#include <cstdint>
#include <string>

namespace magpie::training {

// Process-wide set-up for LibTorch on CPU; call once at start, before any
// tensor is made. Tunes glibc malloc (no mmap for big blocks, large trim
// threshold: without it LibTorch runs ~35x slower here because every
// activation is mmap'ed and unmapped again) and sets the intra-op thread count
// (0 = the number of cores). Idempotent.
void initRuntime(int threads = 0);

// True when LibTorch sees a CUDA device and $MAGPIE_DEVICE is not "cpu":
// embedding (Backbone) and deep passes (fineTune) then run on the GPU; the
// fast head and re-scoring stay on the CPU (they take well under a second).
bool useCuda();
// "cuda" or "cpu", as useCuda() decides.
std::string deviceName();
int threadCount();
// LibTorch's build configuration (BLAS, MKL-DNN, OpenMP ...), for reports.
std::string buildInfo();

// IEEE half <-> float (round to nearest even); used by the embedding cache.
std::uint16_t floatToHalf(float f);
float halfToFloat(std::uint16_t h);

} // namespace magpie::training
