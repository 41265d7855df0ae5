#include "core/tsne.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace magpie {

namespace {

// Runs fn(first, step) on `threads` threads over an interleaved split of the
// rows (row i goes to thread i % threads), so that each gets a fair share of
// triangular work too.
template<typename Fn>
void parallelRows(int threads, Fn fn)
{
    if (threads <= 1) {
        fn(0, 1);
        return;
    }
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(fn, t, threads);
    fn(0, threads);
    for (std::thread &th : pool)
        th.join();
}

float dot(const float *a, const float *b, int d)
{
    float s[8] = {};
    int c = 0;
    for (; c + 8 <= d; c += 8)
        for (int k = 0; k < 8; ++k)
            s[k] += a[c + k] * b[c + k];
    float total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; c < d; ++c)
        total += a[c] * b[c];
    return total;
}

struct Sparse // symmetric affinities, row by row
{
    std::vector<int> start; // n + 1
    std::vector<int> col;
    std::vector<float> p;
};

// Conditional affinities p(j|i) over each row's k nearest neighbours, with the
// Gaussian's width found by bisection so that the row's perplexity is
// `perplexity`; then symmetrised, (p(j|i) + p(i|j)) / 2n.
Sparse affinities(const std::vector<float> &dist2, int n, double perplexity, int threads)
{
    const int k = std::min(n - 1, std::max(1, int(3 * perplexity)));
    std::vector<int> nbr(static_cast<size_t>(n) * size_t(k));
    std::vector<float> cond(static_cast<size_t>(n) * size_t(k));
    const double target = std::log(perplexity);
    parallelRows(threads, [&](int first, int step) {
        std::vector<std::pair<float, int>> row(size_t(n - 1));
        std::vector<double> pj(static_cast<size_t>(k));
        for (int i = first; i < n; i += step) {
            size_t m = 0;
            for (int j = 0; j < n; ++j)
                if (j != i)
                    row[m++] = {dist2[size_t(i) * size_t(n) + size_t(j)], j};
            std::nth_element(row.begin(), row.begin() + (k - 1), row.end());
            std::sort(row.begin(), row.begin() + k);
            const double d0 = row[0].first;
            double beta = 1, lo = 0, hi = HUGE_VAL;
            for (int it = 0; it < 100; ++it) {
                double sum = 0, sumDP = 0;
                for (int t = 0; t < k; ++t) {
                    const double d = row[size_t(t)].first - d0; // shifted: exp() stays in range
                    pj[size_t(t)] = std::exp(-d * beta);
                    sum += pj[size_t(t)];
                    sumDP += d * pj[size_t(t)];
                }
                const double h = std::log(sum) + beta * sumDP / sum;
                if (std::abs(h - target) < 1e-5)
                    break;
                if (h > target) { // too flat: narrower
                    lo = beta;
                    beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
                } else {
                    hi = beta;
                    beta = (beta + lo) / 2;
                }
            }
            double sum = 0;
            for (int t = 0; t < k; ++t)
                sum += pj[size_t(t)];
            for (int t = 0; t < k; ++t) {
                nbr[size_t(i) * size_t(k) + size_t(t)] = row[size_t(t)].second;
                cond[size_t(i) * size_t(k) + size_t(t)] = float(pj[size_t(t)] / std::max(sum, 1e-300));
            }
        }
    });
    // symmetrise: every (i, j, p) and (j, i, p), merged
    struct Entry { int i, j; float p; };
    std::vector<Entry> e;
    e.reserve(size_t(n) * size_t(k) * 2);
    const float scale = float(1.0 / (2.0 * n));
    for (int i = 0; i < n; ++i)
        for (int t = 0; t < k; ++t) {
            const int j = nbr[size_t(i) * size_t(k) + size_t(t)];
            const float p = cond[size_t(i) * size_t(k) + size_t(t)] * scale;
            e.push_back({i, j, p});
            e.push_back({j, i, p});
        }
    std::sort(e.begin(), e.end(), [](const Entry &a, const Entry &b) { return a.i != b.i ? a.i < b.i : a.j < b.j; });
    Sparse s;
    s.start.assign(size_t(n) + 1, 0);
    for (size_t a = 0; a < e.size();) {
        size_t b = a;
        float p = 0;
        while (b < e.size() && e[b].i == e[a].i && e[b].j == e[a].j)
            p += e[b++].p;
        s.col.push_back(e[a].j);
        s.p.push_back(p);
        ++s.start[size_t(e[a].i) + 1];
        a = b;
    }
    for (int i = 0; i < n; ++i)
        s.start[size_t(i) + 1] += s.start[size_t(i)];
    return s;
}

} // namespace

