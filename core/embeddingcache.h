#pragma once

#include "core/layout.h"

#include <QString>
#include <QVector>

namespace magpie {

struct EmbeddingCacheInfo
{
    QString path;    // the .f16 file
    QString version; // the backbone version in its name
    int dim = 0;
    qint64 rows = 0; // rows that have an id
};

// Reads the training engine's embedding cache without torch: the files
// "<cacheDir>/embeddings-<version>.f16" (16-byte header "MGPEMB01" + int32
// dim + padding, then rows of `dim` IEEE half floats) and ".ids" (one native
// int64 image id per row; the newest row of an id wins), as written by
// training/embeddingstore. Opens the library backbone's cache (the version
// named in "<cacheDir>/embeddings.library", which embedding writes), else the
// newest cache in `cacheDir`, or the one for `version` when given. The returned lookup memory-maps the file, owns it,
// and may be copied and called from one thread at a time; it sees the rows
// that existed when it was opened. Returns an empty lookup (and *error) when
// there is no usable cache.
EmbeddingLookup openEmbeddingCache(const QString &cacheDir, const QString &version = {},
                                   EmbeddingCacheInfo *info = nullptr, QString *error = nullptr);

// Of the caches in `cacheDir` (one per backbone version, e.g. a fine-tuned
// one beside the default), the library backbone's first, then newest first,
// the first with a vector for every id in `ids`; else as openEmbeddingCache().
EmbeddingLookup openEmbeddingCacheCovering(const QString &cacheDir, const QVector<ImageId> &ids,
                                           EmbeddingCacheInfo *info = nullptr, QString *error = nullptr);

// The file that names the library backbone's cache version (one line): the
// cache that maps, layouts and "more like this" read first, when a category
// on a backbone of its own (or a deep pass) keeps a second cache beside it.
QString libraryEmbeddingVersionFile(const QString &cacheDir);

// "More like this": the `k` images whose cached embeddings are nearest to
// image `id`'s by cosine similarity, most similar first, `id` itself left
// out, in the newest cache. Searches through SimilarityIndex: exactly (about
// 0.14 s per million rows of 1,536 values), or with the approximate index
// beside the cache when embedding has built one (large libraries). Empty,
// with *error, when there is no cache or `id` has no embedding.
QVector<ImageId> nearestInEmbeddingCache(const QString &cacheDir, ImageId id, int k,
                                         QString *error = nullptr);

} // namespace magpie
