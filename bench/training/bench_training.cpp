// bench_training [embed|retrain|score|similar|deep|device|all] [--threads N] [--rows N]
//                [--embeddings FILE.f16[,FILE...]] [--backbone FILE.mbb] [--batch N] [--images N] [--epochs N]
//                [--tune-from N] [--features-out FILE] [--images-out FILE]
// Engine benchmarks on synthetic inputs; prints one JSON object per figure
// with the median of several runs. The learning-curve and themes figures run
// through magpie-cli (bench/training/curator.py).
//
// Every figure but `similar` needs only the engine (LibTorch + std): built
// with -DMAGPIE_ENGINE_ONLY=ON (bench/gpu/run.sh) it runs on a machine that
// has LibTorch and nothing else, on its GPU when LibTorch sees one.
//
// deep: one deep pass (fineTune) on --images synthetic images (default 5,000)
// for --epochs (default 5), 27 classes, blocks --tune-from (default 9, as
// `train --deep`) to 10 tuned; reports wall and CPU seconds and images/s.
// Not in `all` (minutes on two CPU cores).
//
// similar: exact cosine and the approximate index (core/similarityindex) over
// N clustered synthetic embeddings whose neighbour statistics match real ones
// (see clusteredHalf); recall@50 against exact search. --embeddings FILE
// also measures recall on real embedding caches with the index forced on
// (32 lists, a quarter probed, only 2k candidates re-ranked).
// MAGPIE_BENCH_SWEEP=1 adds a sweep over probes and candidates.
#ifndef MAGPIE_ENGINE_ONLY
#include "core/similarityindex.h"