std::vector<double> tsne2d(const FeatureMatrix &f, quint32 seed, const TsneOptions &o, const std::atomic<bool> *cancel)
{
    const int n = f.rows();
    const int d = f.dim;
    const auto cancelled = [cancel] { return cancel && cancel->load(std::memory_order_relaxed); };
    if (n < 4 || d == 0)
        return principalPlane(f, seed); // too few to have neighbourhoods
    const int threads = std::max(1, o.threads);

    // squared Euclidean distances between all rows
    std::vector<float> norm(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        norm[size_t(i)] = dot(f.row(i), f.row(i), d);
    std::vector<float> dist2(static_cast<size_t>(n) * size_t(n), 0.f);
    parallelRows(threads, [&](int first, int step) {
        for (int i = first; i < n && !cancelled(); i += step)
            for (int j = i + 1; j < n; ++j) {
                const float v = std::max(0.f, norm[size_t(i)] + norm[size_t(j)] - 2 * dot(f.row(i), f.row(j), d));
                dist2[size_t(i) * size_t(n) + size_t(j)] = v;
                dist2[size_t(j) * size_t(n) + size_t(i)] = v;
            }
    });
    if (cancelled())
        return {};
    const double perplexity = std::clamp(o.perplexity, 2.0, std::max(2.0, (n - 1) / 3.0));
    const Sparse P = affinities(dist2, n, perplexity, threads);
    std::vector<float>().swap(dist2);

    // start from the principal plane, scaled small (its order, not its spread)
    const std::vector<double> pca = principalPlane(f, seed);
    double var = 0;
    for (int i = 0; i < n; ++i)
        var += pca[size_t(2 * i)] * pca[size_t(2 * i)];
    const double sd = std::sqrt(var / n);
    std::vector<float> yx(static_cast<size_t>(n)), yy(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        yx[size_t(i)] = float(sd > 0 ? 1e-4 * pca[size_t(2 * i)] / sd : 1e-4 * i / n);
        yy[size_t(i)] = float(sd > 0 ? 1e-4 * pca[size_t(2 * i + 1)] / sd : 0);
    }

    const int iterations = std::max(50, o.iterations);
    const int early = std::min(250, iterations / 3);
    const double exaggeration = 12;
    const double rate = std::max(n / exaggeration / 4, 50.0);
    std::vector<float> gx(static_cast<size_t>(n)), gy(static_cast<size_t>(n)), ux(static_cast<size_t>(n), 0.f), uy(static_cast<size_t>(n), 0.f);
    std::vector<float> gainX(static_cast<size_t>(n), 1.f), gainY(static_cast<size_t>(n), 1.f);
    std::vector<double> zPart(static_cast<size_t>(threads));
    std::vector<float> rx(static_cast<size_t>(n)), ry(static_cast<size_t>(n));
    for (int it = 0; it < iterations; ++it) {
        if (cancelled())
            return {};
        const float exag = float(it < early ? exaggeration : 1.0);
        const float momentum = it < early ? 0.5f : 0.8f;
        // repulsion: sum over all j of w^2 (y_i - y_j), and Z = sum of w
        parallelRows(threads, [&](int first, int step) {
            double z = 0;
            for (int i = first; i < n; i += step) {
                const float xi = yx[size_t(i)], yi = yy[size_t(i)];
                float sx = 0, sy = 0, sz = 0;
                for (int j = 0; j < n; ++j) {
                    const float dx = xi - yx[size_t(j)], dy = yi - yy[size_t(j)];
                    const float w = 1.f / (1.f + dx * dx + dy * dy);
                    sz += w;
                    sx += w * w * dx;
                    sy += w * w * dy;
                }
                z += sz - 1.f; // j == i contributes w = 1
                rx[size_t(i)] = sx;
                ry[size_t(i)] = sy;
            }
            zPart[size_t(first)] = z;
        });
        double Z = 0;
        for (double z : zPart)
            Z += z;
        const float invZ = float(1.0 / std::max(Z, 1e-12));
        for (int i = 0; i < n; ++i) {
            float ax = 0, ay = 0; // attraction over the affinities
            for (int a = P.start[size_t(i)]; a < P.start[size_t(i) + 1]; ++a) {
                const int j = P.col[size_t(a)];
                const float dx = yx[size_t(i)] - yx[size_t(j)], dy = yy[size_t(i)] - yy[size_t(j)];
                const float w = 1.f / (1.f + dx * dx + dy * dy);
                ax += exag * P.p[size_t(a)] * w * dx;
                ay += exag * P.p[size_t(a)] * w * dy;
            }
            gx[size_t(i)] = 4 * (ax - rx[size_t(i)] * invZ);
            gy[size_t(i)] = 4 * (ay - ry[size_t(i)] * invZ);
        }
        double mx = 0, my = 0;
        for (int i = 0; i < n; ++i) {
            auto step = [&](float g, float &u, float &gain, float &y) {
                gain = (g > 0) != (u > 0) ? gain + 0.2f : std::max(0.01f, gain * 0.8f);
                u = momentum * u - float(rate) * gain * g;
                y += u;
            };
            step(gx[size_t(i)], ux[size_t(i)], gainX[size_t(i)], yx[size_t(i)]);
            step(gy[size_t(i)], uy[size_t(i)], gainY[size_t(i)], yy[size_t(i)]);
            mx += yx[size_t(i)];
            my += yy[size_t(i)];
        }
        for (int i = 0; i < n; ++i) { // centred
            yx[size_t(i)] -= float(mx / n);
            yy[size_t(i)] -= float(my / n);
        }
    }
    std::vector<double> out(static_cast<size_t>(n) * 2);
    for (int i = 0; i < n; ++i) {
        out[size_t(2 * i)] = yx[size_t(i)];
        out[size_t(2 * i + 1)] = yy[size_t(i)];
    }
    return out;
}

} // namespace magpie
