#pragma once
// Float16 row kernels for re-scoring the embedding cache (C++ standard library
// and x86 intrinsics only; internal to the engine).

#include <cstdint>
#include <functional>
#include <vector>

namespace magpie::training {

// A linear map (C x dim weights, C biases) applied to IEEE-half rows. With
// AVX2, FMA and F16C (checked at run time) each pass keeps 3 rows x 4 classes
// (binary: 6 rows x 2 classes) in registers and converts halves on the fly:
// about 1.1 CPU-seconds per million 1,536-value rows for 27 classes on the
// development machine, the FMA units' peak. With AVX-512F a 512-bit kernel
// (4 rows x 6 classes; binary 8 x 2) does the same. Without them, a scalar loop.
// Immutable after construction; logits() may run on any number of threads.
class LinearHalf
{
public:
    LinearHalf(const float *weights, const float *bias, int classes, int dim);
    int classes() const { return m_classes; }
    // out[r * classes + c] = bias[c] + weights[c] . rows[r], for r < n.
    void logits(const std::uint16_t *rows, std::int64_t n, float *out) const;

private:
    int m_classes, m_dim, m_rowsPerPass, m_classesPerPass, m_paddedClasses;
    bool m_wide = false; // the AVX-512 kernel (4 rows x 6 classes; binary 8 x 2); $MAGPIE_NO_AVX512 turns it off
    std::vector<float> m_weights; // m_paddedClasses x m_dim, zero rows past m_classes
    std::vector<float> m_bias;
};

// Softmax of each of the n rows of `x` (n x classes), in place.
void softmaxRows(float *x, std::int64_t n, int classes);

// Calls fn(from, to) on contiguous parts of [0, n) that together cover it
// once, from `threads` threads (the calling thread and std::threads), which
// take the parts in turn (about 32 per thread), so a thread slowed by another
// process takes fewer; returns when all are done. Plain threads, not OpenMP:
// on a busy machine an OpenMP team spins at its barriers.
void parallelRanges(std::int64_t n, int threads, const std::function<void(std::int64_t, std::int64_t)> &fn);

} // namespace magpie::training
