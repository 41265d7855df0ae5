#include "core/importer.h"

#include "core/library.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSet>
#include <QThread>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace magpie {

const QStringList &imageExtensions()
{
    static const QStringList exts = {
        QStringLiteral("jpg"), QStringLiteral("jpeg"), QStringLiteral("jpe"), QStringLiteral("png"),
        QStringLiteral("tif"), QStringLiteral("tiff"), QStringLiteral("webp"), QStringLiteral("bmp"),
        QStringLiteral("dib"), QStringLiteral("gif"), QStringLiteral("pbm"), QStringLiteral("pgm"),
        QStringLiteral("ppm"), QStringLiteral("pnm"), QStringLiteral("pxm"), QStringLiteral("sr"),
        QStringLiteral("ras"), QStringLiteral("jp2")};
    return exts;
}

namespace {

struct ListedFile
{
    QString absPath;
    QString relPath;
    qint64 size = 0;
    qint64 mtimeMs = 0;
};

// Walks `root` recursively, following symbolic links but never entering a
// folder twice (which is what a symlink loop would make it do).
void listTree(const QString &root, const QString &skipPrefix, QVector<ListedFile> &files,
              QVector<QPair<QString, QString>> &issues, const std::atomic<bool> *cancel)
{
    QSet<QString> visited;
    QVector<QString> stack{root};
    const QSet<QString> exts(imageExtensions().begin(), imageExtensions().end());
    const QString rootSlash = root + QLatin1Char('/');
    while (!stack.isEmpty()) {
        if (cancel && cancel->load())
            return;
        const QString dirPath = stack.takeLast();
        const QFileInfo dirInfo(dirPath);
        const QString canonical = dirInfo.canonicalFilePath();
        if (canonical.isEmpty()) {
            issues << qMakePair(dirPath, QStringLiteral("folder cannot be resolved (broken link?)"));
            continue;
        }
        if (visited.contains(canonical)) {
            issues << qMakePair(dirPath, QStringLiteral("symlink loop: this folder leads back to %1, skipped").arg(canonical));
            continue;
        }
        visited.insert(canonical);
        QDir dir(dirPath);
        if (!dir.isReadable()) {
            issues << qMakePair(dirPath, QStringLiteral("folder cannot be read (permission denied)"));
            continue;
        }
        const QFileInfoList entries =
            dir.entryInfoList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System, QDir::Name);
        for (const QFileInfo &e : entries) {
            const QString p = e.absoluteFilePath();
            if (!skipPrefix.isEmpty() && (p == skipPrefix || p.startsWith(skipPrefix + QLatin1Char('/'))))
                continue;
            if (e.isDir()) {
                if (!e.fileName().startsWith(QLatin1Char('.')))
                    stack.push_back(p);
                continue;
            }
            if (!exts.contains(e.suffix().toLower()))
                continue;
            if (e.isSymLink() && !e.exists()) {
                issues << qMakePair(p, QStringLiteral("broken symbolic link"));
                continue;
            }
            if (!e.isFile())
                continue;
            files.push_back({p, p.mid(rootSlash.size()), e.size(), e.lastModified().toMSecsSinceEpoch()});
        }
    }
}

struct WorkItem
{
    ListedFile file;
    ImageId existingId = 0;
};

struct WorkResult
{
    int index = 0;
    bool vanished = false;
    QByteArray hash;
    qint64 size = 0;
    ImageAnalysis analysis;
    QString readError;
};