#include <QString>
#endif
#include "app/common/ompenv.h"
#include "training/backbone.h"
#include "training/engine.h"
#include "training/finetune.h"
#include "training/head.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <immintrin.h>
#include <iterator>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace magpie::training;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The 1, 5 and 15 minute load averages: the development machine is shared.
std::string loadAverage()
{
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

std::string g_backbone = MAGPIE_BACKBONE_FILE;

// Images that look like something (smooth blobs and strokes on paper), not
// noise: timings do not depend on content, but a deep pass's loss then means
// something.
std::vector<std::uint8_t> syntheticImages(int n, int S, int classes, std::vector<int> *labels, unsigned seed)
{
    std::vector<std::uint8_t> img(static_cast<std::size_t>(n) * S * S * 3);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    if (labels) labels->clear();
    for (int i = 0; i < n; ++i) {
        const int c = i % classes;
        if (labels) labels->push_back(c);
        const float cx = 0.3f + 0.4f * u(rng), cy = 0.3f + 0.4f * u(rng);
        const float angle = 3.14159f * c / classes, r = 0.15f + 0.2f * u(rng);
        const float paper = 200 + 40 * u(rng);
        std::uint8_t *p = img.data() + static_cast<std::size_t>(i) * S * S * 3;
        for (int y = 0; y < S; ++y)
            for (int x = 0; x < S; ++x) {
                const float fx = float(x) / S - cx, fy = float(y) / S - cy;
                const float along = fx * std::cos(angle) + fy * std::sin(angle);
                const float across = -fx * std::sin(angle) + fy * std::cos(angle);
                const bool ink = std::abs(across) < 0.04f && std::abs(along) < r;
                const float v = ink ? 40.0f : paper - 30.0f * (fx * fx + fy * fy);
                for (int k = 0; k < 3; ++k)
                    p[(y * S + x) * 3 + k] = static_cast<std::uint8_t>(std::clamp(v + (k == 2 ? -15.0f : 0.0f), 0.0f, 255.0f));
            }
    }
    return img;
}

void benchEmbed(int batch, int runs)
{
    std::string err;
    auto b = Backbone::load(g_backbone, &err);
    if (!b) { std::fprintf(stderr, "%s\n", err.c_str()); return; }
    const int S = b->info().inputSize;
    std::vector<std::uint8_t> img(static_cast<std::size_t>(batch * S * S * 3));
    std::mt19937 rng(1);
    for (auto &p : img) p = static_cast<std::uint8_t>(rng());
    std::vector<float> out(static_cast<std::size_t>(batch * b->info().featureDim));
    b->embed(img.data(), batch, out.data(), &err); // warm-up
    std::vector<double> ips;
    for (int r = 0; r < runs; ++r) {
        const auto t = Clock::now();
        b->embed(img.data(), batch, out.data(), &err);
        ips.push_back(batch / since(t));
    }
    std::printf("{\"figure\":\"embed_network\",\"backbone\":\"%s\",\"device\":\"%s\",\"batch\":%d,\"threads\":%d,"
                "\"images_per_second\":%.1f}\n",
                b->info().version.c_str(), deviceName().c_str(), batch, threadCount(), median(ips));
}

// One deep pass as Curator runs it (27 classes).
void benchDeep(int images, int epochs, int tuneFrom)
{
    std::string err;
    auto b = Backbone::load(g_backbone, &err);
    if (!b) { std::fprintf(stderr, "%s\n", err.c_str()); return; }
    std::vector<int> labels;
    const auto img = syntheticImages(images, b->info().inputSize, 27, &labels, 7);
    FineTuneConfig cfg;
    cfg.numClasses = 27;
    cfg.epochs = epochs;
    cfg.firstBlock = tuneFrom;
    cfg.timeBoxSeconds = 1e9;
    char out[] = "/tmp/magpie-bench-deep-XXXXXX";
    const int fd = mkstemp(out);
    if (fd >= 0) close(fd);
    FineTuneReport r;
    const auto t = Clock::now();
    const std::clock_t c0 = std::clock();
    const bool ok = fineTune(g_backbone, img.data(), images, labels, cfg, out, &r, &err);
    const double wall = since(t), cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    std::remove(out);
    if (!ok) { std::fprintf(stderr, "deep pass failed: %s\n", err.c_str()); return; }
    std::printf("{\"figure\":\"deep_pass\",\"device\":\"%s\",\"images\":%d,\"epochs\":%d,\"tune_from\":%d,\"seconds\":%.1f,"
                "\"cpu_seconds\":%.1f,\"images_per_second\":%.1f,\"last_epoch_loss\":%.3f,\"threads\":%d,\"load\":\"%s\"}\n",
                deviceName().c_str(), images, r.epochs, tuneFrom, wall, cpu, double(images) * r.epochs / wall, r.lastEpochLoss,
                threadCount(), loadAverage().c_str());
}

// The features of 16 synthetic images on this process's device, written to
// `path` as raw floats: bench/gpu/run.sh runs it once on the GPU and once with
// MAGPIE_DEVICE=cpu and compares the two files. `imagesOut`: the 16 images
// themselves (16 x S x S x 3 uint8, HWC), for checking a TorchScript file in
// Python against the engine (bench/gpu/torchscript_check.py).
void checkDevice(const std::string &path, const std::string &imagesOut)
{
    std::string err;
    auto b = Backbone::load(g_backbone, &err);
    if (!b) { std::fprintf(stderr, "%s\n", err.c_str()); return; }
    const int n = 16, D = b->info().featureDim;
    const auto img = syntheticImages(n, b->info().inputSize, 27, nullptr, 9);
    if (!imagesOut.empty())
        std::ofstream(imagesOut, std::ios::binary).write(reinterpret_cast<const char *>(img.data()), static_cast<std::streamsize>(img.size()));
    std::vector<float> here(static_cast<std::size_t>(n * D));
    const bool ok = b->embed(img.data(), n, here.data(), &err);
    if (ok && !path.empty()) std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(here.data()),
                                                                        static_cast<std::streamsize>(here.size() * sizeof(float)));
    if (!ok) std::fprintf(stderr, "%s\n", err.c_str());
    std::printf("{\"figure\":\"device\",\"device\":\"%s\",\"embed_ok\":%s,\"feature_dim\":%d,\"first\":%.5f}\n",
                deviceName().c_str(), ok ? "true" : "false", D, ok ? here[0] : 0.0f);
}

