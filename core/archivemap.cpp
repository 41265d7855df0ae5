#include "core/archivemap.h"

#include "core/embeddingcache.h"
#include "core/library.h"
#include "core/tsne.h"

#include <QPainter>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace magpie {

namespace {
// Scales one coordinate so its 1st and 99th percentiles fall 8 % inside the
// edges: the few beyond keep their order in that margin (compressed) instead
// of squeezing everything else together or piling up on the border.
void spread(std::vector<double> &v)
{
    if (v.empty())
        return;
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    const double lo = sorted[sorted.size() / 100], hi = sorted[sorted.size() - 1 - sorted.size() / 100];
    const double min = sorted.front(), max = sorted.back();
    const double range = hi - lo > 1e-12 ? hi - lo : 1.0;
    constexpr double margin = 0.08;
    for (double &x : v) {
        if (x < lo)
            x = margin * (lo - min > 1e-12 ? (x - min) / (lo - min) : 1.0);
        else if (x > hi)
            x = 1 - margin * (max - hi > 1e-12 ? (max - x) / (max - hi) : 1.0);
        else
            x = margin + (1 - 2 * margin) * (x - lo) / range;
    }
}
} // namespace

void separatePlaces(std::vector<double> &x, std::vector<double> &y, double minDistance, int iterations,
                    const std::atomic<bool> *cancel)
{
    const size_t n = std::min(x.size(), y.size());
    if (n < 2 || minDistance <= 0)
        return;
    minDistance = std::max(minDistance, 1.0 / 2048); // at most 2048 x 2048 cells
    const int cells = std::max(1, int(1.0 / minDistance));
    const auto cellOf = [&](double v) { return std::clamp(int(v * cells), 0, cells - 1); };
    std::vector<std::vector<int>> grid(size_t(cells) * size_t(cells));
    const double min2 = minDistance * minDistance;
    for (int it = 0; it < iterations && !(cancel && cancel->load()); ++it) {
        for (auto &c : grid)
            c.clear();
        for (size_t i = 0; i < n; ++i)
            grid[size_t(cellOf(y[i])) * size_t(cells) + size_t(cellOf(x[i]))].push_back(int(i));
        bool moved = false;
        for (size_t i = 0; i < n; ++i) {
            const int cx = cellOf(x[i]), cy = cellOf(y[i]);
            for (int gy = std::max(0, cy - 1); gy <= std::min(cells - 1, cy + 1); ++gy)
                for (int gx = std::max(0, cx - 1); gx <= std::min(cells - 1, cx + 1); ++gx)
                    for (int j : grid[size_t(gy) * size_t(cells) + size_t(gx)]) {
                        if (size_t(j) <= i)
                            continue;
                        double dx = x[size_t(j)] - x[i], dy = y[size_t(j)] - y[i];
                        double d2 = dx * dx + dy * dy;
                        if (d2 >= min2)
                            continue;
                        if (d2 < 1e-18) { // the same place: part along a direction fixed by the pair
                            const double a = double((i * 7919 + size_t(j) * 104729) % 360) * 3.14159265358979 / 180;
                            dx = std::cos(a) * 1e-9;
                            dy = std::sin(a) * 1e-9;
                            d2 = 1e-18;
                        }
                        const double d = std::sqrt(d2);
                        const double push = 0.5 * (minDistance - d) / d;
                        x[i] -= dx * push;
                        y[i] -= dy * push;
                        x[size_t(j)] += dx * push;
                        y[size_t(j)] += dy * push;
                        moved = true;
                    }
            x[i] = std::clamp(x[i], 0.0, 1.0);
            y[i] = std::clamp(y[i], 0.0, 1.0);
        }
        for (size_t i = 0; i < n; ++i) {
            x[i] = std::clamp(x[i], 0.0, 1.0);
            y[i] = std::clamp(y[i], 0.0, 1.0);
        }
        if (!moved)
            break;
    }
}

