#include "core/layout.h"

#include "core/imagedecoder.h"
#include "core/library.h"
#include "core/opencvincludes.h"

#include <QElapsedTimer>
#include <QImage>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace magpie {

QString featureSourceName(FeatureMatrix::Source s)
{
    switch (s) {
    case FeatureMatrix::Source::Embeddings:
        return QStringLiteral("embeddings");
    case FeatureMatrix::Source::ColourTone:
        return QStringLiteral("colour-tone");
    }
    return QStringLiteral("unknown");
}

// --- features ----------------------------------------------------------------------

namespace {
constexpr int kGrid = 3;
constexpr int kHistBins = 8;
constexpr int kDim = 6 + kGrid * kGrid * 3 + kHistBins + 1;
} // namespace

int colourToneDim()
{
    return kDim;
}

std::vector<float> colourToneFeature(const QImage &image)
{
    std::vector<float> f(kDim, 0.0f);
    if (image.isNull())
        return f;
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    const cv::Mat src(rgb.height(), rgb.width(), CV_8UC3, const_cast<uchar *>(rgb.constBits()),
                      size_t(rgb.bytesPerLine()));
    cv::Mat small;
    cv::resize(src, small, cv::Size(30, 30), 0, 0, cv::INTER_AREA);
    cv::Mat fl;
    small.convertTo(fl, CV_32FC3, 1.0 / 255.0);
    cv::Mat lab;
    cv::cvtColor(fl, lab, cv::COLOR_RGB2Lab); // L 0..100, a/b about -127..127

    cv::Scalar mean, stddev;
    cv::meanStdDev(lab, mean, stddev);
    int k = 0;
    for (int c = 0; c < 3; ++c)
        f[k++] = float(mean[c]);
    for (int c = 0; c < 3; ++c)
        f[k++] = float(stddev[c]);
    const int cell = 30 / kGrid;
    for (int gy = 0; gy < kGrid; ++gy)
        for (int gx = 0; gx < kGrid; ++gx) {
            const cv::Scalar m = cv::mean(lab(cv::Rect(gx * cell, gy * cell, cell, cell)));
            for (int c = 0; c < 3; ++c)
                f[k++] = float(m[c]);
        }
    std::vector<float> hist(kHistBins, 0.0f);
    double chroma = 0;
    for (int y = 0; y < lab.rows; ++y) {
        const cv::Vec3f *line = lab.ptr<cv::Vec3f>(y);
        for (int x = 0; x < lab.cols; ++x) {
            const int bin = std::clamp(int(line[x][0] / 100.0f * kHistBins), 0, kHistBins - 1);
            hist[size_t(bin)] += 1.0f;
            chroma += std::hypot(double(line[x][1]), double(line[x][2]));
        }
    }
    const float total = float(lab.rows * lab.cols);
    for (int b = 0; b < kHistBins; ++b)
        f[k++] = hist[size_t(b)] / total * 100.0f;
    f[k++] = float(chroma / double(total));
    return f;
}

