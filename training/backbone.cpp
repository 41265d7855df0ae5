#include "training/backbone.h"

#include "training/backboneformat.h"
#include "training/engine.h"
#include "training/torchincludes.h"

#include <torch/script.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace magpie::training {

namespace {

struct Layer
{
    at::Tensor weight; // BatchNorm folded in
    at::Tensor bias;
    int stride = 1;
    int groups = 1;
    int padT = 0, padB = 0, padL = 0, padR = 0;
    bool relu6 = false;
    int addFrom = -1;
};

// LibTorch's messages carry a C++ backtrace after the first line: the first line is the message.
std::string firstLine(const std::exception &e)
{
    const std::string m = e.what();
    const auto nl = m.find('\n');
    return nl == std::string::npos ? m : m.substr(0, nl);
}

std::string hex64(std::uint64_t v)
{
    std::ostringstream s;
    s << std::hex << v;
    return s.str();
}

} // namespace

struct Backbone::Impl
{
    BackboneInfo info;
    BackboneSpec spec;
    std::vector<Layer> layers;
    bool script = false;
    mutable torch::jit::script::Module module;
    float inScale = 1.0f / 255.0f;
    float inShift = 0.0f;
    int grid = 4;
    bool channelsLast = std::getenv("MAGPIE_NCHW") == nullptr;
    // The GPU when there is one (useCuda()): weights live there, images
    // cross as bytes, features come back as floats.
    at::Device device{at::kCPU};

