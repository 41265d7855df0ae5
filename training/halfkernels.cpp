#include "training/halfkernels.h"

#include "training/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MAGPIE_X86 1
// GCC 12 warns inside its own avx512fintrin.h (_mm512_reduce_add_ps, the
// half conversions) about an intentionally undefined vector.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace magpie::training {

namespace {

#ifdef MAGPIE_X86
bool haveAvx2()
{
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("f16c");
    return yes;
}

__attribute__((target("avx2,fma,f16c"))) inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

// R rows x G classes per pass over the row (dim a multiple of 8): R*G
// accumulators + R converted rows fit the 16 ymm registers; the weights of
// the G classes come from L1/L2 (27 x 1,536 floats = 166 KB).
template <int R, int G>
__attribute__((target("avx2,fma,f16c"))) void linearPass(const std::uint16_t *x, int dim, const float *w, int classes,
                                                          int paddedClasses, const float *bias, float *out)
{
    for (int g = 0; g < paddedClasses; g += G) {
        __m256 acc[R][G];
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i)
#pragma GCC unroll 16
            for (int j = 0; j < G; ++j)
                acc[i][j] = _mm256_setzero_ps();
        const float *wg = w + static_cast<std::size_t>(g) * static_cast<std::size_t>(dim);
        for (int k = 0; k < dim; k += 8) {
            __m256 v[R];
#pragma GCC unroll 16
            for (int i = 0; i < R; ++i)
                v[i] = _mm256_cvtph_ps(_mm_loadu_si128(
                    reinterpret_cast<const __m128i *>(x + static_cast<std::size_t>(i) * static_cast<std::size_t>(dim) + k)));
#pragma GCC unroll 16
            for (int j = 0; j < G; ++j) {
                const __m256 wv = _mm256_loadu_ps(wg + static_cast<std::size_t>(j) * static_cast<std::size_t>(dim) + k);
#pragma GCC unroll 16
                for (int i = 0; i < R; ++i)
                    acc[i][j] = _mm256_fmadd_ps(v[i], wv, acc[i][j]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < G && g + j < classes; ++j)
                out[i * classes + g + j] = hsum(acc[i][j]) + bias[g + j];
    }
}

template <int R, int G>
void linearRows(const std::uint16_t *x, std::int64_t n, int dim, const float *w, int classes, int paddedClasses,
                const float *bias, float *out)
{
    std::int64_t r = 0;
    for (; r + R <= n; r += R)
        linearPass<R, G>(x + r * dim, dim, w, classes, paddedClasses, bias, out + r * classes);
    for (; r < n; ++r)
        linearPass<1, G>(x + r * dim, dim, w, classes, paddedClasses, bias, out + r * classes);
}

bool haveAvx512()
{
    static const bool yes = __builtin_cpu_supports("avx512f") && haveAvx2();
    return yes;
}

// The same with 512-bit registers (32 of them: R*G accumulators + R rows + one
// weight vector), dim a multiple of 16. Worth it where the cores execute
// 512-bit FMAs at full width (the development machine's EPYC: about twice the
// AVX2 kernel's rows per second).
template <int R, int G>
__attribute__((target("avx512f,avx2,fma,f16c"))) void linearPass512(const std::uint16_t *x, int dim, const float *w,
                                                                     int classes, int paddedClasses, const float *bias,
                                                                     float *out)
{
    for (int g = 0; g < paddedClasses; g += G) {
        __m512 acc[R][G];
#pragma GCC unroll 32
        for (int i = 0; i < R; ++i)
#pragma GCC unroll 32
            for (int j = 0; j < G; ++j)
                acc[i][j] = _mm512_setzero_ps();
        const float *wg = w + static_cast<std::size_t>(g) * static_cast<std::size_t>(dim);
        for (int k = 0; k < dim; k += 16) {
            __m512 v[R];
#pragma GCC unroll 32
            for (int i = 0; i < R; ++i)
                v[i] = _mm512_cvtph_ps(_mm256_loadu_si256(
                    reinterpret_cast<const __m256i *>(x + static_cast<std::size_t>(i) * static_cast<std::size_t>(dim) + k)));
#pragma GCC unroll 32
            for (int j = 0; j < G; ++j) {
                const __m512 wv = _mm512_loadu_ps(wg + static_cast<std::size_t>(j) * static_cast<std::size_t>(dim) + k);
#pragma GCC unroll 32
                for (int i = 0; i < R; ++i)
                    acc[i][j] = _mm512_fmadd_ps(v[i], wv, acc[i][j]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < G && g + j < classes; ++j)
                out[i * classes + g + j] = _mm512_reduce_add_ps(acc[i][j]) + bias[g + j];
    }
}

template <int R, int G>
void linearRows512(const std::uint16_t *x, std::int64_t n, int dim, const float *w, int classes, int paddedClasses,
                   const float *bias, float *out)
{
    std::int64_t r = 0;
    for (; r + R <= n; r += R)
        linearPass512<R, G>(x + r * dim, dim, w, classes, paddedClasses, bias, out + r * classes);
    for (; r < n; ++r)
        linearPass512<1, G>(x + r * dim, dim, w, classes, paddedClasses, bias, out + r * classes);
}

// exp for x <= 0 (softmax after subtracting the row maximum): Cephes' expf
// polynomial, relative error below 2e-7.
__attribute__((target("avx2,fma"))) __m256 exp256(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) void expInPlaceAvx2(float *x, std::int64_t n)
{
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, exp256(_mm256_loadu_ps(x + i)));
    for (; i < n; ++i)
        x[i] = std::exp(x[i]);
}
#endif

} // namespace

LinearHalf::LinearHalf(const float *weights, const float *bias, int classes, int dim)
    : m_classes(classes), m_dim(dim)
{
#ifdef MAGPIE_X86
    m_wide = haveAvx512() && dim % 16 == 0 && !std::getenv("MAGPIE_NO_AVX512");
#endif
    m_rowsPerPass = classes <= 2 ? (m_wide ? 8 : 6) : (m_wide ? 4 : 3);
    m_classesPerPass = classes <= 2 ? 2 : (m_wide ? 6 : 4);
    m_paddedClasses = (classes + m_classesPerPass - 1) / m_classesPerPass * m_classesPerPass;
    m_weights.assign(static_cast<std::size_t>(m_paddedClasses) * static_cast<std::size_t>(dim), 0.0f);
    std::copy(weights, weights + static_cast<std::size_t>(classes) * static_cast<std::size_t>(dim), m_weights.begin());
    m_bias.assign(bias, bias + classes);
}

void LinearHalf::logits(const std::uint16_t *rows, std::int64_t n, float *out) const
{
#ifdef MAGPIE_X86
    if (m_wide) {
        if (m_classesPerPass == 2)
            linearRows512<8, 2>(rows, n, m_dim, m_weights.data(), m_classes, m_paddedClasses, m_bias.data(), out);
        else
            linearRows512<4, 6>(rows, n, m_dim, m_weights.data(), m_classes, m_paddedClasses, m_bias.data(), out);
        return;
    }
    if (haveAvx2() && m_dim % 8 == 0) {
        if (m_classesPerPass == 2)
            linearRows<6, 2>(rows, n, m_dim, m_weights.data(), m_classes, m_paddedClasses, m_bias.data(), out);
        else
            linearRows<3, 4>(rows, n, m_dim, m_weights.data(), m_classes, m_paddedClasses, m_bias.data(), out);
        return;
    }
#endif
    std::vector<float> x(static_cast<std::size_t>(m_dim));
    for (std::int64_t r = 0; r < n; ++r) {
        for (int k = 0; k < m_dim; ++k)
            x[static_cast<std::size_t>(k)] = halfToFloat(rows[r * m_dim + k]);
        for (int c = 0; c < m_classes; ++c) {
            const float *w = m_weights.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(m_dim);
            float s = m_bias[static_cast<std::size_t>(c)];
            for (int k = 0; k < m_dim; ++k)
                s += w[k] * x[static_cast<std::size_t>(k)];
            out[r * m_classes + c] = s;
        }
    }
}

void softmaxRows(float *x, std::int64_t n, int classes)
{
    for (std::int64_t r = 0; r < n; ++r) {
        float *p = x + r * classes;
        const float mx = *std::max_element(p, p + classes);
        for (int c = 0; c < classes; ++c)
            p[c] -= mx;
    }
#ifdef MAGPIE_X86
    if (haveAvx2())
        expInPlaceAvx2(x, n * classes);
    else
#endif
        for (std::int64_t i = 0; i < n * classes; ++i)
            x[i] = std::exp(x[i]);
    for (std::int64_t r = 0; r < n; ++r) {
        float *p = x + r * classes;
        float s = 0;
        for (int c = 0; c < classes; ++c)
            s += p[c];
        const float inv = 1.0f / s;
        for (int c = 0; c < classes; ++c)
            p[c] *= inv;
    }
}

void parallelRanges(std::int64_t n, int threads, const std::function<void(std::int64_t, std::int64_t)> &fn)
{
    threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, n)));
    if (threads == 1) {
        if (n > 0) fn(0, n);
        return;
    }
    // Parts of about 1/32 of a thread's share, taken in turn: a thread that
    // shares its core with another process takes fewer, and the pass ends when
    // the work does, not when the slowest thread's fixed half does.
    const std::int64_t part = std::max<std::int64_t>(1, n / (static_cast<std::int64_t>(threads) * 32));
    std::atomic<std::int64_t> next{0};
    auto worker = [&]() {
        for (;;) {
            const std::int64_t from = next.fetch_add(part);
            if (from >= n) return;
            fn(from, std::min(n, from + part));
        }
    };
    std::vector<std::thread> others;
    others.reserve(static_cast<std::size_t>(threads - 1));
    for (int t = 1; t < threads; ++t)
        others.emplace_back(worker);
    worker();
    for (std::thread &t : others)
        t.join();
}

} // namespace magpie::training