WorkResult processOne(const WorkItem &item, const QString &libraryPath, const ImportOptions &opt)
{
    WorkResult r;
    QFile f(item.file.absPath);
    if (!f.open(QIODevice::ReadOnly)) {
        if (!f.exists())
            r.vanished = true;
        else
            r.readError = QStringLiteral("cannot open: ") + f.errorString();
        return r;
    }
    r.size = f.size();
    if (r.size > opt.maxFileBytes) {
        r.readError = QStringLiteral("file too large to read (%1 MB; the limit is %2 MB)")
                          .arg(r.size >> 20)
                          .arg(opt.maxFileBytes >> 20);
        return r;
    }
    const QByteArray bytes = f.readAll();
    if (bytes.size() != r.size && f.error() != QFileDevice::NoError) {
        r.readError = QStringLiteral("read error: ") + f.errorString();
        return r;
    }
    r.size = bytes.size();
    r.hash = QCryptographicHash::hash(bytes, QCryptographicHash::Blake2b_160).toHex();
    r.analysis = decoder::analyze(bytes, opt.thumbnailSize, opt.limits);
    if (r.analysis.ok) {
        const QString path = Library::thumbnailPath(libraryPath, r.hash);
        const QString dir = QFileInfo(path).path();
        if (!QFileInfo::exists(path)) {
            // a cache file: written whole then renamed into place (never half a
            // thumbnail), but not fsync'ed — a lost thumbnail is made again
            QDir().mkpath(dir);
            const QString tmp = path + QStringLiteral(".%1.tmp").arg(quintptr(QThread::currentThreadId()));
            QFile out(tmp);
            if (out.open(QIODevice::WriteOnly) && out.write(r.analysis.thumbnailJpeg) == r.analysis.thumbnailJpeg.size()) {
                out.close();
                if (!QFile::rename(tmp, path))
                    QFile::remove(tmp); // another worker wrote the same content first
            } else {
                out.close();
                QFile::remove(tmp);
            }
        }
        r.analysis.thumbnailJpeg.clear();
    }
    return r;
}

// Results flow from the workers to the writing thread through this queue.
struct ResultQueue
{
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<WorkResult> items;
    int workersLeft = 0;
};

} // namespace