    at::Tensor input(const std::uint8_t *rgb, int n) const
    {
        const int s = info.inputSize;
        at::Tensor x = at::from_blob(const_cast<std::uint8_t *>(rgb), {n, s, s, 3}, at::kByte).to(device);
        // NHWC in memory (channels-last) is what MKL-DNN (and cuDNN) convolve without reorders.
        x = x.permute({0, 3, 1, 2}).to(at::kFloat).contiguous(channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
        return x.mul_(inScale).add_(inShift);
    }

    at::Tensor trunk(at::Tensor x) const
    {
        std::vector<at::Tensor> outs;
        outs.reserve(layers.size());
        static const bool profile = std::getenv("MAGPIE_PROFILE_LAYERS") != nullptr;
        for (const Layer &l : layers) {
            const auto t0 = std::chrono::steady_clock::now();
            if (l.padT || l.padB || l.padL || l.padR)
                x = at::constant_pad_nd(x, {l.padL, l.padR, l.padT, l.padB}, 0.0);
            const std::int64_t st[2] = {l.stride, l.stride}, zero[2] = {0, 0}, one[2] = {1, 1};
            x = at::conv2d(x, l.weight, l.bias, at::IntArrayRef(st), at::IntArrayRef(zero), at::IntArrayRef(one), l.groups);
            if (l.relu6)
                x = at::clamp_(x, 0.0, 6.0);
            if (l.addFrom >= 0)
                x = x + outs[static_cast<std::size_t>(l.addFrom)];
            outs.push_back(x);
            if (profile)
                std::fprintf(stderr, "layer groups=%d stride=%d out=%lldx%lld: %.2f ms\n", l.groups, l.stride,
                             static_cast<long long>(x.size(1)), static_cast<long long>(x.size(2)),
                             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        return x;
    }
};

Backbone::Backbone() : d(std::make_unique<Impl>()) {}
Backbone::~Backbone() = default;

std::unique_ptr<Backbone> Backbone::load(const std::string &path, std::string *error, int inputSize)
{
    std::unique_ptr<Backbone> b(new Backbone);
    Impl &d = *b->d;
    const bool isScript = path.size() > 3 && (path.substr(path.size() - 3) == ".pt" || path.substr(path.size() - 3) == ".ts");
    try {
        if (useCuda())
            d.device = at::Device(at::kCUDA);
        if (isScript) {
            d.script = true;
            d.module = torch::jit::load(path, d.device);
            d.module.eval();
            d.info.inputSize = inputSize;
            std::ifstream in(path, std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const auto slash = path.find_last_of('/');
            d.info.name = "script:" + path.substr(slash == std::string::npos ? 0 : slash + 1);
            d.info.version = "ts-" + hex64(fnv1a64(bytes.data(), bytes.size()));
            if (inputSize != 224) d.info.version += "-s" + std::to_string(inputSize); // as for .mbb files below
            d.inScale = 1.0f / 255.0f;
            // Probe the feature length with one black image.
            std::vector<std::uint8_t> zero(static_cast<std::size_t>(inputSize * inputSize * 3), 0);
            std::vector<float> probe;
            std::vector<std::int64_t> shape;
            at::NoGradGuard ng;
            at::Tensor y = d.module.forward({d.input(zero.data(), 1)}).toTensor();
            d.info.featureDim = static_cast<int>(y.numel());
            return b;
        }
        if (!readBackbone(path, &d.spec, error))
            return nullptr;
        d.info.name = d.spec.name;
        d.info.inputSize = d.spec.inputSize;
        d.inScale = d.spec.inputScale;
        d.inShift = d.spec.inputShift;
        d.grid = d.spec.poolGrid;
        std::uint64_t h = fnv1a64(d.spec.name.data(), d.spec.name.size());
        for (const ConvOp &op : d.spec.ops) {
            Layer l;
            const int per = op.inChannels / op.groups;
            at::Tensor w = at::from_blob(const_cast<float *>(op.weight.data()),
                                         {op.outChannels, per, op.kernel, op.kernel}, at::kFloat).clone();
            at::Tensor bias = op.bias.empty() ? at::zeros({op.outChannels})
                                              : at::from_blob(const_cast<float *>(op.bias.data()), {op.outChannels}).clone();
            if (!op.gamma.empty()) {
                auto t = [&](const std::vector<float> &v) {
                    return at::from_blob(const_cast<float *>(v.data()), {op.outChannels}).clone();
                };
                const at::Tensor scale = t(op.gamma) / at::sqrt(t(op.var) + op.epsilon);
                w = w * scale.view({-1, 1, 1, 1});
                bias = (bias - t(op.mean)) * scale + t(op.beta);
            }
            l.weight = d.channelsLast ? w.contiguous(at::MemoryFormat::ChannelsLast) : w.contiguous();
            l.bias = bias.contiguous();
            if (d.device.is_cuda()) {
                l.weight = l.weight.to(d.device);
                l.bias = l.bias.to(d.device);
            }
            l.stride = op.stride;
            l.groups = op.groups;
            l.padT = op.padTop;
            l.padB = op.padBottom;
            l.padL = op.padLeft;
            l.padR = op.padRight;
            l.relu6 = op.relu6;
            l.addFrom = op.addFrom;
            h = fnv1a64(op.weight.data(), op.weight.size() * sizeof(float), h);
            h = fnv1a64(op.gamma.data(), op.gamma.size() * sizeof(float), h);
            d.layers.push_back(std::move(l));
        }
        d.info.featureDim = d.spec.ops.back().outChannels * d.grid * d.grid;
        d.info.version = d.spec.name + "-g" + std::to_string(d.grid) + "-" + hex64(h).substr(0, 12);
        // The input size and scaling change the features as much as the weights do. They join the
        // version (which names the embedding cache) only where they differ from the default network's
        // (224 px, x/255), so that the caches of existing backbones keep their names.
        if (d.spec.inputSize != 224) d.info.version += "-s" + std::to_string(d.spec.inputSize);
        if (d.spec.inputScale != 1.0f / 255.0f || d.spec.inputShift != 0.0f) {
            const float io[2] = {d.spec.inputScale, d.spec.inputShift};
            d.info.version += "-x" + hex64(fnv1a64(io, sizeof io)).substr(0, 6);
        }
    } catch (const std::exception &e) {
        if (error)
            *error = "cannot load backbone " + path + ": " + firstLine(e);
        return nullptr;
    }
    return b;
}

const BackboneInfo &Backbone::info() const
{
    return d->info;
}

bool Backbone::embed(const std::uint8_t *rgb, int n, float *out, std::string *error) const
{
    try {
        at::InferenceMode guard;
        at::Tensor x = d->input(rgb, n);
        at::Tensor y;
        if (d->script) {
            y = d->module.forward({x}).toTensor().reshape({n, -1});
        } else {
            y = at::adaptive_avg_pool2d(d->trunk(x), {d->grid, d->grid}).reshape({n, -1});
        }
        y = y.to(at::kCPU, at::kFloat).contiguous();
        if (y.size(1) != d->info.featureDim) {
            if (error) *error = "backbone returned " + std::to_string(y.size(1)) + " features";
            return false;
        }
        std::memcpy(out, y.data_ptr<float>(), static_cast<std::size_t>(y.numel()) * sizeof(float));
        return true;
    } catch (const std::exception &e) {
        if (error)
            *error = "embedding failed: " + firstLine(e);
        return false;
    }
}

bool Backbone::featureMap(const std::uint8_t *rgb, int n, std::vector<float> *out, std::vector<std::int64_t> *shape,
                          std::string *error) const
{
    if (d->script) {
        if (error) *error = "no feature map for a TorchScript backbone";
        return false;
    }
    try {
        at::InferenceMode guard;
        at::Tensor y = d->trunk(d->input(rgb, n)).to(at::kCPU).contiguous();
        out->assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
        shape->assign(y.sizes().begin(), y.sizes().end());
        return true;
    } catch (const std::exception &e) {
        if (error) *error = firstLine(e);
        return false;
    }
}

bool Backbone::exportTorchScript(const std::string &path, std::string *error) const
{
    if (d->script) {
        if (error) *error = "already a TorchScript backbone";
        return false;
    }
    try {
        // Which outputs a later residual add needs.
        std::vector<bool> kept(d->layers.size(), false);
        for (const Layer &l : d->layers)
            if (l.addFrom >= 0) kept[static_cast<std::size_t>(l.addFrom)] = true;
        torch::jit::Module m("MagpieBackbone");
        std::ostringstream src;
        src.precision(9);
        // [0,1] in, as the contract says; the network's own input scaling after.
        src << "def forward(self, x):\n    x = x * " << 255.0f * d->inScale << " + " << d->inShift << "\n";
        for (std::size_t i = 0; i < d->layers.size(); ++i) {
            const Layer &l = d->layers[i];
            m.register_parameter("w" + std::to_string(i), l.weight.to(at::kCPU).contiguous(), false);
            m.register_parameter("b" + std::to_string(i), l.bias.to(at::kCPU).contiguous(), false);
            if (l.padT || l.padB || l.padL || l.padR)
                src << "    x = torch.constant_pad_nd(x, [" << l.padL << ", " << l.padR << ", " << l.padT << ", " << l.padB
                    << "], 0.0)\n";
            src << "    x = torch.conv2d(x, self.w" << i << ", self.b" << i << ", [" << l.stride << ", " << l.stride
                << "], [0, 0], [1, 1], " << l.groups << ")\n";
            if (l.relu6) src << "    x = torch.clamp(x, 0.0, 6.0)\n";
            if (l.addFrom >= 0) src << "    x = x + o" << l.addFrom << "\n";
            if (kept[i]) src << "    o" << i << " = x\n";
        }
        src << "    return torch.adaptive_avg_pool2d(x, [" << d->grid << ", " << d->grid << "]).flatten(1)\n";
        m.define(src.str());
        m.eval();
        m.save(path);
        return true;
    } catch (const std::exception &e) {
        if (error) *error = "cannot write TorchScript: " + firstLine(e);
        return false;
    }
}

} // namespace magpie::training