std::vector<std::uint16_t> randomHalf(std::int64_t n, int dim, unsigned seed)
{
    std::vector<std::uint16_t> h(static_cast<std::size_t>(n * dim));
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::vector<std::uint16_t> table(4096);
    for (auto &t : table) t = floatToHalf(g(rng));
    for (auto &v : h) v = table[rng() & 4095];
    return h;
}

void benchRetrain(int answers, int classes, int runs)
{
    const int dim = 1536;
    std::vector<float> x(static_cast<std::size_t>(answers * dim));
    std::mt19937 rng(2);
    std::normal_distribution<float> g(0, 1);
    for (auto &v : x) v = g(rng);
    std::vector<Example> ex;
    for (int i = 0; i < answers; ++i) ex.push_back({i, i % classes, (i % 7) != 0});
    HeadConfig cfg;
    cfg.numClasses = classes;
    if (const char *st = std::getenv("MAGPIE_BENCH_STEPS")) cfg.steps = std::atoi(st);
    std::vector<double> secs;
    std::string err;
    for (int r = 0; r < runs; ++r) {
        const auto t = Clock::now();
        auto h = Head::train(x.data(), answers, dim, ex, cfg, &err);
        secs.push_back(since(t));
    }
    std::printf("{\"figure\":\"fast_retrain\",\"answers\":%d,\"classes\":%d,\"steps\":%d,\"seconds\":%.3f}\n", answers,
                classes, cfg.steps, median(secs));
}

void benchScore(std::int64_t rows, int classes, int runs, const std::vector<std::uint16_t> &data)
{
    const int dim = 1536;
    std::vector<float> x(static_cast<std::size_t>(200 * dim));
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0, 1);
    for (auto &v : x) v = g(rng);
    std::vector<Example> ex;
    for (int i = 0; i < 200; ++i) ex.push_back({i, i % classes, true});
    HeadConfig cfg;
    cfg.numClasses = classes;
    cfg.steps = 5;
    std::string err;
    auto h = Head::train(x.data(), 200, dim, ex, cfg, &err);
    std::vector<float> probs(static_cast<std::size_t>(rows * classes));
    std::vector<double> secs, cpu;
    std::string each;
    for (int r = 0; r < runs; ++r) {
        const auto t = Clock::now();
        const std::clock_t c0 = std::clock();
        h->scoreHalf(data.data(), rows, probs.data());
        secs.push_back(since(t));
        cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
        each += (r ? "," : "") + std::to_string(secs.back()).substr(0, 5);
    }
    // cpu_seconds: CPU time of all threads (what the kernel costs, whatever
    // else the machine is running); seconds: wall clock.
    std::printf("{\"figure\":\"rescore\",\"rows\":%lld,\"classes\":%d,\"seconds\":%.3f,\"runs\":[%s],\"cpu_seconds\":%.3f,"
                "\"threads\":%d,\"kernel\":\"%s\",\"load\":\"%s\"}\n",
                static_cast<long long>(rows), classes, median(secs), each.c_str(), median(cpu), threadCount(),
                std::getenv("MAGPIE_NO_AVX512") ? "avx2 (MAGPIE_NO_AVX512)" : "best available", loadAverage().c_str());
}

#ifndef MAGPIE_ENGINE_ONLY
// Clustered synthetic embeddings, calibrated on real ones: on the 3,065
// development images (initials + themes, default backbone) the median cosine
// to the nearest / 50th nearest other image is 0.82 / 0.69 and 0.39 to any
// image; clusters of 50 drawn from a power-law spectrum (variance of the k-th
// axis ~ k^-1.3, within-cluster spread equal to the spread of the centres)
// plus a shared direction give 0.83 / 0.68 / 0.36 at the same size. Row i
// belongs to cluster hash(i) % (n / 50).
__attribute__((target("avx2,f16c"))) void toHalfF16c(const float *in, std::uint16_t *out, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), 0));
    for (; i < n; ++i) out[i] = floatToHalf(in[i]);
}

