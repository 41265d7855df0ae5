#include "training/head.h"

#include "training/backboneformat.h"
#include "training/halfkernels.h"
#include "training/torchincludes.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <cmath>
#include <numeric>
#include <random>

namespace magpie::training {

namespace {

constexpr std::int64_t kChunk = 4096; // rows per step: 12 MB of halves, 25 MB as floats (measured best of 1k/4k/32k)
// Head training is hundreds of tiny ops: with two OpenMP threads on a busy
// 2-core machine every op waits for the second thread to be scheduled (measured
// 12 s instead of 0.45 s for 270 answers). One thread is always faster here.
class SingleThread
{
public:
    SingleThread() : m_prev(at::get_num_threads()) { at::set_num_threads(1); }
    ~SingleThread() { at::set_num_threads(m_prev); }
    SingleThread(const SingleThread &) = delete;
    SingleThread &operator=(const SingleThread &) = delete;

private:
    int m_prev;
};

const char kHeadMagic[8] = {'M', 'G', 'P', 'H', 'E', 'A', 'D', '1'};

at::Tensor rowsHalf(const std::uint16_t *rows, std::int64_t n, int dim)
{
    return at::from_blob(const_cast<std::uint16_t *>(rows), {n, dim}, at::kHalf).to(at::kFloat);
}

} // namespace

struct Head::Impl
{
    int classes = 2;
    int dim = 0;
    int hidden = 0;
    at::Tensor mean, invStd;        // dim
    at::Tensor w1, b1, w2, b2;      // hidden == 0: only w2 (C x dim), b2
    at::Tensor foldedW, foldedB;    // logistic head with standardisation folded in
    std::unique_ptr<LinearHalf> linear; // the folded logistic head for float16 rows
    bool blended = false;               // not saved: only a report of train()

