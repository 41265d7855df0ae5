#include "core/embeddingcache.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFloat16>
#include <QHash>
#include <QtEndian>

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
};
} // namespace

EmbeddingLookup openEmbeddingCache(const QString &cacheDir, const QString &version, EmbeddingCacheInfo *info,
                                   QString *error)
{
    auto fail = [&](const QString &why) {
        if (error)
            *error = why;
        return EmbeddingLookup{};
    };
    QString path;
    if (!version.isEmpty()) {
        path = cacheDir + QStringLiteral("/embeddings-") + version + QStringLiteral(".f16");
    } else {
        const QFileInfoList found =
            QDir(cacheDir).entryInfoList({QStringLiteral("embeddings-*.f16")}, QDir::Files, QDir::Time);
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
    for (qint64 r = 0; r < n; ++r) {
        qint64 id = 0;
        std::memcpy(&id, idBytes.constData() + r * 8, 8);
        cache->rowOf.insert(id, r); // later rows overwrite: the newest wins
    }
    if (info) {
        info->path = path;
        const QString base = QFileInfo(path).completeBaseName();
        info->version = base.mid(int(std::strlen("embeddings-")));
        info->dim = dim;
        info->rows = n;
    }
    return [cache](ImageId id) -> std::optional<std::vector<float>> {
        const auto it = cache->rowOf.constFind(id);
        if (it == cache->rowOf.constEnd())
            return std::nullopt;
        const uchar *row = cache->map + kHeader + it.value() * qint64(cache->dim) * 2;
        std::vector<float> v(static_cast<size_t>(cache->dim));
        for (int k = 0; k < cache->dim; ++k) {
            qfloat16 h;
            std::memcpy(&h, row + size_t(k) * 2, 2);
            v[size_t(k)] = float(h);
        }
        return v;
    };
}

} // namespace magpie