FeatureMatrix collectFeatures(const Library &lib, const QVector<ImageId> &ids,
                              const EmbeddingLookup &embeddings, const std::atomic<bool> *cancel)
{
    FeatureMatrix m;
    const int n = int(ids.size());
    if (embeddings) {
        std::vector<float> values;
        int dim = -1;
        int missing = 0;
        bool mixed = false;
        for (int i = 0; i < n; ++i) {
            const auto v = embeddings(ids[i]);
            if (!v || v->empty()) {
                ++missing;
                continue;
            }
            if (dim < 0)
                dim = int(v->size());
            if (int(v->size()) != dim) {
                mixed = true;
                break;
            }
            values.insert(values.end(), v->begin(), v->end());
        }
        if (!mixed && missing == 0 && dim > 0) {
            m.dim = dim;
            m.values = std::move(values);
            m.source = FeatureMatrix::Source::Embeddings;
            return m;
        }
        m.notes << (mixed ? QStringLiteral(
                                "Embeddings have different lengths; laid out by colour and tone instead.")
                          : QStringLiteral(
                                "No embeddings for %1 of %2 images; laid out by colour and tone instead.")
                                .arg(missing)
                                .arg(n));
    } else {
        m.notes << QStringLiteral("No embeddings available; laid out by colour and tone.");
    }

    m.source = FeatureMatrix::Source::ColourTone;
    m.dim = kDim;
    m.values.assign(size_t(n) * kDim, 0.0f);
    std::vector<bool> ok(size_t(n), false);
    for (int i = 0; i < n; ++i) {
        if (cancel && cancel->load())
            break;
        const auto rec = lib.image(ids[i]);
        QImage img;
        QString err;
        if (rec) {
            if (!rec->hash.isEmpty())
                img = decoder::decodeFile(lib.thumbnailPath(rec->hash), 96, &err);
            if (img.isNull())
                img = decoder::decodeFile(rec->absPath, 96, &err);
        }
        if (img.isNull()) {
            m.notes << QStringLiteral(
                           "Image %1: no thumbnail or source to compute colour from; placed as neutral.")
                           .arg(ids[i]);
            continue;
        }
        const auto f = colourToneFeature(img);
        std::copy(f.begin(), f.end(), m.values.begin() + ptrdiff_t(size_t(i) * kDim));
        ok[size_t(i)] = true;
    }
    // Standardise each dimension over the set (z-scores), so L, a, b and the
    // histogram weigh alike; images without a feature sit at the mean (0).
    for (int c = 0; c < kDim; ++c) {
        double s = 0, s2 = 0;
        int cnt = 0;
        for (int i = 0; i < n; ++i)
            if (ok[size_t(i)]) {
                const double v = m.values[size_t(i) * kDim + size_t(c)];
                s += v;
                s2 += v * v;
                ++cnt;
            }
        const double mean = cnt ? s / cnt : 0.0;
        const double var = cnt ? std::max(0.0, s2 / cnt - mean * mean) : 0.0;
        const double sd = std::sqrt(var);
        for (int i = 0; i < n; ++i) {
            float &v = m.values[size_t(i) * kDim + size_t(c)];
            v = ok[size_t(i)] && sd > 1e-9 ? float((v - mean) / sd) : 0.0f;
        }
    }
    return m;
}

// --- grid shape ----------------------------------------------------------------------

GridShape chooseGrid(int n, double aspect)
{
    if (n <= 0)
        return {};
    if (!(aspect > 0))
        aspect = 1.0;
    GridShape best{1, n};
    double bestScore = std::numeric_limits<double>::max();
    for (int cols = 1; cols <= n; ++cols) {
        const int rows = (n + cols - 1) / cols;
        // cell aspect (width/height) for this shape: 1 is square
        const double cellAspect = aspect * rows / cols;
        const double squareness = std::abs(std::log(cellAspect));
        const double empty = double(rows * cols - n) / n;
        // a last row less than half full looks like a leftover (49 as 9 x 6
        // leaves one image alone): penalised beyond its empty cells
        const int lastRow = n - (rows - 1) * cols;
        const double leftover = rows > 1 ? 2 * std::max(0.0, 0.5 - double(lastRow) / cols) : 0.0;
        const double score = squareness + empty + leftover;
        if (score < bestScore - 1e-12) {
            bestScore = score;
            best = {rows, cols};
        }
    }
    return best;
}

QVector<int> GridLayout::readingOrder() const
{
    QVector<int> out;
    for (int item : itemAtCell)
        if (item >= 0)
            out << item;
    return out;
}

// --- assignment -----------------------------------------------------------------------