std::vector<std::uint16_t> clusteredHalf(std::int64_t n, int dim, unsigned seed)
{
    const bool f16c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    std::vector<float> sd(static_cast<std::size_t>(dim));
    double total = 0;
    for (int k = 0; k < dim; ++k) total += std::pow(k + 1.0, -1.3);
    for (int k = 0; k < dim; ++k) sd[static_cast<std::size_t>(k)] = static_cast<float>(std::sqrt(std::pow(k + 1.0, -1.3) / total));
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::vector<float> normals(1 << 16);
    for (auto &v : normals) v = g(rng);
    const std::int64_t K = std::max<std::int64_t>(1, n / 50);
    std::vector<float> centres(static_cast<std::size_t>(K * dim));
    for (std::int64_t c = 0; c < K; ++c)
        for (int k = 0; k < dim; ++k) centres[static_cast<std::size_t>(c * dim + k)] = g(rng) * sd[static_cast<std::size_t>(k)];
    std::vector<float> shared(static_cast<std::size_t>(dim));
    double sn = 0;
    for (auto &v : shared) { v = g(rng); sn += double(v) * v; }
    for (auto &v : shared) v = static_cast<float>(v / std::sqrt(sn));
    std::vector<std::uint16_t> h(static_cast<std::size_t>(n * dim));
    auto fill = [&](std::int64_t from, std::int64_t to) {
        std::vector<float> x(static_cast<std::size_t>(dim));
        for (std::int64_t i = from; i < to; ++i) {
            std::uint64_t z = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull + seed;
            auto next = [&z] { z ^= z >> 30; z *= 0xBF58476D1CE4E5B9ull; z ^= z >> 27; z *= 0x94D049BB133111EBull; z ^= z >> 31; return z; };
            const float *c = centres.data() + static_cast<std::size_t>(static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(K)) * dim);
            double n2 = 0;
            for (int k = 0; k < dim; k += 4) {
                const std::uint64_t r = next();
                for (int j = 0; j < 4 && k + j < dim; ++j) {
                    const float v = c[k + j] + normals[(r >> (16 * j)) & 0xffff] * sd[static_cast<std::size_t>(k + j)];
                    x[static_cast<std::size_t>(k + j)] = v;
                    n2 += double(v) * v;
                }
            }
            const float s = static_cast<float>(0.8 / std::sqrt(n2));
            for (int k = 0; k < dim; ++k) x[static_cast<std::size_t>(k)] = x[static_cast<std::size_t>(k)] * s + 0.6f * shared[static_cast<std::size_t>(k)];
            std::uint16_t *o = h.data() + static_cast<std::size_t>(i * dim);
            if (f16c) toHalfF16c(x.data(), o, dim);
            else for (int k = 0; k < dim; ++k) o[k] = floatToHalf(x[static_cast<std::size_t>(k)]);
        }
    };
    std::thread other(fill, n / 2, n);
    fill(0, n / 2);
    other.join();
    return h;
}

double recallAt(const std::vector<magpie::Neighbour> &truth, const std::vector<magpie::Neighbour> &got)
{
    if (truth.empty()) return 1;
    std::vector<std::int64_t> a, b;
    for (const auto &n : truth) a.push_back(n.row);
    for (const auto &n : got) b.push_back(n.row);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<std::int64_t> both;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
    return static_cast<double>(both.size()) / static_cast<double>(truth.size());
}

