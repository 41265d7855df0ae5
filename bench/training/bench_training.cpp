// bench_training [embed|retrain|score|similar|all] [--threads N] [--rows N]
// Engine benchmarks on synthetic inputs; prints one JSON object per figure
// with the median of several runs. The learning-curve and themes figures run
// through magpie-cli (bench/training/curator.py).
#include "training/backbone.h"
#include "training/engine.h"
#include "training/head.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
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

void benchEmbed(int batch, int runs)
{
    std::string err;
    auto b = Backbone::load(MAGPIE_BACKBONE_FILE, &err);
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
    std::printf("{\"figure\":\"embed_network\",\"backbone\":\"%s\",\"batch\":%d,\"threads\":%d,\"images_per_second\":%.1f}\n",
                b->info().version.c_str(), batch, threadCount(), median(ips));
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
    std::vector<double> secs;
    for (int r = 0; r < runs; ++r) {
        const auto t = Clock::now();
        h->scoreHalf(data.data(), rows, probs.data());
        secs.push_back(since(t));
    }
    std::printf("{\"figure\":\"rescore\",\"rows\":%lld,\"classes\":%d,\"seconds\":%.3f}\n", static_cast<long long>(rows),
                classes, median(secs));
}

void benchSimilar(std::int64_t rows, int runs, const std::vector<std::uint16_t> &data)
{
    const int dim = 1536;
    std::vector<double> secs;
    std::vector<float> q(static_cast<std::size_t>(dim));
    for (int r = 0; r < runs; ++r) {
        for (int i = 0; i < dim; ++i) q[static_cast<std::size_t>(i)] = halfToFloat(data[static_cast<std::size_t>(r * dim + i)]);
        const auto t = Clock::now();
        const auto nn = nearestHalf(data.data(), rows, dim, q.data(), 50);
        secs.push_back(since(t));
    }
    std::printf("{\"figure\":\"similar_exact\",\"rows\":%lld,\"k\":50,\"milliseconds\":%.1f}\n", static_cast<long long>(rows),
                1000 * median(secs));
}

} // namespace

int main(int argc, char **argv)
{
    std::string what = "all";
    int threads = 0;
    std::int64_t rows = 1000000;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--rows" && i + 1 < argc) rows = std::atoll(argv[++i]);
        else if (a == "--info") { initRuntime(threads); std::printf("%s\n", buildInfo().c_str()); return 0; }
        else what = a;
    }
    initRuntime(threads);
    if (what == "embed" || what == "all") {
        benchEmbed(32, 5);
    }
    if (what == "retrain" || what == "all") {
        benchRetrain(5000, 2, 3);
        benchRetrain(5000, 27, 3);
    }
    if (what == "score" || what == "similar" || what == "all") {
        const auto data = randomHalf(rows, 1536, 4);
        if (what != "similar") {
            benchScore(rows, 2, 3, data);
            benchScore(rows, 27, 3, data);
        }
        if (what != "score") benchSimilar(rows, 5, data);
    }
    return 0;
}
