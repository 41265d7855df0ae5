#pragma once

#include "core/imagedecoder.h"
#include "core/types.h"

#include <atomic>
#include <functional>

namespace magpie {

class Library;

struct ImportOptions
{
    int threads = 0;          // worker threads; 0 = one per core
    int thumbnailSize = 256;  // long side of the cached thumbnail, px
    DecodeLimits limits;      // pixel limit (decompression bombs)
    qint64 maxFileBytes = qint64(2) << 30; // larger files are refused unread
    // Called once the folder has been listed, with the files to process.
    // For tests that change the tree mid-import; leave empty otherwise.
    std::function<void(const QStringList &absPaths)> afterListing;
};

struct ImportProgress
{
    qint64 done = 0;   // files processed (hashed, decoded, written)
    qint64 total = 0;  // files to process in this run (unchanged files excluded)
    double perSecond = 0;
    double etaSeconds = -1; // -1 while unknown
    QString phase;     // "listing", "importing", "done"
};

struct ImportReport
{
    QString error;           // set when the import could not start at all
    bool cancelled = false;
    qint64 rootId = 0;
    qint64 listed = 0;       // image files found under the folder
    qint64 added = 0;        // new images
    qint64 updated = 0;      // changed in place (same path, new content)
    qint64 unchanged = 0;    // same size and mtime as last time: not re-read
    qint64 moved = 0;        // recognised by content at a new path
    qint64 duplicates = 0;   // same content as another image
    qint64 unreadable = 0;   // recorded with a reason
    qint64 vanished = 0;     // in the library, no longer on disk: marked missing
    double seconds = 0;
    QVector<QPair<QString, QString>> issues; // (path, reason), for the person to read
};

// Recursive, incremental import of one folder into a library.
//
// Files are hashed, validated by a real decode and thumbnailed on a pool of
// worker threads; the calling thread writes the results in batched
// transactions, so `library` is only ever touched by the caller's thread.
// Re-import reads only new or changed files, marks vanished ones missing,
// recognises moved files by content (keeping their answers) and never adds a
// second row for the same path. Setting *cancel stops it soon; what was
// written stays written. `progress` is called on the calling thread.
ImportReport importFolder(Library &library, const QString &folder, const ImportOptions &options = {},
                          const std::function<void(const ImportProgress &)> &progress = {},
                          const std::atomic<bool> *cancel = nullptr);

// File name extensions the importer looks at (lower case, no dot).
const QStringList &imageExtensions();

} // namespace magpie