ImportReport importFolder(Library &lib, const QString &folder, const ImportOptions &opt,
                          const std::function<void(const ImportProgress &)> &progress,
                          const std::atomic<bool> *cancel)
{
    ImportReport rep;
    QElapsedTimer clock;
    clock.start();
    const auto cancelled = [cancel] { return cancel && cancel->load(std::memory_order_relaxed); };

    const QFileInfo fi(folder);
    if (!fi.exists()) {
        rep.error = QStringLiteral("The folder %1 does not exist.").arg(QDir::toNativeSeparators(folder));
        return rep;
    }
    if (!fi.isDir()) {
        rep.error = QStringLiteral("%1 is a file, not a folder. Import the folder that holds it.")
                        .arg(QDir::toNativeSeparators(folder));
        return rep;
    }
    if (!fi.isReadable()) {
        rep.error = QStringLiteral("The folder %1 cannot be read (permission denied).").arg(QDir::toNativeSeparators(folder));
        return rep;
    }
    if (lib.isReadOnly()) {
        rep.error = QStringLiteral("The library is open read-only; nothing can be imported into it.");
        return rep;
    }
    const QString root = fi.canonicalFilePath();
    rep.rootId = lib.addRoot(root);
    if (rep.rootId == 0) {
        rep.error = QStringLiteral("Cannot record the import folder: ") + lib.lastError();
        return rep;
    }

    ImportProgress prog;
    prog.phase = QStringLiteral("listing");
    if (progress)
        progress(prog);

    QVector<ListedFile> files;
    listTree(root, QFileInfo(lib.cacheDir()).absoluteFilePath(), files, rep.issues, cancel);
    rep.listed = files.size();
    if (cancelled()) {
        rep.cancelled = true;
        lib.recordImportIssues(rep.rootId, rep.issues);
        return rep;
    }

    // Which files need reading? Unchanged ones (same size and mtime) do not,
    // except those that could not be read: they are tried again (the pixel
    // limit or the decoders may have changed) and counted as unreadable again.
    const QHash<QString, KnownFile> known = lib.knownFiles(rep.rootId);
    QSet<QString> seen;
    seen.reserve(files.size());
    QVector<WorkItem> work;
    for (const ListedFile &f : files) {
        seen.insert(f.relPath);
        auto it = known.constFind(f.relPath);
        if (it != known.constEnd() && it->status != ImageStatus::Missing && it->status != ImageStatus::Unreadable
            && it->byteSize == f.size && it->mtimeMs == f.mtimeMs) {
            ++rep.unchanged;
            continue;
        }
        work.push_back({f, it != known.constEnd() ? it->id : 0});
    }
    QVector<ImageId> gone;
    for (auto it = known.constBegin(); it != known.constEnd(); ++it)
        if (!seen.contains(it.key()) && it->status != ImageStatus::Missing)
            gone << it->id;
    if (!lib.markMissing(gone, QStringLiteral("not found at the last import")))
        rep.issues << qMakePair(root, QStringLiteral("could not mark vanished files: ") + lib.lastError());
    rep.vanished = gone.size();

    if (opt.afterListing) {
        QStringList paths;
        for (const WorkItem &w : work)
            paths << w.file.absPath;
        opt.afterListing(paths);
    }

    prog.phase = QStringLiteral("importing");
    prog.total = work.size();
    if (progress)
        progress(prog);

    // Workers: hash, decode, thumbnail. The caller's thread writes.
    const int nThreads = std::max(1, opt.threads > 0 ? opt.threads : QThread::idealThreadCount());
    const QString libraryPath = lib.path(); // workers only build thumbnail paths from it
    std::atomic<int> next{0};
    ResultQueue queue;
    queue.workersLeft = nThreads;
    std::vector<std::thread> workers;
    for (int t = 0; t < nThreads; ++t) {
        workers.emplace_back([&] {
            for (;;) {
                if (cancelled())
                    break;
                const int i = next.fetch_add(1);
                if (i >= work.size())
                    break;
                WorkResult r;
                try {
                    r = processOne(work[i], libraryPath, opt);
                } catch (const std::exception &e) {
                    r.readError = QStringLiteral("internal error: ") + QString::fromLocal8Bit(e.what());
                } catch (...) {
                    r.readError = QStringLiteral("internal error");
                }
                r.index = i;
                {
                    std::lock_guard<std::mutex> lock(queue.mutex);
                    // bounded: wait if the writer falls far behind
                    queue.items.push_back(std::move(r));
                }
                queue.cv.notify_one();
            }
            {
                std::lock_guard<std::mutex> lock(queue.mutex);
                --queue.workersLeft;
            }
            queue.cv.notify_one();
        });
    }

    QHash<QByteArray, ImageId> runHashes; // content written in this run -> id
    QVector<ImageRecord> batch;
    QVector<QPair<int, QByteArray>> deferred; // batch index of rows duplicating an earlier row of the batch
    QHash<QByteArray, int> batchHashes;
    QVector<ImageId> vanishedNow;
    QSet<ImageId> claimed; // missing images already matched to a new path in this run
    QElapsedTimer lastReport;
    lastReport.start();

    const auto flush = [&] {
        if (batch.isEmpty())
            return;
        // rows whose content appeared earlier in this batch get their original's id after the write
        QVector<ImageRecord> later;
        QVector<QByteArray> laterHashes;
        for (int k = deferred.size() - 1; k >= 0; --k) {
            later.prepend(batch[deferred[k].first]);
            laterHashes.prepend(deferred[k].second);
            batch.remove(deferred[k].first);
        }
        if (!lib.writeImages(batch))
            rep.error = QStringLiteral("Writing to the library failed: ") + lib.lastError();
        for (const ImageRecord &r : batch)
            if (r.status == ImageStatus::Ok && !runHashes.contains(r.hash))
                runHashes.insert(r.hash, r.id);
        for (int k = 0; k < later.size(); ++k)
            later[k].duplicateOf = runHashes.value(laterHashes[k]);
        if (!later.isEmpty() && !lib.writeImages(later))
            rep.error = QStringLiteral("Writing to the library failed: ") + lib.lastError();
        batch.clear();
        deferred.clear();
        batchHashes.clear();
    };

    const auto handle = [&](WorkResult &r) {
        const WorkItem &item = work[r.index];
        if (r.vanished) {
            rep.issues << qMakePair(item.file.absPath, QStringLiteral("deleted during the import"));
            if (item.existingId)
                vanishedNow << item.existingId;
            ++rep.vanished;
            return;
        }
        ImageRecord row;
        row.id = item.existingId;
        row.rootId = rep.rootId;
        row.relPath = item.file.relPath;
        row.hash = r.hash;
        row.byteSize = r.size;
        row.mtimeMs = item.file.mtimeMs;
        if (!r.readError.isEmpty() || !r.analysis.ok) {
            row.status = ImageStatus::Unreadable;
            row.reason = r.readError.isEmpty() ? r.analysis.reason : r.readError;
            row.format = r.analysis.format;
            row.orientation = r.analysis.orientation;
            ++rep.unreadable;
            rep.issues << qMakePair(item.file.absPath, row.reason);
            if (row.hash.isEmpty())
                row.hash = QByteArrayLiteral("-");
            batch << row;
            return;
        }
        row.width = r.analysis.width;
        row.height = r.analysis.height;
        row.format = r.analysis.format;
        row.orientation = r.analysis.orientation;
        row.frames = r.analysis.frames;
        row.status = ImageStatus::Ok;
        if (row.frames > 1)
            row.reason = QStringLiteral("%1 frames or pages; the first is used").arg(row.frames);
        if (row.id != 0) {
            ++rep.updated;
            batch << row;
            return;
        }
        // A new path: a moved file (content of a missing image)? a duplicate?
        const ImageId movedId = lib.findByHash(r.hash, ImageStatus::Missing);
        if (movedId && !claimed.contains(movedId)) {
            claimed.insert(movedId);
            row.id = movedId;
            ++rep.moved;
            batch << row;
            return;
        }
        ImageId original = runHashes.value(r.hash);
        if (!original)
            original = lib.findByHash(r.hash, ImageStatus::Ok);
        if (original || batchHashes.contains(r.hash)) {
            row.status = ImageStatus::Duplicate;
            row.duplicateOf = original;
            row.reason = QStringLiteral("same content as another image");
            ++rep.duplicates;
            if (!original)
                deferred << qMakePair(int(batch.size()), r.hash);
            batch << row;
            return;
        }
        batchHashes.insert(r.hash, int(batch.size()));
        ++rep.added;
        batch << row;
    };

    qint64 done = 0;
    for (;;) {
        std::deque<WorkResult> ready;
        bool finished = false;
        {
            std::unique_lock<std::mutex> lock(queue.mutex);
            queue.cv.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return !queue.items.empty() || queue.workersLeft == 0; });
            ready.swap(queue.items);
            finished = queue.workersLeft == 0 && ready.empty();
        }
        for (WorkResult &r : ready) {
            handle(r);
            ++done;
            if (batch.size() >= 256)
                flush();
        }
        if (progress && (lastReport.elapsed() >= 100 || finished)) {
            lastReport.restart();
            prog.done = done;
            const double secs = clock.elapsed() / 1000.0;
            prog.perSecond = secs > 0 ? done / secs : 0;
            prog.etaSeconds = prog.perSecond > 0 ? (prog.total - done) / prog.perSecond : -1;
            progress(prog);
        }
        if (finished)
            break;
    }
    for (std::thread &t : workers)
        t.join();
    flush();
    lib.markMissing(vanishedNow, QStringLiteral("deleted during an import"));
    rep.cancelled = cancelled();
    lib.recordImportIssues(rep.rootId, rep.issues, !rep.cancelled);
    if (!rep.cancelled)
        lib.touchRoot(rep.rootId);
    rep.seconds = clock.elapsed() / 1000.0;
    prog.phase = QStringLiteral("done");
    prog.done = done;
    if (progress)
        progress(prog);
    return rep;
}

} // namespace magpie