std::vector<int> solveAssignment(const std::vector<double> &cost, int n)
{
    // Shortest augmenting paths with dual potentials (Jonker-Volgenant's
    // augmentation, without their initial column reduction): one Dijkstra-like
    // pass per row, O(n^2) each. 1-based internally; column 0 is a sentinel.
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> u(size_t(n) + 1, 0.0), v(size_t(n) + 1, 0.0), minv(size_t(n) + 1);
    std::vector<int> p(size_t(n) + 1, 0), way(size_t(n) + 1, 0);
    std::vector<char> used(size_t(n) + 1);
    for (int i = 1; i <= n; ++i) {
        p[0] = i;
        int j0 = 0;
        std::fill(minv.begin(), minv.end(), inf);
        std::fill(used.begin(), used.end(), 0);
        do {
            used[size_t(j0)] = 1;
            const int i0 = p[size_t(j0)];
            const double *row = cost.data() + size_t(i0 - 1) * size_t(n);
            const double ui0 = u[size_t(i0)];
            double delta = inf;
            int j1 = 0;
            for (int j = 1; j <= n; ++j) {
                if (used[size_t(j)])
                    continue;
                const double cur = row[j - 1] - ui0 - v[size_t(j)];
                if (cur < minv[size_t(j)]) {
                    minv[size_t(j)] = cur;
                    way[size_t(j)] = j0;
                }
                if (minv[size_t(j)] < delta) {
                    delta = minv[size_t(j)];
                    j1 = j;
                }
            }
            for (int j = 0; j <= n; ++j) {
                if (used[size_t(j)]) {
                    u[size_t(p[size_t(j)])] += delta;
                    v[size_t(j)] -= delta;
                } else {
                    minv[size_t(j)] -= delta;
                }
            }
            j0 = j1;
        } while (p[size_t(j0)] != 0);
        do {
            const int j1 = way[size_t(j0)];
            p[size_t(j0)] = p[size_t(j1)];
            j0 = j1;
        } while (j0);
    }
    std::vector<int> colOfRow(size_t(n), -1);
    for (int j = 1; j <= n; ++j)
        if (p[size_t(j)] > 0)
            colOfRow[size_t(p[size_t(j)] - 1)] = j - 1;
    return colOfRow;
}

// --- layout ----------------------------------------------------------------------------

namespace {

// Deterministic Fisher-Yates (std::shuffle's algorithm is implementation-defined).
void shuffle(std::vector<int> &v, std::mt19937 &rng)
{
    for (size_t i = v.size(); i > 1; --i) {
        const size_t j = size_t(rng() % i);
        std::swap(v[i - 1], v[j]);
    }
}

// First two principal components by power iteration with deflation.
// Returns n x 2 projections. Deterministic for a seed.
std::vector<double> project2d(const FeatureMatrix &f, quint32 seed)
{
    const int n = f.rows();
    const int d = f.dim;
    std::vector<double> out(size_t(n) * 2, 0.0);
    if (n == 0 || d == 0)
        return out;
    std::vector<double> mean(size_t(d), 0.0);
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < d; ++c)
            mean[size_t(c)] += f.row(i)[c];
    for (double &m : mean)
        m /= n;
    std::vector<double> x(size_t(n) * size_t(d));
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < d; ++c)
            x[size_t(i) * size_t(d) + size_t(c)] = f.row(i)[c] - mean[size_t(c)];

    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    std::vector<std::vector<double>> comps;
    std::vector<double> xv(static_cast<size_t>(n));
    for (int k = 0; k < std::min(2, d); ++k) {
        std::vector<double> v(static_cast<size_t>(d));
        for (double &e : v)
            e = uni(rng);
        double norm = 0;
        for (int it = 0; it < 200; ++it) {
            for (const auto &c : comps) { // deflate: stay orthogonal to earlier components
                double dot = 0;
                for (int j = 0; j < d; ++j)
                    dot += v[size_t(j)] * c[size_t(j)];
                for (int j = 0; j < d; ++j)
                    v[size_t(j)] -= dot * c[size_t(j)];
            }
            for (int i = 0; i < n; ++i) {
                const double *r = x.data() + size_t(i) * size_t(d);
                double s = 0;
                for (int j = 0; j < d; ++j)
                    s += r[j] * v[size_t(j)];
                xv[size_t(i)] = s;
            }
            std::vector<double> w(size_t(d), 0.0);
            for (int i = 0; i < n; ++i) {
                const double *r = x.data() + size_t(i) * size_t(d);
                const double s = xv[size_t(i)];
                for (int j = 0; j < d; ++j)
                    w[size_t(j)] += r[j] * s;
            }
            for (const auto &c : comps) {
                double dot = 0;
                for (int j = 0; j < d; ++j)
                    dot += w[size_t(j)] * c[size_t(j)];
                for (int j = 0; j < d; ++j)
                    w[size_t(j)] -= dot * c[size_t(j)];
            }
            norm = 0;
            for (double e : w)
                norm += e * e;
            norm = std::sqrt(norm);
            if (norm < 1e-12)
                break;
            double change = 0;
            for (int j = 0; j < d; ++j) {
                const double nv = w[size_t(j)] / norm;
                change += std::abs(nv - v[size_t(j)]);
                v[size_t(j)] = nv;
            }
            if (change < 1e-9 * d)
                break;
        }
        if (norm < 1e-12)
            break;
        // Fix the sign so the result does not depend on the start vector.
        size_t big = 0;
        for (size_t j = 1; j < v.size(); ++j)
            if (std::abs(v[j]) > std::abs(v[big]) + 1e-12)
                big = j;
        if (v[big] < 0)
            for (double &e : v)
                e = -e;
        comps.push_back(v);
    }
    for (size_t k = 0; k < comps.size(); ++k)
        for (int i = 0; i < n; ++i) {
            const double *r = x.data() + size_t(i) * size_t(d);
            double s = 0;
            for (int j = 0; j < d; ++j)
                s += r[j] * comps[k][size_t(j)];
            out[size_t(i) * 2 + k] = s;
        }
    return out;
}

