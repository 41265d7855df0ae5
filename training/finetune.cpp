#include "training/finetune.h"

#include "training/backboneformat.h"
#include "training/engine.h"
#include "training/torchincludes.h"

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <random>

namespace magpie::training {

namespace {

struct Op
{
    at::Tensor w, b;
    ConvOp spec;
    bool trainable = false;
    bool fresh = false; // a new block of this pass (trained at the new layers' rate)
};

at::Tensor forward(std::vector<Op> &ops, at::Tensor x, std::size_t from, std::size_t to, std::vector<at::Tensor> &outs)
{
    for (std::size_t i = from; i < to; ++i) {
        const ConvOp &s = ops[i].spec;
        if (s.padTop || s.padBottom || s.padLeft || s.padRight)
            x = at::constant_pad_nd(x, {s.padLeft, s.padRight, s.padTop, s.padBottom}, 0.0);
        const std::int64_t st[2] = {s.stride, s.stride}, zero[2] = {0, 0}, one[2] = {1, 1};
        x = at::conv2d(x, ops[i].w, ops[i].b, at::IntArrayRef(st), at::IntArrayRef(zero), at::IntArrayRef(one), s.groups);
        if (s.relu6) x = at::clamp(x, 0.0, 6.0);
        if (s.addFrom >= 0) x = x + outs[static_cast<std::size_t>(s.addFrom)];
        outs[i] = x;
    }
    return x;
}

// "block_7_expand" -> 7; the stem, block 0 ("expanded_conv") and anything else -> -1.
int blockNumber(const std::string &name)
{
    if (name.rfind("block_", 0) != 0) return -1;
    return std::atoi(name.c_str() + 6);
}

at::Tensor augment(const at::Tensor &x, std::mt19937_64 &rng, bool flip)
{
    const std::int64_t n = x.size(0);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> theta(static_cast<std::size_t>(n * 6));
    std::vector<float> gain(static_cast<std::size_t>(n * 3)), bias(static_cast<std::size_t>(n)), contrast(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const float scale = 0.8f + 0.2f * u(rng);             // zoom in up to 1.25x
        const float aspect = 0.92f + 0.16f * u(rng);
        const float angle = (u(rng) - 0.5f) * 2 * 8.0f * 3.14159265f / 180.0f;
        const float sx = scale * std::sqrt(aspect), sy = scale / std::sqrt(aspect);
        const float tx = (u(rng) - 0.5f) * 2 * (1 - sx) * 0.9f, ty = (u(rng) - 0.5f) * 2 * (1 - sy) * 0.9f;
        const float fl = flip && u(rng) < 0.5f ? -1.0f : 1.0f;
        float *t = theta.data() + i * 6;
        t[0] = std::cos(angle) * sx * fl; t[1] = -std::sin(angle) * sy; t[2] = tx;
        t[3] = std::sin(angle) * sx * fl; t[4] = std::cos(angle) * sy;  t[5] = ty;
        for (int c = 0; c < 3; ++c) gain[static_cast<std::size_t>(i * 3 + c)] = 0.9f + 0.2f * u(rng);
        bias[static_cast<std::size_t>(i)] = (u(rng) - 0.5f) * 0.2f;
        contrast[static_cast<std::size_t>(i)] = 0.7f + 0.6f * u(rng);
    }
    const at::Tensor th = at::from_blob(theta.data(), {n, 2, 3}, at::kFloat).clone().to(x.device());
    const at::Tensor grid = at::affine_grid_generator(th, x.sizes(), false);
    at::Tensor y = at::grid_sampler(x, grid, 0, 1, false); // bilinear, border
    const at::Tensor m = y.mean({1, 2, 3}, true);
    y = (y - m) * at::from_blob(contrast.data(), {n, 1, 1, 1}).clone().to(x.device()) + m;
    y = y * at::from_blob(gain.data(), {n, 3, 1, 1}).clone().to(x.device())
        + at::from_blob(bias.data(), {n, 1, 1, 1}).clone().to(x.device());
    return y.clamp(0.0, 1.0);
}

} // namespace

bool fineTune(const std::string &backbonePath, const std::uint8_t *images, int n, const std::vector<int> &labels,
              const FineTuneConfig &cfg, const std::string &outPath, FineTuneReport *report, std::string *error,
              const std::atomic<bool> *cancel)
{
    FineTuneReport local;
    if (!report) report = &local;
    *report = {};
    BackboneSpec spec;
    if (!readBackbone(backbonePath, &spec, error)) return false;
    if (n <= 0 || static_cast<int>(labels.size()) != n) {
        if (error) *error = "no images to fine-tune on";
        return false;
    }
    try {
        const auto t0 = std::chrono::steady_clock::now();
        const at::Device dev = useCuda() ? at::Device(at::kCUDA) : at::Device(at::kCPU);
        at::manual_seed(cfg.seed);
        std::mt19937_64 rng(cfg.seed);
        // Fold BatchNorm, mark blocks 9-10 trainable.
        std::vector<Op> ops;
        std::size_t firstTrainable = spec.ops.size();
        for (std::size_t i = 0; i < spec.ops.size(); ++i) {
            const ConvOp &s = spec.ops[i];
            Op op;
            op.spec = s;
            const int per = s.inChannels / s.groups;
            at::Tensor w = at::from_blob(const_cast<float *>(s.weight.data()), {s.outChannels, per, s.kernel, s.kernel}).clone();
            at::Tensor b = s.bias.empty() ? at::zeros({s.outChannels}) : at::from_blob(const_cast<float *>(s.bias.data()), {s.outChannels}).clone();
            if (!s.gamma.empty()) {
                auto t = [&](const std::vector<float> &v) { return at::from_blob(const_cast<float *>(v.data()), {s.outChannels}).clone(); };
                const at::Tensor scale = t(s.gamma) / at::sqrt(t(s.var) + s.epsilon);
                w = w * scale.view({-1, 1, 1, 1});
                b = (b - t(s.mean)) * scale + t(s.beta);
            }
            op.spec.gamma.clear(); op.spec.beta.clear(); op.spec.mean.clear(); op.spec.var.clear();
            // Layers Magpie added in earlier passes (1x1 layers, new blocks) always train.
            op.trainable = blockNumber(s.name) >= std::max(1, cfg.firstBlock) || s.name.rfind("magpie_", 0) == 0;
            if (op.trainable && firstTrainable == spec.ops.size()) firstTrainable = i;
            op.w = w.to(dev);
            op.b = b.to(dev);
            if (op.trainable) {
                op.w.requires_grad_();
                op.b.requires_grad_();
            }
            ops.push_back(std::move(op));
        }
        if (firstTrainable == spec.ops.size()) {
            if (error) *error = "the backbone has no blocks to fine-tune from block " + std::to_string(cfg.firstBlock);
            return false;
        }
        const int C0 = ops.back().spec.outChannels;
        const int K = cfg.newChannels;
        const int G = spec.poolGrid;
        at::Tensor nw = (at::randn({K, C0, 1, 1}) * std::sqrt(2.0 / C0)).to(dev).requires_grad_();
        at::Tensor nb = at::zeros({K}, at::TensorOptions().device(dev)).requires_grad_();
        at::Tensor cw = at::zeros({cfg.numClasses, K * G * G}, at::TensorOptions().device(dev)).requires_grad_();
        at::Tensor cb = at::zeros({cfg.numClasses}, at::TensorOptions().device(dev)).requires_grad_();
        // New inverted-residual blocks on top (MobileNetV2's shape, trained from
        // scratch: none of the package's later blocks). The projection starts at
        // zero, so each new block starts as the identity: the pass starts from
        // exactly the network it was given and can only add to it. (Made after
        // the new 1x1 layer so that its initialisation does not depend on them.)
        std::vector<at::Tensor> freshBlocks;
        {
            int existing = 0;
            for (const Op &op : ops) existing += op.spec.name.rfind("magpie_block_", 0) == 0 && op.spec.name.find("_project") != std::string::npos;
            for (int b = 0; b < cfg.newBlocks; ++b) {
                const int C = ops.back().spec.outChannels, E = C * cfg.newBlockExpansion;
                const int input = static_cast<int>(ops.size()) - 1;
                const std::string base = "magpie_block_" + std::to_string(existing + b) + "_";
                auto add = [&](const std::string &name, int in, int out, int k, int groups, bool relu6, at::Tensor w) {
                    Op op;
                    op.spec.name = base + name;
                    op.spec.inChannels = in;
                    op.spec.outChannels = out;
                    op.spec.kernel = k;
                    op.spec.groups = groups;
                    op.spec.relu6 = relu6;
                    op.spec.padTop = op.spec.padBottom = op.spec.padLeft = op.spec.padRight = k / 2;
                    op.trainable = true;
                    op.fresh = true;
                    op.w = w.to(dev).requires_grad_();
                    op.b = at::zeros({out}, at::TensorOptions().device(dev)).requires_grad_();
                    freshBlocks.push_back(op.w);
                    freshBlocks.push_back(op.b);
                    ops.push_back(std::move(op));
                };
                add("expand", C, E, 1, 1, true, at::randn({E, C, 1, 1}) * std::sqrt(2.0 / C));
                add("depthwise", E, E, 3, E, true, at::randn({E, 1, 3, 3}) * std::sqrt(2.0 / 9));
                add("project", E, C, 1, 1, false, at::zeros({C, E, 1, 1}));
                ops.back().spec.addFrom = input;
            }
        }
        std::vector<at::Tensor> tuned, fresh{nw, nb, cw, cb};
        fresh.insert(fresh.end(), freshBlocks.begin(), freshBlocks.end());
        for (Op &op : ops)
            if (op.trainable && !op.fresh) { tuned.push_back(op.w); tuned.push_back(op.b); }
        torch::optim::Adam optTuned(tuned, torch::optim::AdamOptions(cfg.lr));
        torch::optim::Adam optFresh(fresh, torch::optim::AdamOptions(cfg.lr * 10));
        // (pretrained blocks at cfg.lr, new layers 10x faster)

        std::vector<double> count(static_cast<std::size_t>(cfg.numClasses), 0);
        for (int l : labels) count[static_cast<std::size_t>(l)]++;
        std::vector<float> cwt;
        for (double c : count) cwt.push_back(c > 0 ? static_cast<float>(n / (cfg.numClasses * c)) : 0.f);
        const at::Tensor classWeight = at::tensor(cwt).to(dev);
        const int S = spec.inputSize;
        std::vector<int> order(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
        for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
            std::shuffle(order.begin(), order.end(), rng);
            at::Tensor lossSum = at::zeros({}, at::TensorOptions().device(dev).dtype(at::kDouble));
            at::Tensor correct = at::zeros({}, at::TensorOptions().device(dev).dtype(at::kLong));
            int seen = 0;
            for (int s = 0; s < n; s += cfg.batchSize) {
                if (cancel && cancel->load()) {
                    report->cancelled = true;
                    if (error) *error = "cancelled";
                    return false;
                }
                const int m = std::min(cfg.batchSize, n - s);
                std::vector<std::uint8_t> buf(static_cast<std::size_t>(m * S * S * 3));
                std::vector<std::int64_t> y(static_cast<std::size_t>(m));
                for (int j = 0; j < m; ++j) {
                    const int idx = order[static_cast<std::size_t>(s + j)];
                    std::memcpy(buf.data() + static_cast<std::size_t>(j) * S * S * 3,
                                images + static_cast<std::size_t>(idx) * S * S * 3, static_cast<std::size_t>(S * S * 3));
                    y[static_cast<std::size_t>(j)] = labels[static_cast<std::size_t>(idx)];
                }
                // bytes cross to the device, the float conversion happens there
                at::Tensor x = at::from_blob(buf.data(), {m, S, S, 3}, at::kByte).to(dev).permute({0, 3, 1, 2}).to(at::kFloat).div(255.0);
                x = augment(x, rng, cfg.horizontalFlip);
                x = x.mul(spec.inputScale * 255.0f).add(spec.inputShift).contiguous(at::MemoryFormat::ChannelsLast);
                std::vector<at::Tensor> outs(ops.size());
                {
                    at::NoGradGuard ng;
                    forward(ops, x, 0, firstTrainable, outs);
                }
                at::Tensor h = forward(ops, outs[firstTrainable - 1], firstTrainable, ops.size(), outs);
                h = at::conv2d(h, nw, nb); // linear: a ReLU here let units die and features collapse
                const at::Tensor f = at::adaptive_avg_pool2d(h, {G, G}).reshape({m, -1});
                const at::Tensor logits = at::addmm(cb, f, cw.t());
                const at::Tensor target = at::tensor(y).to(dev);
                const at::Tensor loss = at::nll_loss(at::log_softmax(logits, 1), target, classWeight);
                optTuned.zero_grad();
                optFresh.zero_grad();
                loss.backward();
                optTuned.step();
                optFresh.step();
                // summed where they are made: no device round trip per batch
                lossSum = lossSum + loss.detach() * m;
                correct = correct + logits.detach().argmax(1).eq(target).sum();
                seen += m;
                if (cfg.progress) cfg.progress(static_cast<std::int64_t>(epoch) * n + s + m, static_cast<std::int64_t>(cfg.epochs) * n);
            }
            report->epochs = epoch + 1;
            report->lastEpochLoss = lossSum.item<double>() / seen;
            report->trainAccuracy = static_cast<double>(correct.item<std::int64_t>()) / seen;
            report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (report->seconds > cfg.timeBoxSeconds) {
                report->timedOut = epoch + 1 < cfg.epochs;
                break;
            }
        }
        // Write the tuned network as a new backbone: folded ops + the new layer.
        BackboneSpec out = spec;
        out.name = spec.name + "-ft";
        out.provenance = spec.provenance + "; blocks " + std::to_string(cfg.firstBlock) + "-10 fine-tuned by Magpie plus "
            + (cfg.newBlocks > 0 ? std::to_string(cfg.newBlocks) + " new inverted-residual block(s) and " : std::string())
            + "a new 1x1 layer";
        out.ops.clear();
        auto toVec = [](const at::Tensor &t) {
            const at::Tensor c = t.detach().to(at::kCPU).contiguous();
            return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        };
        for (Op &op : ops) {
            ConvOp s = op.spec;
            s.weight = toVec(op.w);
            s.bias = toVec(op.b);
            out.ops.push_back(std::move(s));
        }
        ConvOp extra;
        extra.name = "magpie_ft_conv";
        extra.inChannels = C0;
        extra.outChannels = K;
        extra.kernel = 1;
        extra.relu6 = false;
        extra.weight = toVec(nw);
        extra.bias = toVec(nb);
        out.ops.push_back(std::move(extra));
        return writeBackbone(out, outPath, error);
    } catch (const std::exception &e) {
        if (error) *error = std::string("fine-tuning failed: ") + e.what();
        return false;
    }
}

} // namespace magpie::training