// Exact and approximate top-50 over `data`; `forceIndex`: the index even below
// the default exact threshold (for small real caches).
void benchSimilar(const char *name, std::int64_t rows, int dim, const std::vector<std::uint16_t> &data, bool forceIndex)
{
    const int k = 50, queries = 50;
    magpie::HalfRows hr{data.data(), rows, dim, {}};
    magpie::SimilarityIndexOptions opt;
    if (forceIndex) { // a small real cache: index forced on, re-ranking only 2k candidates
        opt.exactBelow = 0;
        opt.lists = 32;
        opt.candidates = 2 * k;
    }
    char tmpl[] = "/tmp/magpie-bench-simXXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) ::close(fd);
    const QString path = QString::fromLocal8Bit(tmpl);
    std::vector<std::vector<magpie::Neighbour>> truth;
    std::vector<double> exactMs, approxMs, recalls;
    std::vector<std::int64_t> qrows;
    for (int i = 0; i < queries; ++i) qrows.push_back((static_cast<std::int64_t>(i) * 7919 * 104729) % rows);
    std::vector<float> q(static_cast<std::size_t>(dim));
    auto query = [&](std::int64_t r) { for (int j = 0; j < dim; ++j) q[static_cast<std::size_t>(j)] = halfToFloat(data[static_cast<std::size_t>(r * dim + j)]); };
    for (int i = 0; i < queries; ++i) {
        query(qrows[static_cast<std::size_t>(i)]);
        const std::int64_t self = qrows[static_cast<std::size_t>(i)];
        const auto t = Clock::now();
        truth.push_back(magpie::SimilarityIndex::exactSearch(hr, q.data(), k, [self](std::int64_t r) { return r != self; }));
        if (i < 5) exactMs.push_back(1000 * since(t));
    }
    std::remove(tmpl);
    double buildS = 0, loadS = 0, extendS = 0;
    {
        magpie::SimilarityIndex index(path, opt);
        const auto t = Clock::now();
        QString err;
        const std::int64_t base = forceIndex ? rows : rows - rows / 100; // extend by the last 1 % afterwards
        if (!index.update(magpie::HalfRows{data.data(), base, dim, {}}, nullptr, &err))
            std::fprintf(stderr, "index: %s\n", err.toLocal8Bit().constData());
        buildS = since(t);
        const auto te = Clock::now();
        index.update(hr, nullptr, &err);
        extendS = since(te);
    }
    std::vector<std::pair<int, int>> configs{{opt.probes, opt.candidates}}; // (probes, candidates); 0: the defaults
    if (std::getenv("MAGPIE_BENCH_SWEEP"))
        for (int p : {64, 128, 256, 512, 1024})
            for (int c : {1024, 2048, 4096}) configs.push_back({p, c});
    for (const auto &[probes, candidates] : configs) {
        magpie::SimilarityIndexOptions o = opt;
        o.probes = probes;
        o.candidates = candidates;
        magpie::SimilarityIndex index(path, o);
        magpie::SimilaritySearchInfo info;
        approxMs.clear();
        recalls.clear();
        for (int i = 0; i < queries; ++i) {
            query(qrows[static_cast<std::size_t>(i)]);
            const std::int64_t self = qrows[static_cast<std::size_t>(i)];
            const auto t = Clock::now();
            const auto got = index.search(hr, q.data(), k, [self](std::int64_t r) { return r != self; }, &info);
            if (i == 0) loadS = since(t); // includes loading the index file
            else approxMs.push_back(1000 * since(t));
            recalls.push_back(recallAt(truth[static_cast<std::size_t>(i)], got));
        }
        double recall = 0;
        for (double r : recalls) recall += r;
        recall /= static_cast<double>(recalls.size());
        std::ifstream f(tmpl, std::ios::binary | std::ios::ate);
        const double mb = f ? static_cast<double>(f.tellg()) / 1e6 : 0;
        std::printf("{\"figure\":\"similar\",\"data\":\"%s\",\"rows\":%lld,\"dim\":%d,\"k\":%d,\"exact_ms\":%.1f,"
                    "\"approximate_ms\":%.2f,\"approximate_p90_ms\":%.2f,\"queries\":%d,\"recall_at_50\":%.3f,"
                    "\"approximate\":%s,\"probes\":%d,\"candidates\":%d,\"index_build_s\":%.1f,\"extend_1pct_s\":%.2f,"
                    "\"first_query_with_load_s\":%.2f,\"index_mb\":%.1f,\"load\":\"%s\"}\n",
                    name, static_cast<long long>(rows), dim, k, median(exactMs), median(approxMs),
                    [&] { auto v = approxMs; std::sort(v.begin(), v.end()); return v[v.size() * 9 / 10]; }(), queries,
                    recall, info.approximate ? "true" : "false", probes, candidates, buildS, extendS, loadS, mb,
                    loadAverage().c_str());
        std::fflush(stdout);
    }
    std::remove(tmpl);
}