// Replaces each coordinate by its rank, scaled to [0, extent): the items
// spread evenly over the grid whatever the shape of the projection.
void rankScale(std::vector<double> &pts, int n, int axis, double extent)
{
    std::vector<int> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
        return pts[size_t(a) * 2 + size_t(axis)] < pts[size_t(b) * 2 + size_t(axis)];
    });
    for (int r = 0; r < n; ++r)
        pts[size_t(idx[size_t(r)]) * 2 + size_t(axis)] = (r + 0.5) / n * extent;
}

double cellCost(const std::vector<double> &pts, int item, int cell, int cols)
{
    const double cx = cell % cols + 0.5;
    const double cy = cell / cols + 0.5;
    const double dx = pts[size_t(item) * 2] - cx;
    const double dy = pts[size_t(item) * 2 + 1] - cy;
    return dx * dx + dy * dy;
}

// Exact assignment of `items` to `cells` (same count) by 2-D target position.
void assignExact(const std::vector<double> &pts, const std::vector<int> &items, const std::vector<int> &cells,
                 int cols, QVector<int> &itemAtCell)
{
    const int m = int(items.size());
    std::vector<double> cost(size_t(m) * size_t(m));
    for (int a = 0; a < m; ++a)
        for (int b = 0; b < m; ++b)
            cost[size_t(a) * size_t(m) + size_t(b)] = cellCost(pts, items[size_t(a)], cells[size_t(b)], cols);
    const auto sol = solveAssignment(cost, m);
    for (int a = 0; a < m; ++a)
        itemAtCell[cells[size_t(sol[size_t(a)])]] = items[size_t(a)];
}

double featureDistance(const FeatureMatrix &f, int a, int b)
{
    const float *x = f.row(a);
    const float *y = f.row(b);
    double s = 0;
    for (int c = 0; c < f.dim; ++c) {
        const double d = double(x[c]) - double(y[c]);
        s += d * d;
    }
    return std::sqrt(s);
}