    at::Tensor logits(const at::Tensor &x) const
    {
        if (hidden == 0)
            return at::addmm(foldedB, x, foldedW.t());
        const at::Tensor z = (x - mean) * invStd;
        return at::addmm(b2, at::relu(at::addmm(b1, z, w1.t())), w2.t());
    }
    void fold()
    {
        if (hidden == 0) {
            foldedW = (w2 * invStd).contiguous();
            foldedB = (b2 - at::mv(foldedW, mean)).contiguous();
            linear = std::make_unique<LinearHalf>(foldedW.data_ptr<float>(), foldedB.data_ptr<float>(), classes, dim);
        }
    }
};

Head::Head() : d(std::make_unique<Impl>()) {}
Head::~Head() = default;
int Head::numClasses() const { return d->classes; }
int Head::dim() const { return d->dim; }
bool Head::isLogistic() const { return d->hidden == 0; }
bool Head::blendedWithPrior() const { return d->blended; }

std::unique_ptr<Head> Head::train(const float *x, int n, int dim, const std::vector<Example> &examples,
                                  const HeadConfig &cfg, std::string *error)
{
    if (examples.empty() || cfg.numClasses < 2) {
        if (error) *error = "nothing to train on";
        return nullptr;
    }
    SingleThread oneThread;
    try {
        at::manual_seed(cfg.seed);
        const int C = cfg.numClasses;
        std::vector<std::int64_t> rows;
        std::vector<std::int64_t> posIdx, posCls, negIdx, negCls, unIdx, unCls;
        rows.reserve(examples.size());
        for (std::size_t i = 0; i < examples.size(); ++i) {
            const Example &e = examples[i];
            if (e.row < 0 || e.row >= n || e.cls < 0 || e.cls >= C) {
                if (error) *error = "example out of range";
                return nullptr;
            }
            rows.push_back(e.row);
            if (e.unlabeled) {
                if (cfg.unlabeledWeight <= 0) continue;
                unIdx.push_back(static_cast<std::int64_t>(i));
                unCls.push_back(e.cls);
                continue;
            }
            (e.positive ? posIdx : negIdx).push_back(static_cast<std::int64_t>(i));
            (e.positive ? posCls : negCls).push_back(e.cls);
        }
        if (posIdx.empty() && negIdx.empty()) {
            if (error) *error = "nothing to train on";
            return nullptr;
        }
        const at::Tensor all = at::from_blob(const_cast<float *>(x), {n, dim}, at::kFloat);
        const at::Tensor X = all.index_select(0, at::tensor(rows, at::kLong));
        std::unique_ptr<Head> h(new Head);
        Impl &m = *h->d;
        m.classes = C;
        m.dim = dim;
        m.hidden = cfg.hidden;
        if (static_cast<int>(cfg.mean.size()) == dim && static_cast<int>(cfg.stddev.size()) == dim) {
            m.mean = at::tensor(cfg.mean);
            m.invStd = 1.0 / (at::tensor(cfg.stddev) + 1e-4);
        } else {
            m.mean = X.mean(0);
            // one row has no spread (and the unbiased estimate of it is NaN)
            m.invStd = 1.0 / ((X.size(0) > 1 ? X.std(0, true) : at::zeros({dim})) + 1e-2);
        }
        const at::Tensor Z = ((X - m.mean) * m.invStd).contiguous();

        // Class-balanced weights for the positives.
        std::vector<double> count(static_cast<std::size_t>(C), 0.0);
        for (std::int64_t c : posCls) count[static_cast<std::size_t>(c)] += 1;
        std::vector<float> pw;
        for (std::int64_t c : posCls)
            pw.push_back(static_cast<float>(static_cast<double>(posCls.size()) / (C * std::max(1.0, count[static_cast<std::size_t>(c)]))));

        const at::Tensor pI = at::tensor(posIdx, at::kLong), pC = at::tensor(posCls, at::kLong);
        const at::Tensor nI = at::tensor(negIdx, at::kLong), nC = at::tensor(negCls, at::kLong);
        const at::Tensor pW = at::tensor(pw);
        const at::Tensor Zp = Z.index_select(0, pI);
        const at::Tensor Zn = negIdx.empty() ? at::Tensor() : Z.index_select(0, nI);
        const at::Tensor Zu = unIdx.empty() ? at::Tensor() : Z.index_select(0, at::tensor(unIdx, at::kLong));
        const at::Tensor uC = at::tensor(unCls, at::kLong);

        std::vector<at::Tensor> params;
        if (cfg.hidden > 0) {
            m.w1 = (at::randn({cfg.hidden, dim}) * std::sqrt(2.0 / dim)).requires_grad_();
            m.b1 = at::zeros({cfg.hidden}).requires_grad_();
            m.w2 = (at::randn({C, cfg.hidden}) * std::sqrt(1.0 / cfg.hidden)).requires_grad_();
            params = {m.w1, m.b1};
        } else {
            m.w2 = at::zeros({C, dim}).requires_grad_();
        }
        m.b2 = at::zeros({C}).requires_grad_();
        params.push_back(m.w2);
        params.push_back(m.b2);
        auto fwd = [&](const at::Tensor &z) {
            if (cfg.hidden > 0)
                return at::addmm(m.b2, at::relu(at::addmm(m.b1, z, m.w1.t())), m.w2.t());
            return at::addmm(m.b2, z, m.w2.t());
        };
        torch::optim::Adam opt(params, torch::optim::AdamOptions(cfg.lr));
        const double nTotal = static_cast<double>(posIdx.size() + negIdx.size());
        for (int step = 0; step < cfg.steps; ++step) {
            opt.zero_grad();
            at::Tensor loss = at::zeros({});
            if (!posIdx.empty()) {
                const at::Tensor lp = at::log_softmax(fwd(Zp), 1);
                loss = loss - (lp.gather(1, pC.view({-1, 1})).squeeze(1) * pW).sum() / nTotal;
            }
            if (!negIdx.empty()) {
                const at::Tensor p = at::softmax(fwd(Zn), 1).gather(1, nC.view({-1, 1})).squeeze(1);
                loss = loss - at::log1p(-p.clamp_max(1.0 - 1e-6)).sum() / nTotal;
            }
            if (!unIdx.empty()) {
                const at::Tensor lp = at::log_softmax(fwd(Zu), 1);
                loss = loss - lp.gather(1, uC.view({-1, 1})).sum() * (cfg.unlabeledWeight / nTotal);
            }
            loss = loss + cfg.l2 * m.w2.pow(2).sum();
            if (cfg.hidden > 0)
                loss = loss + cfg.l2 * m.w1.pow(2).sum();
            loss.backward();
            opt.step();
        }
        for (at::Tensor *t : {&m.w1, &m.b1, &m.w2, &m.b2})
            if (t->defined())
                *t = t->detach().contiguous();
        m.fold();
        // The prior restricted to this head's classes (null when it does not
        // fit). Both heads are linear in the raw features once their
        // standardisation is folded in, so the blend is one logistic head.
        const auto p = cfg.prior && cfg.hidden == 0 && static_cast<int>(cfg.priorClassRows.size()) == C
                           ? fromPrior(*cfg.prior, cfg.priorClassRows) : nullptr;
        if (p && p->d->dim == dim) {
            const double w = std::clamp(static_cast<double>(cfg.priorWeight), 0.0, 1.0);
            m.w2 = ((1 - w) * m.foldedW + w * p->d->foldedW).contiguous();
            m.b2 = ((1 - w) * m.foldedB + w * p->d->foldedB).contiguous();
            m.mean = at::zeros({dim});
            m.invStd = at::ones({dim});
            m.fold();
            m.blended = true;
        }
        return h;
    } catch (const std::exception &e) {
        if (error) *error = std::string("training failed: ") + e.what();
        return nullptr;
    }
}

std::unique_ptr<Head> Head::fromPrior(const Head &prior, const std::vector<int> &rows)
{
    const Impl &q = *prior.d;
    if (q.hidden != 0 || rows.size() < 2 ||
        !std::all_of(rows.begin(), rows.end(), [&q](int r) { return r >= 0 && r < q.classes; }))
        return nullptr;
    std::unique_ptr<Head> h(new Head);
    Impl &m = *h->d;
    m.classes = static_cast<int>(rows.size());
    m.dim = q.dim;
    const at::Tensor sel = at::tensor(std::vector<std::int64_t>(rows.begin(), rows.end()), at::kLong);
    m.w2 = q.foldedW.index_select(0, sel).contiguous();
    m.b2 = q.foldedB.index_select(0, sel).contiguous();
    m.mean = at::zeros({q.dim});
    m.invStd = at::ones({q.dim});
    m.fold();
    return h;
}

HeadMetrics Head::crossValidate(const float *x, int n, int dim, const std::vector<Example> &examples,
                                const HeadConfig &cfg, int folds)
{
    HeadMetrics r;
    const auto t0 = std::chrono::steady_clock::now();
    const int C = cfg.numClasses;
    std::vector<std::size_t> pos;
    for (std::size_t i = 0; i < examples.size(); ++i)
        if (examples[i].positive && !examples[i].unlabeled)
            pos.push_back(i);
    r.support.assign(static_cast<std::size_t>(C), 0);
    for (std::size_t i : pos) r.support[static_cast<std::size_t>(examples[i].cls)]++;
    int classesPresent = 0;
    for (int s : r.support) classesPresent += s > 0;
    if (pos.size() < 6 || classesPresent < 2) {
        r.method = "none (too few answers)";
        return r;
    }
    folds = std::min<int>(folds, static_cast<int>(pos.size()));
    std::mt19937_64 rng(cfg.seed);
    std::shuffle(pos.begin(), pos.end(), rng);
    std::vector<int> tp(static_cast<std::size_t>(C), 0), predicted(static_cast<std::size_t>(C), 0);
    int correct = 0;
    std::vector<at::Tensor> heldLogits; // held-out logits and classes, for the temperature
    std::vector<std::int64_t> heldClass;
    for (int f = 0; f < folds; ++f) {
        std::vector<Example> train;
        std::vector<std::size_t> test;
        std::vector<bool> isTest(examples.size(), false);
        for (std::size_t j = 0; j < pos.size(); ++j)
            if (static_cast<int>(j % static_cast<std::size_t>(folds)) == f)
                isTest[pos[j]] = true;
        for (std::size_t i = 0; i < examples.size(); ++i)
            (isTest[i] ? (void)test.push_back(i) : train.push_back(examples[i]));
        std::string err;
        auto h = Head::train(x, n, dim, train, cfg, &err);
        if (!h) continue;
        std::vector<float> p(static_cast<std::size_t>(C));
        for (std::size_t i : test) {
            const float *xi = x + static_cast<std::size_t>(examples[i].row) * static_cast<std::size_t>(dim);
            {
                at::InferenceMode g;
                const at::Tensor z = h->d->logits(at::from_blob(const_cast<float *>(xi), {1, dim}, at::kFloat)).reshape({C});
                heldLogits.push_back(z.clone());
                heldClass.push_back(examples[i].cls);
                std::memcpy(p.data(), at::softmax(z, 0).contiguous().data_ptr<float>(), static_cast<std::size_t>(C) * 4);
            }
            const int best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
            predicted[static_cast<std::size_t>(best)]++;
            if (best == examples[i].cls) {
                ++correct;
                tp[static_cast<std::size_t>(best)]++;
            }
        }
    }
    r.method = std::to_string(folds) + "-fold cross-validation over answered images";
    if (!heldLogits.empty()) {
        at::InferenceMode g;
        const at::Tensor z = at::stack(heldLogits);
        const at::Tensor y = at::tensor(heldClass, at::kLong);
        double best = 1, bestLoss = std::numeric_limits<double>::infinity();
        for (double t = 1; t <= 64.0001; t *= std::sqrt(std::sqrt(2.0))) { // 1 .. 64, 2^(1/4) apart
            const double loss = at::nll_loss(at::log_softmax(z / t, 1), y).item<double>();
            if (loss < bestLoss - 1e-9) {
                bestLoss = loss;
                best = t;
            }
        }
        r.temperature = best;
    }
    r.examples = static_cast<int>(pos.size());
    r.accuracy = static_cast<double>(correct) / static_cast<double>(pos.size());
    for (int c = 0; c < C; ++c) {
        const auto cu = static_cast<std::size_t>(c);
        r.precision.push_back(predicted[cu] ? static_cast<double>(tp[cu]) / predicted[cu] : -1);
        r.recall.push_back(r.support[cu] ? static_cast<double>(tp[cu]) / r.support[cu] : -1);
    }
    r.trainSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

void Head::soften(double temperature)
{
    if (!(temperature > 1))
        return;
    d->w2 = (d->w2 / temperature).contiguous();
    d->b2 = (d->b2 / temperature).contiguous();
    d->fold();
}

void Head::scoreFloat(const float *rows, std::int64_t n, float *probs) const
{
    at::InferenceMode g;
    for (std::int64_t s = 0; s < n; s += kChunk) {
        const std::int64_t m = std::min(kChunk, n - s);
        const at::Tensor x = at::from_blob(const_cast<float *>(rows + s * d->dim), {m, d->dim}, at::kFloat);
        const at::Tensor p = at::softmax(d->logits(x), 1).contiguous();
        std::memcpy(probs + s * d->classes, p.data_ptr<float>(), static_cast<std::size_t>(p.numel()) * 4);
    }
}

void Head::scoreHalf(const std::uint16_t *rows, std::int64_t n, float *probs) const
{
    if (d->linear) {
        // Logistic head: no torch in the loop. Every thread takes a contiguous
        // share of the rows in blocks of 240, whose logits stay in L1 for the
        // softmax (the whole pass allocates nothing).
        const LinearHalf &linear = *d->linear;
        const int C = d->classes;
        const int D = d->dim;
        const int threads = n >= 4096 ? std::max(1, at::get_num_threads()) : 1;
        parallelRanges(n, threads, [&](std::int64_t from, std::int64_t to) {
            constexpr std::int64_t kBlock = 240;
            for (std::int64_t s = from; s < to; s += kBlock) {
                const std::int64_t m = std::min(kBlock, to - s);
                linear.logits(rows + s * D, m, probs + s * C);
                softmaxRows(probs + s * C, m, C);
            }
        });
        return;
    }
    at::InferenceMode g;
    for (std::int64_t s = 0; s < n; s += kChunk) {
        const std::int64_t m = std::min(kChunk, n - s);
        const at::Tensor p = at::softmax(d->logits(rowsHalf(rows + s * d->dim, m, d->dim)), 1).contiguous();
        std::memcpy(probs + s * d->classes, p.data_ptr<float>(), static_cast<std::size_t>(p.numel()) * 4);
    }
}

bool Head::save(const std::string &path, std::string *error) const
{
    std::string buf(kHeadMagic, 8);
    auto i32 = [&](std::int32_t v) { buf.append(reinterpret_cast<const char *>(&v), 4); };
    auto tensor = [&](const at::Tensor &t) {
        if (!t.defined()) { i32(0); return; }
        const at::Tensor c = t.contiguous().to(at::kFloat);
        i32(static_cast<std::int32_t>(c.numel()));
        buf.append(reinterpret_cast<const char *>(c.data_ptr<float>()), static_cast<std::size_t>(c.numel()) * 4);
    };
    i32(d->classes);
    i32(d->dim);
    i32(d->hidden);
    for (const at::Tensor *t : {&d->mean, &d->invStd, &d->w1, &d->b1, &d->w2, &d->b2})
        tensor(*t);
    const std::uint64_t sum = fnv1a64(buf.data(), buf.size());
    buf.append(reinterpret_cast<const char *>(&sum), 8);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (!out) {
            if (error) *error = "cannot write " + tmp;
            return false;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        if (error) *error = "cannot rename " + tmp;
        return false;
    }
    return true;
}

std::unique_ptr<Head> Head::load(const std::string &path, std::string *error)
{
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < 28 || std::memcmp(data.data(), kHeadMagic, 8) != 0) {
        if (error) *error = path + ": not a Magpie model file";
        return nullptr;
    }
    std::uint64_t sum = 0;
    std::memcpy(&sum, data.data() + data.size() - 8, 8);
    if (fnv1a64(data.data(), data.size() - 8) != sum) {
        if (error) *error = path + ": checksum mismatch (corrupt model file)";
        return nullptr;
    }
    const char *p = data.data() + 8;
    const char *end = data.data() + data.size() - 8;
    bool ok = true;
    auto i32 = [&]() {
        std::int32_t v = 0;
        if (end - p < 4) { ok = false; return v; }
        std::memcpy(&v, p, 4);
        p += 4;
        return v;
    };
    auto tensor = [&]() {
        const std::int32_t k = i32();
        if (k <= 0 || end - p < static_cast<std::ptrdiff_t>(k) * 4) return at::Tensor();
        at::Tensor t = at::empty({k});
        std::memcpy(t.data_ptr<float>(), p, static_cast<std::size_t>(k) * 4);
        p += static_cast<std::ptrdiff_t>(k) * 4;
        return t;
    };
    std::unique_ptr<Head> h(new Head);
    Impl &m = *h->d;
    m.classes = i32();
    m.dim = i32();
    m.hidden = i32();
    if (!ok || m.classes < 2 || m.dim <= 0 || m.hidden < 0) {
        if (error) *error = path + ": malformed model file";
        return nullptr;
    }
    m.mean = tensor();
    m.invStd = tensor();
    m.w1 = tensor();
    m.b1 = tensor();
    m.w2 = tensor();
    m.b2 = tensor();
    const int in2 = m.hidden > 0 ? m.hidden : m.dim;
    if (!m.mean.defined() || !m.w2.defined() || m.w2.numel() != m.classes * in2 || !m.b2.defined()
        || (m.hidden > 0 && (!m.w1.defined() || m.w1.numel() != m.hidden * m.dim))) {
        if (error) *error = path + ": malformed model file";
        return nullptr;
    }
    m.w2 = m.w2.view({m.classes, in2});
    if (m.hidden > 0)
        m.w1 = m.w1.view({m.hidden, m.dim});
    m.fold();
    return h;
}

std::vector<float> maxCosineToSet(const std::uint16_t *rows, std::int64_t n, int dim, const float *set, int m)
{
    std::vector<float> out(static_cast<std::size_t>(n), -1.0f);
    if (m <= 0) return out;
    at::InferenceMode g;
    at::Tensor S = at::from_blob(const_cast<float *>(set), {m, dim}, at::kFloat).clone();
    S = S / (S.norm(2, {1}, true) + 1e-12);
    for (std::int64_t s = 0; s < n; s += kChunk) {
        const std::int64_t c = std::min(kChunk, n - s);
        at::Tensor x = rowsHalf(rows + s * dim, c, dim);
        x = x / (x.norm(2, {1}, true) + 1e-12);
        const at::Tensor mx = std::get<0>(at::mm(x, S.t()).max(1)).contiguous();
        std::memcpy(out.data() + s, mx.data_ptr<float>(), static_cast<std::size_t>(c) * 4);
    }
    return out;
}

} // namespace magpie::training