// A real embedding cache (embeddings-*.f16 of a library) for the recall figure.
std::vector<std::uint16_t> readCache(const std::string &path, std::int64_t *rows, int *dim)
{
    std::ifstream in(path, std::ios::binary);
    char header[16] = {};
    in.read(header, 16);
    std::int32_t d = 0;
    std::memcpy(&d, header + 8, 4);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    *dim = d;
    *rows = d > 0 ? static_cast<std::int64_t>(bytes.size() / (static_cast<std::size_t>(d) * 2)) : 0;
    std::vector<std::uint16_t> h(static_cast<std::size_t>(*rows * d));
    std::memcpy(h.data(), bytes.data(), h.size() * 2);
    return h;
}
#endif

} // namespace

int main(int argc, char **argv)
{
    magpie::app::ensurePassiveOpenMp(argv); // as magpie and magpie-cli start (malloc and OpenMP settings)
    std::string what = "all";
    int threads = 0;
    std::int64_t rows = 1000000;
    std::string embeddings;
    int batch = 32, images = 5000, epochs = 5, tuneFrom = 9;
    std::string featuresOut;
    std::string imagesOut;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--backbone" && i + 1 < argc) g_backbone = argv[++i];
        else if (a == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
        else if (a == "--images" && i + 1 < argc) images = std::atoi(argv[++i]);
        else if (a == "--epochs" && i + 1 < argc) epochs = std::atoi(argv[++i]);
        else if (a == "--features-out" && i + 1 < argc) featuresOut = argv[++i];
        else if (a == "--images-out" && i + 1 < argc) imagesOut = argv[++i];
        else if (a == "--tune-from" && i + 1 < argc) tuneFrom = std::atoi(argv[++i]);
        else if (a == "--embeddings" && i + 1 < argc) embeddings = argv[++i];
        else if (a == "--rows" && i + 1 < argc) rows = std::atoll(argv[++i]);
        else if (a == "--info") { initRuntime(threads); std::printf("%s\n", buildInfo().c_str()); return 0; }
        else what = a;
    }
    initRuntime(threads);
    if (what == "device") checkDevice(featuresOut, imagesOut);
    if (what == "embed" || what == "all") {
        benchEmbed(batch, 5);
    }
    if (what == "deep") benchDeep(images, epochs, tuneFrom);
    if (what == "retrain" || what == "all") {
        benchRetrain(5000, 2, 3);
        benchRetrain(5000, 27, 3);
    }
    if (what == "score" || what == "all") {
        const auto data = randomHalf(rows, 1536, 4);
        benchScore(rows, 2, 3, data);
        benchScore(rows, 27, 3, data);
    }
#ifndef MAGPIE_ENGINE_ONLY
    if (what == "similar" || what == "all") {
        if (!embeddings.empty()) { // FILE[,FILE...]: caches of one backbone, concatenated
            std::vector<std::uint16_t> real;
            std::int64_t n = 0;
            int dim = 0;
            std::size_t from = 0;
            while (from <= embeddings.size()) {
                const std::size_t comma = std::min(embeddings.find(',', from), embeddings.size());
                std::int64_t rows1 = 0;
                const auto part = readCache(embeddings.substr(from, comma - from), &rows1, &dim);
                real.insert(real.end(), part.begin(), part.end());
                n += rows1;
                from = comma + 1;
            }
            if (n > 0) benchSimilar("real-caches", n, dim, real, true);
        }
        const auto t = Clock::now();
        const auto data = clusteredHalf(rows, 1536, 5);
        std::fprintf(stderr, "made %lld clustered rows in %.1f s\n", static_cast<long long>(rows), since(t));
        benchSimilar("clustered-synthetic", rows, 1536, data, false);
    }
#endif
    return 0;
}