// Local search in the full feature space: swaps two nearby items when that
// lowers the summed distance to their grid neighbours. Deterministic (fixed
// visiting order). Returns the number of swaps made.
int refineBySwaps(const FeatureMatrix &f, QVector<int> &at, int rows, int cols, int filled, int radius,
                  int passes)
{
    auto item = [&](int r, int c) {
        return r < 0 || c < 0 || r >= rows || c >= cols ? -1 : at[r * cols + c];
    };
    // Sum of distances from `it` placed at (r, c) to its neighbours, ignoring cell `skip`.
    auto cost = [&](int it, int r, int c, int skip) {
        double s = 0;
        const int nr[4] = {r - 1, r + 1, r, r};
        const int nc[4] = {c, c, c - 1, c + 1};
        for (int k = 0; k < 4; ++k) {
            const int o = item(nr[k], nc[k]);
            if (o >= 0 && nr[k] * cols + nc[k] != skip)
                s += featureDistance(f, it, o);
        }
        return s;
    };
    int swaps = 0;
    for (int pass = 0; pass < passes; ++pass) {
        int passSwaps = 0;
        for (int a = 0; a < filled; ++a) {
            const int ra = a / cols, ca = a % cols;
            for (int dr = -radius; dr <= radius; ++dr)
                for (int dc = -radius; dc <= radius; ++dc) {
                    const int rb = ra + dr, cb = ca + dc;
                    if (rb < 0 || cb < 0 || rb >= rows || cb >= cols)
                        continue;
                    const int b = rb * cols + cb;
                    if (b <= a || b >= filled)
                        continue;
                    const int ia = at[a], ib = at[b];
                    // Pairs between a and b themselves are unchanged by the swap.
                    const double before = cost(ia, ra, ca, b) + cost(ib, rb, cb, a);
                    const double after = cost(ib, ra, ca, b) + cost(ia, rb, cb, a);
                    if (after < before - 1e-9) {
                        std::swap(at[a], at[b]);
                        ++passSwaps;
                    }
                }
        }
        swaps += passSwaps;
        if (passSwaps == 0)
            break;
    }
    return swaps;
}

} // namespace

std::vector<double> principalPlane(const FeatureMatrix &features, quint32 seed) { return project2d(features, seed); }

double meanNeighbourDistance(const FeatureMatrix &features, const QVector<int> &itemAtCell, int rows,
                             int cols)
{
    double sum = 0;
    qint64 count = 0;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const int a = itemAtCell.value(r * cols + c, -1);
            if (a < 0)
                continue;
            if (c + 1 < cols) {
                const int b = itemAtCell.value(r * cols + c + 1, -1);
                if (b >= 0) {
                    sum += featureDistance(features, a, b);
                    ++count;
                }
            }
            if (r + 1 < rows) {
                const int b = itemAtCell.value((r + 1) * cols + c, -1);
                if (b >= 0) {
                    sum += featureDistance(features, a, b);
                    ++count;
                }
            }
        }
    return count ? sum / double(count) : 0.0;
}

double randomNeighbourDistance(const FeatureMatrix &features, int rows, int cols, quint32 seed, int trials)
{
    const int n = features.rows();
    if (n == 0 || trials <= 0)
        return 0;
    std::mt19937 rng(seed ^ 0x9e3779b9u);
    double sum = 0;
    for (int t = 0; t < trials; ++t) {
        std::vector<int> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        shuffle(order, rng);
        QVector<int> at(rows * cols, -1);
        for (int i = 0; i < n && i < rows * cols; ++i)
            at[i] = order[size_t(i)];
        sum += meanNeighbourDistance(features, at, rows, cols);
    }
    return sum / trials;
}