ArchiveMap mapArchive(const Library &lib, int maxImages, quint32 seed, const std::atomic<bool> *cancel)
{
    ArchiveMap map;
    QVector<ImageId> ids = lib.imageIds(ImageStatus::Ok);
    map.archiveImages = ids.size();
    if (maxImages > 0 && ids.size() > maxImages) {
        std::mt19937 rng(seed);
        std::shuffle(ids.begin(), ids.end(), rng);
        ids.resize(maxImages);
        std::sort(ids.begin(), ids.end());
    }
    if (ids.isEmpty())
        return map;
    const EmbeddingLookup embeddings = openEmbeddingCacheCovering(lib.cacheDir(), ids);
    const FeatureMatrix f = collectFeatures(lib, ids, embeddings, cancel);
    if ((cancel && cancel->load()) || f.rows() != ids.size())
        return {};
    // t-SNE keeps neighbourhoods (similar pictures together, groups apart);
    // its cost grows with the square of the sample, so a larger one gets the
    // principal plane, and so does a handful of images (t-SNE would pile each
    // kind on one spot)
    std::vector<double> xy;
    if (ids.size() >= kTsneMinImages && ids.size() <= kTsneMaxImages) {
        TsneOptions o;
        o.threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
        xy = tsne2d(f, seed, o, cancel);
        map.method = QStringLiteral("t-SNE");
    } else {
        xy = principalPlane(f, seed);
        map.method = QStringLiteral("principal plane");
        if (ids.size() > kTsneMaxImages)
            map.notes << QStringLiteral("%1 images: placed on the principal plane (t-SNE up to %2)")
                             .arg(ids.size()).arg(kTsneMaxImages);
    }
    if ((cancel && cancel->load()) || xy.size() != size_t(ids.size()) * 2)
        return {};
    std::vector<double> x(size_t(ids.size())), y(size_t(ids.size()));
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = xy[2 * i];
        y[i] = xy[2 * i + 1];
    }
    spread(x);
    spread(y);
    // alike pictures land on one spot: part them so that each shows
    // (a large sample on the principal plane: fewer passes, a pass costs a scan of every point)
    separatePlaces(x, y, kMapSeparation / std::sqrt(double(x.size())), x.size() > 20000 ? 20 : 200, cancel);
    if (cancel && cancel->load())
        return {};
    map.ids = ids;
    map.positions.reserve(ids.size());
    for (size_t i = 0; i < x.size(); ++i)
        map.positions << QPointF(x[i], y[i]);
    map.source = f.source;
    map.notes = f.notes + map.notes;
    return map;
}

QImage renderArchiveMap(const Library &lib, const ArchiveMap &map, int sizePx, int thumbPx, const QColor &background)
{
    sizePx = std::clamp(sizePx, 64, 20000);
    thumbPx = std::clamp(thumbPx, 4, sizePx / 2);
    QImage out(sizePx, sizePx, QImage::Format_RGB32);
    if (out.isNull())
        return out;
    out.fill(background);
    QPainter p(&out);
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    const double usable = sizePx - thumbPx; // a thumbnail centred at an edge stays on the picture
    for (int i = 0; i < map.ids.size(); ++i) {
        const auto rec = lib.image(map.ids[i]);
        QImage thumb = rec ? QImage(lib.thumbnailPath(rec->hash)) : QImage();
        const QPointF centre(thumbPx / 2.0 + map.positions[i].x() * usable, thumbPx / 2.0 + map.positions[i].y() * usable);
        if (thumb.isNull()) {
            p.fillRect(QRectF(centre - QPointF(3, 3), QSizeF(6, 6)), QColor(0x9a, 0x9a, 0xa0));
            continue;
        }
        const QSizeF s = QSizeF(thumb.size()).scaled(thumbPx, thumbPx, Qt::KeepAspectRatio);
        p.drawImage(QRectF(centre - QPointF(s.width() / 2, s.height() / 2), s), thumb);
    }
    return out;
}

} // namespace magpie
