#include "core/embeddingcache.h"

#include "core/similarityindex.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFloat16>
#include <QHash>
#include <QtEndian>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

namespace magpie {

namespace {
constexpr qint64 kHeader = 16;
constexpr char kMagic[8] = {'M', 'G', 'P', 'E', 'M', 'B', '0', '1'};

struct Cache
{
    QFile file;
    const uchar *map = nullptr;
    int dim = 0;
    QHash<qint64, qint64> rowOf;
    std::vector<qint64> ids; // row -> image id
};
} // namespace

namespace {
std::shared_ptr<Cache> openCache(const QString &cacheDir, const QString &version, EmbeddingCacheInfo *info,
                                 QString *error);

void rowFloat(const Cache &c, qint64 row, float *out)
{
    const uchar *p = c.map + kHeader + row * qint64(c.dim) * 2;
    for (int k = 0; k < c.dim; ++k) {
        qfloat16 h;
        std::memcpy(&h, p + size_t(k) * 2, 2);
        out[k] = float(h);
    }
}
} // namespace

EmbeddingLookup openEmbeddingCache(const QString &cacheDir, const QString &version, EmbeddingCacheInfo *info,
                                   QString *error)
{
    std::shared_ptr<Cache> cache = openCache(cacheDir, version, info, error);
    if (!cache)
        return {};
    return [cache](ImageId id) -> std::optional<std::vector<float>> {
        const auto it = cache->rowOf.constFind(id);
        if (it == cache->rowOf.constEnd())
            return std::nullopt;
        std::vector<float> v(static_cast<size_t>(cache->dim));
        rowFloat(*cache, it.value(), v.data());
        return v;
    };
}

QString libraryEmbeddingVersionFile(const QString &cacheDir)
{
    return cacheDir + QStringLiteral("/embeddings.library");
}

namespace {
// The caches in `cacheDir`: the library backbone's first (named in
// embeddings.library), then the others, newest first.
QFileInfoList cachesInOrder(const QString &cacheDir)
{
    QFileInfoList found = QDir(cacheDir).entryInfoList({QStringLiteral("embeddings-*.f16")}, QDir::Files, QDir::Time);
    QFile named(libraryEmbeddingVersionFile(cacheDir));
    if (named.open(QIODevice::ReadOnly | QIODevice::Text)) {
        const QString file = QStringLiteral("embeddings-") + QString::fromUtf8(named.readAll()).trimmed() + QStringLiteral(".f16");
        for (int i = 0; i < found.size(); ++i)
            if (found[i].fileName() == file) {
                found.move(i, 0);
                break;
            }
    }
    return found;
}
} // namespace

EmbeddingLookup openEmbeddingCacheCovering(const QString &cacheDir, const QVector<ImageId> &ids,
                                           EmbeddingCacheInfo *info, QString *error)
{
    const QFileInfoList found = cachesInOrder(cacheDir);
    for (const QFileInfo &fi : found) {
        const QString version = fi.completeBaseName().mid(int(std::strlen("embeddings-")));
        EmbeddingCacheInfo candidate;
        std::shared_ptr<Cache> cache = openCache(cacheDir, version, &candidate, nullptr);
        if (!cache)
            continue;
        bool all = true;
        for (ImageId id : ids)
            if (!cache->rowOf.contains(id)) {
                all = false;
                break;
            }
        if (all)
            return openEmbeddingCache(cacheDir, version, info, error);
    }
    return openEmbeddingCache(cacheDir, {}, info, error);
}

QVector<ImageId> nearestInEmbeddingCache(const QString &cacheDir, ImageId id, int k, QString *error)
{
    EmbeddingCacheInfo info;
    std::shared_ptr<Cache> cache = openCache(cacheDir, {}, &info, error);
    if (!cache)
        return {};
    const auto self = cache->rowOf.constFind(id);
    if (self == cache->rowOf.constEnd()) {
        if (error)
            *error = QStringLiteral("Image %1 has no embedding yet.").arg(id);
        return {};
    }
    std::vector<float> q(static_cast<size_t>(cache->dim));
    rowFloat(*cache, self.value(), q.data());
    // Through the similarity index beside the cache (exact for small caches,
    // FAISS beyond): rows of other images, newest row of each image only.
    const HalfRows rows{reinterpret_cast<const std::uint16_t *>(cache->map + kHeader), info.rows, cache->dim, cache};
    QString indexPath = info.path;
    indexPath.chop(4);
    SimilarityIndex index(indexPath + QStringLiteral(".sim"));
    const auto accept = [&](std::int64_t r) {
        const qint64 rid = cache->ids[size_t(r)];
        return rid != id && cache->rowOf.value(rid) == r;
    };
    QVector<ImageId> out;
    for (const Neighbour &n : index.search(rows, q.data(), std::max(0, k), accept))
        out << cache->ids[size_t(n.row)];
    return out;
}

namespace {
std::shared_ptr<Cache> openCache(const QString &cacheDir, const QString &version, EmbeddingCacheInfo *info,
                                 QString *error)
{
    auto fail = [&](const QString &why) {
        if (error)
            *error = why;
        return std::shared_ptr<Cache>();
    };
    QString path;
    if (!version.isEmpty()) {
        path = cacheDir + QStringLiteral("/embeddings-") + version + QStringLiteral(".f16");
    } else {
        const QFileInfoList found = cachesInOrder(cacheDir);
        if (found.isEmpty())
            return fail(QStringLiteral("No embedding cache in %1.").arg(cacheDir));
        path = found.first().absoluteFilePath();
    }
    auto cache = std::make_shared<Cache>();
    cache->file.setFileName(path);
    if (!cache->file.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("Cannot read %1: %2").arg(path, cache->file.errorString()));
    const qint64 size = cache->file.size();
    char header[kHeader] = {};
    if (size < kHeader || cache->file.read(header, kHeader) != kHeader || std::memcmp(header, kMagic, 8) != 0)
        return fail(QStringLiteral("%1 is not a Magpie embedding cache.").arg(path));
    qint32 dim = 0;
    std::memcpy(&dim, header + 8, 4);
    if (dim <= 0 || dim > 65536)
        return fail(QStringLiteral("%1: bad feature length %2.").arg(path).arg(dim));
    cache->dim = dim;
    const qint64 rows = (size - kHeader) / (qint64(dim) * 2);
    cache->map = cache->file.map(0, size);
    if (!cache->map)
        return fail(QStringLiteral("Cannot map %1.").arg(path));

    QString idsPath = path;
    idsPath.chop(4);
    idsPath += QStringLiteral(".ids");
    QFile ids(idsPath);
    if (!ids.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("Cannot read %1: %2").arg(idsPath, ids.errorString()));
    const QByteArray idBytes = ids.readAll();
    const qint64 n = std::min<qint64>(idBytes.size() / 8, rows);
    cache->rowOf.reserve(n);
    cache->ids.resize(size_t(n));
    for (qint64 r = 0; r < n; ++r) {
        qint64 id = 0;
        std::memcpy(&id, idBytes.constData() + r * 8, 8);
        cache->rowOf.insert(id, r); // later rows overwrite: the newest wins
        cache->ids[size_t(r)] = id;
    }
    if (info) {
        info->path = path;
        const QString base = QFileInfo(path).completeBaseName();
        info->version = base.mid(int(std::strlen("embeddings-")));
        info->dim = dim;
        info->rows = n;
    }
    return cache;
}
} // namespace

} // namespace magpie