GridLayout layoutGrid(const FeatureMatrix &features, const LayoutOptions &options)
{
    QElapsedTimer timer;
    timer.start();
    GridLayout out;
    const int n = features.rows();
    GridShape shape{options.rows, options.cols};
    if (shape.rows <= 0 && shape.cols > 0)
        shape.rows = (n + shape.cols - 1) / shape.cols;
    else if (shape.cols <= 0 && shape.rows > 0)
        shape.cols = (n + shape.rows - 1) / shape.rows;
    else if (shape.rows <= 0 || shape.cols <= 0)
        shape = chooseGrid(n, options.aspect);
    if (n > 0 && qint64(shape.rows) * shape.cols < n) {
        out.error = QStringLiteral("A %1 x %2 grid cannot hold %3 images; using %4 x %5.")
                        .arg(shape.rows)
                        .arg(shape.cols)
                        .arg(n)
                        .arg((n + shape.cols - 1) / shape.cols)
                        .arg(shape.cols);
        shape.rows = (n + shape.cols - 1) / shape.cols;
    }
    out.rows = shape.rows;
    out.cols = shape.cols;
    out.itemAtCell = QVector<int>(out.rows * out.cols, -1);
    out.cellOfItem = QVector<int>(n, -1);
    if (n == 0)
        return out;

    // The items fill the first n cells in reading order (a partial last row).
    std::vector<double> pts = project2d(features, options.seed);
    // The principal axis goes along the longer side of the grid.
    if (out.rows > out.cols)
        for (int i = 0; i < n; ++i)
            std::swap(pts[size_t(i) * 2], pts[size_t(i) * 2 + 1]);
    rankScale(pts, n, 0, out.cols);
    rankScale(pts, n, 1, double(n) / out.cols); // rows actually filled, fractional for a partial last row

    const bool exact = options.method == LayoutOptions::Method::Exact ||
                       (options.method == LayoutOptions::Method::Auto && n <= options.exactLimit);
    if (exact) {
        std::vector<int> items(static_cast<size_t>(n));
        std::vector<int> cells(static_cast<size_t>(n));
        std::iota(items.begin(), items.end(), 0);
        std::iota(cells.begin(), cells.end(), 0);
        assignExact(pts, items, cells, out.cols, out.itemAtCell);
        out.method = QStringLiteral("exact (PCA + Jonker-Volgenant assignment)");
    } else {
        // Sorted strips: by y into rows of `cols`, each row by x.
        std::vector<int> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return pts[size_t(a) * 2 + 1] < pts[size_t(b) * 2 + 1]; });
        for (int start = 0; start < n; start += out.cols) {
            const auto b = order.begin() + start;
            const auto e = order.begin() + std::min(n, start + out.cols);
            std::stable_sort(b, e, [&](int a, int c) { return pts[size_t(a) * 2] < pts[size_t(c) * 2]; });
        }
        for (int i = 0; i < n; ++i)
            out.itemAtCell[i] = order[size_t(i)];
        // Refine with exact assignments on windows, twice, the second pass
        // shifted by half a window so items can cross window borders.
        const int w = 16;
        for (int pass = 0; pass < 2; ++pass) {
            const int off = pass * w / 2;
            for (int r0 = -off; r0 < out.rows; r0 += w)
                for (int c0 = -off; c0 < out.cols; c0 += w) {
                    std::vector<int> items, cells;
                    for (int r = std::max(0, r0); r < std::min(out.rows, r0 + w); ++r)
                        for (int c = std::max(0, c0); c < std::min(out.cols, c0 + w); ++c) {
                            const int cell = r * out.cols + c;
                            if (cell < n) {
                                cells.push_back(cell);
                                items.push_back(out.itemAtCell[cell]);
                            }
                        }
                    if (cells.size() > 1)
                        assignExact(pts, items, cells, out.cols, out.itemAtCell);
                }
        }
        out.method = QStringLiteral("approximate (PCA + sorted strips + windowed Jonker-Volgenant)");
    }
    if (options.refinePasses > 0) {
        // Cap the work (~2e9 multiply-adds) so big sets with long embeddings stay fast.
        const int side = 2 * options.refineRadius + 1;
        const double perPass = double(n) * side * side * 8.0 * std::max(1, features.dim);
        const int passes = std::clamp(int(2e9 / std::max(1.0, perPass)), 1, options.refinePasses);
        refineBySwaps(features, out.itemAtCell, out.rows, out.cols, n, options.refineRadius, passes);
        out.method += QStringLiteral(" + neighbour swaps");
    }
    for (int cell = 0; cell < out.itemAtCell.size(); ++cell)
        if (out.itemAtCell[cell] >= 0)
            out.cellOfItem[out.itemAtCell[cell]] = cell;
    out.seconds = timer.nsecsElapsed() / 1e9;
    out.neighbourDistance = meanNeighbourDistance(features, out.itemAtCell, out.rows, out.cols);
    out.randomDistance =
        randomNeighbourDistance(features, out.rows, out.cols, options.seed, options.qualityTrials);
    return out;
}

} // namespace magpie
