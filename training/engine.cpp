#include "training/engine.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/cuda.h>

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace magpie::training {

void initRuntime(int threads)
{
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
        mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    });
    if (threads <= 0)
        if (const char *env = std::getenv("MAGPIE_THREADS"))
            threads = std::atoi(env);
    if (threads <= 0)
        threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
}

bool useCuda()
{
    static const bool cuda = [] {
        const char *env = std::getenv("MAGPIE_DEVICE");
        const bool on = !(env && std::strcmp(env, "cpu") == 0) && torch::cuda::is_available();
        // cuDNN convolutions use TF32 on Ampere and later unless told not
        // to: about 1e-3 relative per layer, fine for embedding and training.
        // MAGPIE_GPU_TF32=0 asks for full float32 (to compare with the CPU).
        const char *tf32 = std::getenv("MAGPIE_GPU_TF32");
        if (on && tf32 && std::strcmp(tf32, "0") == 0)
            at::globalContext().setAllowTF32CuDNN(false);
        return on;
    }();
    return cuda;
}

std::string deviceName()
{
    return useCuda() ? "cuda" : "cpu";
}

std::string buildInfo()
{
    return at::show_config();
}

int threadCount()
{
    return at::get_num_threads();
}

std::uint16_t floatToHalf(float f)
{
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    std::uint32_t mant = x & 0x7fffffu;
    const int exp = static_cast<int>((x >> 23) & 0xffu);
    if (exp == 0xff) // inf / nan
        return static_cast<std::uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
    int e = exp - 127 + 15;
    if (e >= 0x1f)
        return static_cast<std::uint16_t>(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10)
            return static_cast<std::uint16_t>(sign);
        mant |= 0x800000u;
        const int shift = 14 - e;
        std::uint32_t h = mant >> shift;
        const std::uint32_t rem = mant & ((1u << shift) - 1u);
        const std::uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u)))
            ++h;
        return static_cast<std::uint16_t>(sign | h);
    }
    std::uint32_t h = (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
    const std::uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        ++h; // may carry into the exponent, which is right
    return static_cast<std::uint16_t>(sign | h);
}

float halfToFloat(std::uint16_t h)
{
    const std::uint32_t sign = (h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t x;
    if (exp == 0) {
        if (mant == 0) {
            x = sign;
        } else {
            exp = 127 - 15 + 1;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ffu;
            x = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        x = sign | 0x7f800000u | (mant << 13);
    } else {
        x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

} // namespace magpie::training
