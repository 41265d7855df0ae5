#include "core/library.h"

#include <QAtomicInteger>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLockFile>
#include <QMutex>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSet>
#include <QSqlQuery>
#include <QThread>
#include <QUuid>

#include <map>

namespace magpie {

QString statusName(ImageStatus s)
{
    switch (s) {
    case ImageStatus::Ok: return QStringLiteral("ok");
    case ImageStatus::Unreadable: return QStringLiteral("unreadable");
    case ImageStatus::Missing: return QStringLiteral("missing");
    case ImageStatus::Duplicate: return QStringLiteral("duplicate");
    }
    return QStringLiteral("unknown");
}

QString answerName(AnswerValue v)
{
    switch (v) {
    case AnswerValue::Yes: return QStringLiteral("yes");
    case AnswerValue::No: return QStringLiteral("no");
    case AnswerValue::Skip: return QStringLiteral("skip");
    }
    return QStringLiteral("?");
}

std::optional<AnswerValue> parseAnswer(const QString &text)
{
    const QString t = text.trimmed().toLower();
    if (t == u"yes" || t == u"y" || t == u"1" || t == u"true" || t == u"+")
        return AnswerValue::Yes;
    if (t == u"no" || t == u"n" || t == u"0" || t == u"false" || t == u"-")
        return AnswerValue::No;
    if (t == u"skip" || t == u"s" || t == u"?")
        return AnswerValue::Skip;
    return std::nullopt;
}

QStringList letterClasses()
{
    QStringList l;
    for (char ch = 'A'; ch <= 'Z'; ++ch)
        l << QString(QLatin1Char(ch));
    l << QStringLiteral("none");
    return l;
}

QString libraryErrorName(LibraryError e)
{
    switch (e) {
    case LibraryError::None: return QStringLiteral("none");
    case LibraryError::NotFound: return QStringLiteral("not-found");
    case LibraryError::Exists: return QStringLiteral("exists");
    case LibraryError::Locked: return QStringLiteral("locked");
    case LibraryError::ReadOnly: return QStringLiteral("read-only");
    case LibraryError::TooNew: return QStringLiteral("too-new");
    case LibraryError::Corrupt: return QStringLiteral("corrupt");
    case LibraryError::Io: return QStringLiteral("io");
    }
    return {};
}

namespace {

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

// Qt binds a null QString as SQL NULL; the schema's text columns are NOT NULL.
QVariant nn(const QString &s) { return s.isNull() ? QVariant(QString::fromLatin1("")) : QVariant(s); }

// Schema migrations: migrations[i] takes the schema from version i to i+1.
// Never edit a released step; append a new one.
const char *const kMigrations[] = {
    // 0 -> 1
    R"SQL(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE roots(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_ms INTEGER NOT NULL,
    scanned_ms INTEGER);
CREATE TABLE images(
    id INTEGER PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id),
    rel_path TEXT NOT NULL,
    hash TEXT NOT NULL,
    byte_size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    format TEXT NOT NULL DEFAULT '',
    orientation INTEGER NOT NULL DEFAULT 1,
    frames INTEGER NOT NULL DEFAULT 1,
    status INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    duplicate_of INTEGER REFERENCES images(id),
    imported_ms INTEGER NOT NULL,
    UNIQUE(root_id, rel_path));
CREATE INDEX images_hash ON images(hash);
CREATE INDEX images_status ON images(status);
CREATE TABLE categories(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind INTEGER NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE TABLE classes(
    id INTEGER PRIMARY KEY,
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE(category_id, name));
CREATE TABLE model_versions(
    id INTEGER PRIMARY KEY,
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    backbone TEXT NOT NULL,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    checkpoint_path TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL);
-- The current answer per image, category and class (class_id 0 in a binary theme).
CREATE TABLE answers(
    image_id INTEGER NOT NULL REFERENCES images(id),
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL,
    value INTEGER NOT NULL,
    origin TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT -1,
    model_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(image_id, category_id, class_id)) WITHOUT ROWID;
CREATE INDEX answers_by_category ON answers(category_id, class_id, value);
-- Append-only log of every decision; undo appends an 'undo' row that names the
-- decision it reverts. `before` is the (image, category) answer set before the
-- decision, so an undo can restore it exactly.
CREATE TABLE decisions(
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    image_id INTEGER NOT NULL,
    category_id INTEGER NOT NULL,
    class_id INTEGER NOT NULL,
    value INTEGER NOT NULL,
    origin TEXT NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT -1,
    model_version INTEGER NOT NULL DEFAULT 0,
    undoes INTEGER,
    before TEXT NOT NULL DEFAULT '');
CREATE INDEX decisions_undoes ON decisions(undoes) WHERE undoes IS NOT NULL;
-- Files an import could not take, and why (symlink loops, vanished files,
-- unreadable folders); unreadable images also carry their reason in images.
CREATE TABLE import_issues(
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    root_id INTEGER NOT NULL REFERENCES roots(id),
    path TEXT NOT NULL,
    reason TEXT NOT NULL);
CREATE TABLE collections(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    subtitle TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL);
CREATE TABLE collection_items(
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images(id),
    caption TEXT NOT NULL DEFAULT '',
    PRIMARY KEY(collection_id, position));
)SQL",
};
constexpr int kSchemaVersion = int(sizeof(kMigrations) / sizeof(kMigrations[0]));

// One lock file per library path for the whole process, shared by every
// Library object (one per thread) on that path.
struct LockRegistry
{
    QMutex mutex;
    std::map<QString, std::pair<std::unique_ptr<QLockFile>, int>> locks;

    static LockRegistry &instance()
    {
        static LockRegistry r;
        return r;
    }

    bool acquire(const QString &path, QString *error)
    {
        QMutexLocker lock(&mutex);
        auto it = locks.find(path);
        if (it != locks.end()) {
            ++it->second.second;
            return true;
        }
        auto file = std::make_unique<QLockFile>(path + QStringLiteral(".lock"));
        file->setStaleLockTime(0); // a lock is stale only when its process is gone
        if (!file->tryLock(0)) {
            if (file->error() == QLockFile::LockFailedError) {
                qint64 pid = 0;
                QString host, app;
                file->getLockInfo(&pid, &host, &app);
                *error = QStringLiteral("The library %1 is open in another Magpie process (pid %2 on %3). "
                                        "Close it there first.")
                             .arg(QDir::toNativeSeparators(path))
                             .arg(pid)
                             .arg(host.isEmpty() ? QStringLiteral("this machine") : host);
            } else {
                *error = QStringLiteral("Cannot create the lock file %1.lock (%2).")
                             .arg(QDir::toNativeSeparators(path),
                                  file->error() == QLockFile::PermissionError
                                      ? QStringLiteral("permission denied")
                                      : QStringLiteral("unknown error"));
            }
            return false;
        }
        locks.emplace(path, std::make_pair(std::move(file), 1));
        return true;
    }

    void release(const QString &path)
    {
        QMutexLocker lock(&mutex);
        auto it = locks.find(path);
        if (it != locks.end() && --it->second.second == 0)
            locks.erase(it);
    }
};

QString encodeBefore(const QVector<Answer> &rows)
{
    QStringList parts;
    for (const Answer &a : rows)
        parts << QStringLiteral("%1:%2:%3:%4:%5:%6")
                     .arg(a.classId)
                     .arg(int(a.value))
                     .arg(a.origin)
                     .arg(a.atMs)
                     .arg(a.durationMs)
                     .arg(a.modelVersion);
    return parts.join(QLatin1Char(';'));
}

QVector<Answer> decodeBefore(const QString &text, ImageId image, CategoryId category)
{
    QVector<Answer> rows;
    for (const QString &part : text.split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
        const QStringList f = part.split(QLatin1Char(':'));
        if (f.size() != 6)
            continue;
        Answer a;
        a.imageId = image;
        a.categoryId = category;
        a.classId = f[0].toLongLong();
        a.value = AnswerValue(f[1].toInt());
        a.origin = f[2];
        a.atMs = f[3].toLongLong();
        a.durationMs = f[4].toInt();
        a.modelVersion = f[5].toLongLong();
        rows << a;
    }
    return rows;
}

} // namespace

struct Library::Private
{
    QString path;
    QString connectionName;
    QSqlDatabase db;
    bool readOnly = false;
    bool locked = false;
    int version = 0;
    mutable QString lastError;

    QSqlQuery undoableQuery(CategoryId categoryId, const QString &origin, int limit) const;
    QSqlQuery prepare(const QString &sql) const
    {
        QSqlQuery q(db);
        q.setForwardOnly(true);
        if (!q.prepare(sql))
            lastError = q.lastError().text();
        return q;
    }

    bool exec(QSqlQuery &q) const
    {
        if (!q.exec()) {
            lastError = q.lastError().text();
            if (lastError.contains(QLatin1String("readonly"), Qt::CaseInsensitive)
                || lastError.contains(QLatin1String("read-only"), Qt::CaseInsensitive))
                lastError = QStringLiteral("The library is read-only: ") + lastError;
            return false;
        }
        return true;
    }

    bool execSql(const QString &sql) const
    {
        QSqlQuery q(db);
        if (!q.exec(sql)) {
            lastError = q.lastError().text();
            return false;
        }
        return true;
    }

    bool begin()
    {
        if (readOnly) {
            lastError = QStringLiteral("The library %1 is open read-only.").arg(QDir::toNativeSeparators(path));
            return false;
        }
        // IMMEDIATE takes the write lock up front (waiting up to the busy
        // timeout); a deferred transaction that reads first and writes later
        // fails at once with SQLITE_BUSY when another connection wrote between.
        return execSql(QStringLiteral("BEGIN IMMEDIATE"));
    }
    bool commit()
    {
        if (!execSql(QStringLiteral("COMMIT"))) {
            const QString err = lastError;
            execSql(QStringLiteral("ROLLBACK"));
            lastError = err;
            return false;
        }
        return true;
    }
    void rollback() { execSql(QStringLiteral("ROLLBACK")); }

    QVector<Answer> answersFor(ImageId image, CategoryId category) const
    {
        QSqlQuery q = prepare(QStringLiteral(
            "SELECT class_id, value, origin, at_ms, duration_ms, model_version FROM answers "
            "WHERE image_id=? AND category_id=? ORDER BY class_id"));
        q.addBindValue(image);
        q.addBindValue(category);
        QVector<Answer> rows;
        if (!exec(q))
            return rows;
        while (q.next()) {
            Answer a;
            a.imageId = image;
            a.categoryId = category;
            a.classId = q.value(0).toLongLong();
            a.value = AnswerValue(q.value(1).toInt());
            a.origin = q.value(2).toString();
            a.atMs = q.value(3).toLongLong();
            a.durationMs = q.value(4).toInt();
            a.modelVersion = q.value(5).toLongLong();
            rows << a;
        }
        return rows;
    }

    bool writeAnswerRow(const Answer &a)
    {
        QSqlQuery q = prepare(QStringLiteral(
            "INSERT OR REPLACE INTO answers(image_id, category_id, class_id, value, origin, at_ms, "
            "duration_ms, model_version) VALUES(?,?,?,?,?,?,?,?)"));
        q.addBindValue(a.imageId);
        q.addBindValue(a.categoryId);
        q.addBindValue(a.classId);
        q.addBindValue(int(a.value));
        q.addBindValue(nn(a.origin));
        q.addBindValue(a.atMs);
        q.addBindValue(a.durationMs);
        q.addBindValue(a.modelVersion);
        return exec(q);
    }

    // Applies one answer inside an open transaction: log entry + current state.
    bool applyAnswer(Answer a, bool classSet)
    {
        if (a.atMs == 0)
            a.atMs = nowMs();
        const QVector<Answer> before = answersFor(a.imageId, a.categoryId);
        QSqlQuery log = prepare(QStringLiteral(
            "INSERT INTO decisions(at_ms, action, image_id, category_id, class_id, value, origin, "
            "duration_ms, model_version, before) VALUES(?, 'answer', ?,?,?,?,?,?,?,?)"));
        log.addBindValue(a.atMs);
        log.addBindValue(a.imageId);
        log.addBindValue(a.categoryId);
        log.addBindValue(a.classId);
        log.addBindValue(int(a.value));
        log.addBindValue(nn(a.origin));
        log.addBindValue(a.durationMs);
        log.addBindValue(a.modelVersion);
        log.addBindValue(nn(encodeBefore(before)));
        if (!exec(log))
            return false;
        if (classSet && a.value == AnswerValue::Yes) {
            // one class per image: a Yes replaces any other Yes (and a skip)
            QSqlQuery del = prepare(QStringLiteral(
                "DELETE FROM answers WHERE image_id=? AND category_id=? AND class_id<>? AND value IN (1,2)"));
            del.addBindValue(a.imageId);
            del.addBindValue(a.categoryId);
            del.addBindValue(a.classId);
            if (!exec(del))
                return false;
        }
        return writeAnswerRow(a);
    }

    std::optional<Category> loadCategory(const QString &where, const QVariant &key) const
    {
        QSqlQuery q = prepare(QStringLiteral("SELECT id, name, kind, created_ms FROM categories WHERE ") + where);
        q.addBindValue(key);
        if (!exec(q) || !q.next())
            return std::nullopt;
        Category c;
        c.id = q.value(0).toLongLong();
        c.name = q.value(1).toString();
        c.kind = CategoryKind(q.value(2).toInt());
        c.createdMs = q.value(3).toLongLong();
        QSqlQuery cl = prepare(QStringLiteral(
            "SELECT id, name, position FROM classes WHERE category_id=? ORDER BY position, id"));
        cl.addBindValue(c.id);
        if (exec(cl))
            while (cl.next())
                c.classes.push_back({cl.value(0).toLongLong(), cl.value(1).toString(), cl.value(2).toInt()});
        return c;
    }
};

Library::Library() : d(std::make_unique<Private>()) {}

Library::~Library()
{
    if (d->db.isOpen()) {
        if (!d->readOnly)
            d->execSql(QStringLiteral("PRAGMA optimize"));
        d->db.close();
    }
    d->db = QSqlDatabase();
    QSqlDatabase::removeDatabase(d->connectionName);
    if (d->locked)
        LockRegistry::instance().release(d->path);
}

int Library::currentSchemaVersion() { return kSchemaVersion; }

namespace {

std::unique_ptr<Library> fail(QString *error, LibraryError *kind, LibraryError k, const QString &message)
{
    if (error)
        *error = message;
    if (kind)
        *kind = k;
    return nullptr;
}

} // namespace

std::unique_ptr<Library> Library::create(const QString &path, QString *error, LibraryError *kind)
{
    const QFileInfo fi(path);
    if (fi.exists())
        return fail(error, kind, LibraryError::Exists,
                    QStringLiteral("A file already exists at %1; open it instead, or choose another name.")
                        .arg(QDir::toNativeSeparators(fi.absoluteFilePath())));
    const QFileInfo dir(fi.absolutePath());
    if (!dir.exists()) {
        if (!QDir().mkpath(fi.absolutePath()))
            return fail(error, kind, LibraryError::Io,
                        QStringLiteral("Cannot create the folder %1.").arg(QDir::toNativeSeparators(fi.absolutePath())));
    } else if (!dir.isWritable()) {
        return fail(error, kind, LibraryError::ReadOnly,
                    QStringLiteral("Cannot create a library in %1: the folder is read-only.")
                        .arg(QDir::toNativeSeparators(fi.absolutePath())));
    }
    return open(path, Mode::ReadWrite, error, kind);
}

std::unique_ptr<Library> Library::open(const QString &pathIn, Mode mode, QString *error, LibraryError *kind)
{
    if (kind)
        *kind = LibraryError::None;
    const QFileInfo fi(pathIn);
    const QString path = fi.absoluteFilePath();
    const bool exists = fi.exists();
    std::unique_ptr<Library> lib(new Library);
    lib->d->path = path;

    if (mode == Mode::ReadOnly && !exists)
        return fail(error, kind, LibraryError::NotFound,
                    QStringLiteral("No library at %1. Create one with `magpie-cli init %1`.")
                        .arg(QDir::toNativeSeparators(path)));
    if (exists && fi.isDir())
        return fail(error, kind, LibraryError::Corrupt,
                    QStringLiteral("%1 is a folder, not a Magpie library file.").arg(QDir::toNativeSeparators(path)));
    // A 0-byte file (an interrupted copy, a `touch`) would silently become a
    // new, empty library; only `create` makes one.
    if (mode == Mode::ReadWrite && exists && fi.size() == 0 && QFileInfo(path + QStringLiteral("-wal")).size() == 0)
        return fail(error, kind, LibraryError::Corrupt,
                    QStringLiteral("%1 is an empty file, not a Magpie library (remove it, or create a new library "
                                   "under another name).")
                        .arg(QDir::toNativeSeparators(path)));
    if (mode == Mode::ReadWrite && exists
        && (!fi.isWritable() || !QFileInfo(fi.absolutePath()).isWritable()))
        return fail(error, kind, LibraryError::ReadOnly,
                    QStringLiteral("The library %1 is read-only (%2). Its answers can be read and exported, "
                                   "but nothing can be added; copy it somewhere writable to work on it.")
                        .arg(QDir::toNativeSeparators(path),
                             fi.isWritable() ? QStringLiteral("its folder cannot be written")
                                             : QStringLiteral("the file cannot be written")));

    if (mode == Mode::ReadWrite) {
        QString lockError;
        if (!LockRegistry::instance().acquire(path, &lockError))
            return fail(error, kind, LibraryError::Locked, lockError);
        lib->d->locked = true;
    }
    lib->d->readOnly = mode == Mode::ReadOnly;

    static QAtomicInteger<quint64> counter;
    lib->d->connectionName = QStringLiteral("magpie-%1").arg(counter.fetchAndAddRelaxed(1));
    lib->d->db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), lib->d->connectionName);
    if (!lib->d->db.isValid())
        return fail(error, kind, LibraryError::Io,
                    QStringLiteral("Qt's SQLite driver is missing (install libqt6sql6-sqlite)."));
    if (mode == Mode::ReadOnly) {
        // A library in a folder this user cannot write: SQLite cannot make the
        // WAL's shared-memory file beside it, so a plain read-only open fails
        // ("attempt to write a readonly database"). Nobody can write it from
        // here, so it is opened as immutable: read as it is, without locks.
        const bool folderWritable = QFileInfo(fi.absolutePath()).isWritable();
        lib->d->db.setDatabaseName(QStringLiteral("file:") + path + QStringLiteral("?mode=ro")
                                   + (folderWritable ? QString() : QStringLiteral("&immutable=1")));
        lib->d->db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_URI;QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000"));
    } else {
        lib->d->db.setDatabaseName(path);
        lib->d->db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
    }
    if (!lib->d->db.open())
        return fail(error, kind, LibraryError::Io,
                    QStringLiteral("Cannot open %1: %2").arg(QDir::toNativeSeparators(path), lib->d->db.lastError().text()));

    Private &p = *lib->d;
    // Is it a SQLite file at all? Reading the schema forces the header check.
    QSqlQuery probe(p.db);
    if (!probe.exec(QStringLiteral("SELECT count(*) FROM sqlite_master"))) {
        const QString why = probe.lastError().text();
        return fail(error, kind, LibraryError::Corrupt,
                    why.contains(QLatin1String("not a database"), Qt::CaseInsensitive)
                        ? QStringLiteral("%1 is not a Magpie library: it is not a database file at all (a library is "
                                         "the .magpie file that magpie-cli init or Library › New Library made).")
                              .arg(QDir::toNativeSeparators(path))
                        : QStringLiteral("%1 is not a Magpie library (%2).").arg(QDir::toNativeSeparators(path), why));
    }
    probe.next();
    const bool empty = probe.value(0).toInt() == 0;
    probe.finish();

    QSqlQuery uv(p.db);
    uv.exec(QStringLiteral("PRAGMA user_version"));
    uv.next();
    p.version = uv.value(0).toInt();
    uv.finish();
    if (!empty && p.version == 0)
        return fail(error, kind, LibraryError::Corrupt,
                    QStringLiteral("%1 is a SQLite file but not a Magpie library.").arg(QDir::toNativeSeparators(path)));
    if (p.version > kSchemaVersion)
        return fail(error, kind, LibraryError::TooNew,
                    QStringLiteral("%1 was written by a newer Magpie (schema %2; this one reads up to %3).")
                        .arg(QDir::toNativeSeparators(path))
                        .arg(p.version)
                        .arg(kSchemaVersion));

    if (mode == Mode::ReadWrite) {
        // WAL: readers never block the writer; NORMAL sync: a process crash
        // loses nothing committed (a power cut may lose the newest commits).
        p.execSql(QStringLiteral("PRAGMA journal_mode=WAL"));
        p.execSql(QStringLiteral("PRAGMA synchronous=NORMAL"));
    }
    p.execSql(QStringLiteral("PRAGMA foreign_keys=ON"));
    p.execSql(QStringLiteral("PRAGMA temp_store=MEMORY"));
    p.execSql(QStringLiteral("PRAGMA cache_size=-65536")); // 64 MiB

    if (p.version < kSchemaVersion) {
        if (mode == Mode::ReadOnly && empty)
            return fail(error, kind, LibraryError::Corrupt,
                        QStringLiteral("%1 is an empty file, not a Magpie library (remove it, then `magpie-cli init` makes a library there).")
                            .arg(QDir::toNativeSeparators(path)));
        if (mode == Mode::ReadOnly)
            return fail(error, kind, LibraryError::ReadOnly,
                        QStringLiteral("%1 needs a schema upgrade (%2 to %3), which a read-only open cannot do.")
                            .arg(QDir::toNativeSeparators(path))
                            .arg(p.version)
                            .arg(kSchemaVersion));
        for (int v = p.version; v < kSchemaVersion; ++v) {
            if (!p.db.transaction())
                return fail(error, kind, LibraryError::Io, p.db.lastError().text());
            bool ok = true;
            // drop comment lines, then split into statements (no ';' inside a statement)
            QString script;
            for (const QString &line : QString::fromUtf8(kMigrations[v]).split(QLatin1Char('\n')))
                if (!line.trimmed().startsWith(QLatin1String("--")))
                    script += line + QLatin1Char('\n');
            for (const QString &stmt : script.split(QLatin1Char(';'))) {
                if (stmt.trimmed().isEmpty())
                    continue;
                if (!p.execSql(stmt)) {
                    ok = false;
                    break;
                }
            }
            ok = ok && p.execSql(QStringLiteral("PRAGMA user_version=%1").arg(v + 1));
            if (!ok) {
                p.db.rollback();
                return fail(error, kind, LibraryError::Io,
                            QStringLiteral("Schema migration %1 to %2 failed: %3").arg(v).arg(v + 1).arg(p.lastError));
            }
            if (!p.db.commit())
                return fail(error, kind, LibraryError::Io, p.db.lastError().text());
        }
        p.version = kSchemaVersion;
        if (empty)
            lib->setMeta(QStringLiteral("created_ms"), QString::number(nowMs()));
    }
    if (mode == Mode::ReadWrite)
        QDir().mkpath(lib->cacheDir() + QStringLiteral("/thumbs"));
    return lib;
}

QString Library::path() const { return d->path; }
QString Library::cacheDir() const { return d->path + QStringLiteral("-cache"); }

QString Library::thumbnailPath(const QByteArray &hash) const { return thumbnailPath(d->path, hash); }

QString Library::thumbnailPath(const QString &libraryPath, const QByteArray &hash)
{
    const QString h = QString::fromLatin1(hash);
    return libraryPath + QStringLiteral("-cache/thumbs/") + h.left(2) + QLatin1Char('/') + h + QStringLiteral(".jpg");
}

bool Library::isReadOnly() const { return d->readOnly; }
int Library::schemaVersion() const { return d->version; }
QString Library::lastError() const { return d->lastError; }

// --- roots -----------------------------------------------------------------

qint64 Library::addRoot(const QString &absPath)
{
    const QString clean = QDir::cleanPath(absPath);
    QSqlQuery find = d->prepare(QStringLiteral("SELECT id FROM roots WHERE path=?"));
    find.addBindValue(clean);
    if (d->exec(find) && find.next())
        return find.value(0).toLongLong();
    if (d->readOnly) {
        d->lastError = QStringLiteral("The library is open read-only.");
        return 0;
    }
    QSqlQuery ins = d->prepare(QStringLiteral("INSERT INTO roots(path, added_ms) VALUES(?, ?)"));
    ins.addBindValue(clean);
    ins.addBindValue(nowMs());
    if (!d->exec(ins))
        return 0;
    return ins.lastInsertId().toLongLong();
}

QHash<qint64, QString> Library::roots() const
{
    QHash<qint64, QString> out;
    QSqlQuery q = d->prepare(QStringLiteral("SELECT id, path FROM roots"));
    if (d->exec(q))
        while (q.next())
            out.insert(q.value(0).toLongLong(), q.value(1).toString());
    return out;
}

void Library::touchRoot(qint64 rootId)
{
    QSqlQuery q = d->prepare(QStringLiteral("UPDATE roots SET scanned_ms=? WHERE id=?"));
    q.addBindValue(nowMs());
    q.addBindValue(rootId);
    d->exec(q);
}

bool Library::recordImportIssues(qint64 rootId, const QVector<QPair<QString, QString>> &issues, bool complete)
{
    if (issues.isEmpty() && !complete)
        return true;
    if (!d->begin())
        return false;
    if (complete) {
        QSqlQuery del = d->prepare(QStringLiteral("DELETE FROM import_issues WHERE root_id = ?"));
        del.addBindValue(rootId);
        if (!d->exec(del)) {
            d->rollback();
            return false;
        }
    }
    QSqlQuery q = d->prepare(QStringLiteral("INSERT INTO import_issues(at_ms, root_id, path, reason) VALUES(?,?,?,?)"));
    const qint64 now = nowMs();
    for (const auto &issue : issues) {
        q.addBindValue(now);
        q.addBindValue(rootId);
        q.addBindValue(issue.first);
        q.addBindValue(issue.second);
        if (!d->exec(q)) {
            d->rollback();
            return false;
        }
    }
    return d->commit();
}

QVector<QPair<QString, QString>> Library::importIssues(int limit) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT path, reason FROM import_issues WHERE id IN "
                                            "(SELECT max(id) FROM import_issues GROUP BY path) ORDER BY id DESC LIMIT ?"));
    q.addBindValue(limit);
    QVector<QPair<QString, QString>> out;
    if (d->exec(q))
        while (q.next())
            out << qMakePair(q.value(0).toString(), q.value(1).toString());
    return out;
}

// --- images ------------------------------------------------------------------

namespace {
const QString kImageColumns = QStringLiteral(
    "i.id, i.root_id, i.rel_path, i.hash, i.byte_size, i.mtime_ms, i.width, i.height, i.format, "
    "i.orientation, i.frames, i.status, i.reason, i.duplicate_of, r.path");

ImageRecord readImage(const QSqlQuery &q)
{
    ImageRecord r;
    r.id = q.value(0).toLongLong();
    r.rootId = q.value(1).toLongLong();
    r.relPath = q.value(2).toString();
    r.hash = q.value(3).toString().toLatin1();
    r.byteSize = q.value(4).toLongLong();
    r.mtimeMs = q.value(5).toLongLong();
    r.width = q.value(6).toInt();
    r.height = q.value(7).toInt();
    r.format = q.value(8).toString();
    r.orientation = q.value(9).toInt();
    r.frames = q.value(10).toInt();
    r.status = ImageStatus(q.value(11).toInt());
    r.reason = q.value(12).toString();
    r.duplicateOf = q.value(13).toLongLong();
    r.absPath = q.value(14).toString() + QLatin1Char('/') + r.relPath;
    return r;
}
} // namespace

std::optional<ImageRecord> Library::image(ImageId id) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT ") + kImageColumns
                             + QStringLiteral(" FROM images i JOIN roots r ON r.id=i.root_id WHERE i.id=?"));
    q.addBindValue(id);
    if (!d->exec(q) || !q.next())
        return std::nullopt;
    return readImage(q);
}

QVector<ImageRecord> Library::images(ImageStatus status, int limit) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT ") + kImageColumns
                             + QStringLiteral(" FROM images i JOIN roots r ON r.id=i.root_id WHERE i.status=? "
                                              "ORDER BY i.id LIMIT ?"));
    q.addBindValue(int(status));
    q.addBindValue(limit);
    QVector<ImageRecord> out;
    if (d->exec(q))
        while (q.next())
            out << readImage(q);
    return out;
}

QHash<QString, KnownFile> Library::knownFiles(qint64 rootId) const
{
    QHash<QString, KnownFile> out;
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT rel_path, id, byte_size, mtime_ms, status FROM images WHERE root_id=?"));
    q.addBindValue(rootId);
    if (d->exec(q))
        while (q.next())
            out.insert(q.value(0).toString(), KnownFile{q.value(1).toLongLong(), q.value(2).toLongLong(),
                                                        q.value(3).toLongLong(), ImageStatus(q.value(4).toInt())});
    return out;
}

ImageId Library::findByHash(const QByteArray &hash, ImageStatus status) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT id FROM images INDEXED BY images_hash WHERE hash=? AND status=? ORDER BY id LIMIT 1"));
    q.addBindValue(QString::fromLatin1(hash));
    q.addBindValue(int(status));
    if (d->exec(q) && q.next())
        return q.value(0).toLongLong();
    return 0;
}

ImageId Library::findByPath(const QString &path) const
{
    const QVector<ImageId> ids = findAllByPath(path, 2);
    return ids.size() == 1 ? ids.first() : 0;
}

QVector<ImageId> Library::findAllByPath(const QString &pathIn, int limit) const
{
    QVector<ImageId> ids;
    const QString path = QDir::fromNativeSeparators(pathIn.trimmed());
    if (path.isEmpty() || limit < 1)
        return ids;
    // 1. absolute path under a root
    if (QDir::isAbsolutePath(path)) {
        const QString clean = QDir::cleanPath(path);
        const auto rs = roots();
        for (auto it = rs.begin(); it != rs.end(); ++it) {
            const QString prefix = it.value() + QLatin1Char('/');
            if (clean.startsWith(prefix)) {
                QSqlQuery q = d->prepare(QStringLiteral("SELECT id FROM images WHERE root_id=? AND rel_path=?"));
                q.addBindValue(it.key());
                q.addBindValue(clean.mid(prefix.size()));
                if (d->exec(q) && q.next())
                    return {q.value(0).toLongLong()};
            }
        }
        return ids;
    }
    const QString lim = QString::number(limit);
    // 2. relative to a root (the same path under two roots: all of them)
    QSqlQuery rel = d->prepare(QStringLiteral("SELECT id FROM images WHERE rel_path=? ORDER BY id LIMIT ") + lim);
    rel.addBindValue(QDir::cleanPath(path));
    if (d->exec(rel)) {
        while (rel.next())
            ids << rel.value(0).toLongLong();
        if (!ids.isEmpty())
            return ids;
    }
    // 3. a bare file name (rel_path ends with it)
    if (path.contains(QLatin1Char('/')))
        return ids;
    QSqlQuery base = d->prepare(QStringLiteral(
        "SELECT id FROM images WHERE rel_path=? OR rel_path LIKE ? ESCAPE '\\' ORDER BY id LIMIT ") + lim);
    QString esc = path;
    esc.replace(QLatin1Char('\\'), QStringLiteral("\\\\"))
        .replace(QLatin1Char('%'), QStringLiteral("\\%"))
        .replace(QLatin1Char('_'), QStringLiteral("\\_"));
    base.addBindValue(path);
    base.addBindValue(QString(QStringLiteral("%/") + esc));
    if (!d->exec(base))
        return ids;
    while (base.next())
        ids << base.value(0).toLongLong();
    if (!ids.isEmpty() || path.contains(QLatin1Char('.')))
        return ids;
    // 4. a file name without its extension, as the GUI names images in titles
    QSqlQuery stem = d->prepare(QStringLiteral(
        "SELECT id FROM images WHERE rel_path LIKE ? ESCAPE '\\' OR rel_path LIKE ? ESCAPE '\\' ORDER BY id LIMIT ")
        + QString::number(std::max(8, limit * 4)));
    stem.addBindValue(QString(esc + QStringLiteral(".%")));
    stem.addBindValue(QString(QStringLiteral("%/") + esc + QStringLiteral(".%")));
    if (!d->exec(stem))
        return ids;
    while (stem.next() && ids.size() < limit) {
        const ImageId id = stem.value(0).toLongLong();
        if (const auto rec = image(id); rec && QFileInfo(rec->relPath).completeBaseName() == path)
            ids << id;
    }
    return ids;
}

bool Library::writeImages(QVector<ImageRecord> &rows)
{
    if (rows.isEmpty())
        return true;
    if (!d->begin())
        return false;
    QSqlQuery ins = d->prepare(QStringLiteral(
        "INSERT INTO images(root_id, rel_path, hash, byte_size, mtime_ms, width, height, format, orientation, "
        "frames, status, reason, duplicate_of, imported_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    QSqlQuery upd = d->prepare(QStringLiteral(
        "UPDATE images SET root_id=?, rel_path=?, hash=?, byte_size=?, mtime_ms=?, width=?, height=?, format=?, "
        "orientation=?, frames=?, status=?, reason=?, duplicate_of=?, imported_ms=? WHERE id=?"));
    const qint64 now = nowMs();
    for (ImageRecord &r : rows) {
        QSqlQuery &q = r.id == 0 ? ins : upd;
        q.addBindValue(r.rootId);
        q.addBindValue(nn(r.relPath));
        q.addBindValue(QString::fromLatin1(r.hash));
        q.addBindValue(r.byteSize);
        q.addBindValue(r.mtimeMs);
        q.addBindValue(r.width);
        q.addBindValue(r.height);
        q.addBindValue(nn(r.format));
        q.addBindValue(r.orientation);
        q.addBindValue(r.frames);
        q.addBindValue(int(r.status));
        q.addBindValue(nn(r.reason));
        q.addBindValue(r.duplicateOf ? QVariant(r.duplicateOf) : QVariant(QMetaType(QMetaType::LongLong)));
        q.addBindValue(now);
        if (r.id != 0)
            q.addBindValue(r.id);
        if (!d->exec(q)) {
            d->rollback();
            return false;
        }
        if (r.id == 0)
            r.id = q.lastInsertId().toLongLong();
    }
    return d->commit();
}

bool Library::markMissing(const QVector<ImageId> &ids, const QString &reason)
{
    if (ids.isEmpty())
        return true;
    if (!d->begin())
        return false;
    QSqlQuery q = d->prepare(QStringLiteral("UPDATE images SET status=2, reason=? WHERE id=?"));
    for (ImageId id : ids) {
        q.addBindValue(nn(reason));
        q.addBindValue(id);
        if (!d->exec(q)) {
            d->rollback();
            return false;
        }
    }
    return d->commit();
}

QVector<ImageId> Library::imageIds(ImageStatus status, int limit) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT id FROM images WHERE status=? ORDER BY id LIMIT ?"));
    q.addBindValue(int(status));
    q.addBindValue(limit);
    QVector<ImageId> out;
    if (d->exec(q))
        while (q.next())
            out << q.value(0).toLongLong();
    return out;
}

QVector<ImageId> Library::answeredImageIds() const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT DISTINCT image_id FROM answers ORDER BY image_id"));
    QVector<ImageId> out;
    if (d->exec(q))
        while (q.next())
            out << q.value(0).toLongLong();
    return out;
}

QVector<ImageRecord> Library::unanswered(CategoryId category, int limit, quint32 seed,
                                         const QVector<ImageId> &exclude) const
{
    const QString order = seed ? QStringLiteral("((i.id * 2654435761 + %1) % 4294967291)").arg(seed)
                               : QStringLiteral("i.id");
    const QSet<ImageId> skip(exclude.begin(), exclude.end());
    QVector<ImageRecord> out;
    const auto read = [&](QSqlQuery &q) {
        if (d->exec(q))
            while (q.next() && out.size() < limit) {
                ImageRecord r = readImage(q);
                if (!skip.contains(r.id))
                    out << r;
            }
    };
    QSqlQuery q = d->prepare(QStringLiteral("SELECT ") + kImageColumns
                             + QStringLiteral(" FROM images i JOIN roots r ON r.id=i.root_id WHERE i.status=0 "
                                              "AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.image_id=i.id AND "
                                              "a.category_id=?) ORDER BY ") + order + QStringLiteral(" LIMIT ?"));
    q.addBindValue(category);
    q.addBindValue(limit + int(exclude.size()));
    read(q);
    // In a class set an image told only "not this class" is still open (which
    // class it is, is not known) until it has been told so of every class:
    // those come after the images with no answer (a second, small query: the
    // category's answers, not every image again).
    const auto cat = out.size() < limit ? this->category(category) : std::nullopt;
    if (cat && cat->kind == CategoryKind::ClassSet) {
        QSqlQuery told = d->prepare(
            QStringLiteral("SELECT ") + kImageColumns
            + QStringLiteral(" FROM images i JOIN roots r ON r.id=i.root_id WHERE i.status=0 AND i.id IN "
                             "(SELECT image_id FROM answers WHERE category_id=? GROUP BY image_id "
                             "HAVING max(value <> ?) = 0 AND count(*) < ?) ORDER BY ")
            + order + QStringLiteral(" LIMIT ?"));
        told.addBindValue(category);
        told.addBindValue(int(AnswerValue::No));
        told.addBindValue(int(cat->classes.size()));
        told.addBindValue(limit - int(out.size()) + int(exclude.size()));
        read(told);
    }
    return out;
}

qint64 Library::imageCount() const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT count(*) FROM images"));
    return d->exec(q) && q.next() ? q.value(0).toLongLong() : 0;
}

// --- categories ----------------------------------------------------------------

std::optional<Category> Library::createCategory(const QString &nameIn, CategoryKind kind, const QStringList &classes)
{
    const QString name = nameIn.trimmed();
    if (name.isEmpty()) {
        d->lastError = QStringLiteral("A category needs a name.");
        return std::nullopt;
    }
    if (category(name)) {
        d->lastError = QStringLiteral("A category named \u201c%1\u201d exists already.").arg(name);
        return std::nullopt;
    }
    QStringList cls;
    for (const QString &c : classes) {
        const QString t = c.trimmed();
        if (!t.isEmpty() && !cls.contains(t))
            cls << t;
    }
    if (kind == CategoryKind::ClassSet && cls.size() < 2) {
        d->lastError = QStringLiteral("A class set needs at least two classes (for example A-Z and none).");
        return std::nullopt;
    }
    if (kind == CategoryKind::Binary && !cls.isEmpty()) {
        d->lastError = QStringLiteral("A binary theme has no classes; its answers are yes and no.");
        return std::nullopt;
    }
    if (!d->begin())
        return std::nullopt;
    // Ids are never reused: a deleted category's id stays taken (the meta key
    // below), so nothing keyed by it (models, settings, a job still running
    // for it) can attach itself to a new category.
    QSqlQuery q = d->prepare(QStringLiteral(
        "INSERT INTO categories(id, name, kind, created_ms) VALUES(1 + max(coalesce((SELECT max(id) FROM categories), 0), "
        "coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'categories_deleted_up_to'), 0)), ?, ?, ?)"));
    q.addBindValue(name);
    q.addBindValue(int(kind));
    q.addBindValue(nowMs());
    if (!d->exec(q)) {
        d->rollback();
        return std::nullopt;
    }
    const qint64 id = q.lastInsertId().toLongLong();
    QSqlQuery c = d->prepare(QStringLiteral("INSERT INTO classes(category_id, name, position) VALUES(?,?,?)"));
    for (int i = 0; i < cls.size(); ++i) {
        c.addBindValue(id);
        c.addBindValue(cls[i]);
        c.addBindValue(i);
        if (!d->exec(c)) {
            d->rollback();
            return std::nullopt;
        }
    }
    if (!d->commit())
        return std::nullopt;
    return category(id);
}

std::optional<Category> Library::category(const QString &name) const
{
    return d->loadCategory(QStringLiteral("name=?"), name.trimmed());
}

std::optional<Category> Library::category(CategoryId id) const
{
    return d->loadCategory(QStringLiteral("id=?"), id);
}

QVector<Category> Library::categories() const
{
    QVector<CategoryId> ids;
    QSqlQuery q = d->prepare(QStringLiteral("SELECT id FROM categories ORDER BY id"));
    if (d->exec(q))
        while (q.next())
            ids << q.value(0).toLongLong();
    QVector<Category> out;
    for (CategoryId id : ids)
        if (auto c = category(id))
            out << *c;
    return out;
}

ClassId Library::addClass(CategoryId categoryId, const QString &nameIn)
{
    const QString name = nameIn.trimmed();
    auto cat = category(categoryId);
    if (!cat || cat->kind != CategoryKind::ClassSet || name.isEmpty()) {
        d->lastError = QStringLiteral("Classes can only be added to a class set.");
        return 0;
    }
    for (const ClassInfo &c : cat->classes)
        if (c.name == name)
            return c.id;
    QSqlQuery q = d->prepare(QStringLiteral("INSERT INTO classes(category_id, name, position) VALUES(?,?,?)"));
    q.addBindValue(categoryId);
    q.addBindValue(name);
    q.addBindValue(int(cat->classes.size()));
    if (!d->exec(q))
        return 0;
    return q.lastInsertId().toLongLong();
}

bool Library::renameCategory(CategoryId categoryId, const QString &nameIn)
{
    const QString name = nameIn.trimmed();
    const auto cat = category(categoryId);
    if (!cat) {
        d->lastError = QStringLiteral("No category with id %1.").arg(categoryId);
        return false;
    }
    if (name.isEmpty()) {
        d->lastError = QStringLiteral("A category needs a name.");
        return false;
    }
    if (name == cat->name)
        return true;
    if (const auto other = category(name); other && other->id != categoryId) {
        d->lastError = QStringLiteral("A category named \u201c%1\u201d exists already.").arg(name);
        return false;
    }
    QSqlQuery q = d->prepare(QStringLiteral("UPDATE categories SET name=? WHERE id=?"));
    q.addBindValue(name);
    q.addBindValue(categoryId);
    return d->exec(q);
}

bool Library::removeCategory(CategoryId categoryId, qint64 expectedAnswers)
{
    if (!category(categoryId)) {
        d->lastError = QStringLiteral("No category with id %1.").arg(categoryId);
        return false;
    }
    if (!d->begin())
        return false;
    const auto fail = [this](const QString &why = {}) {
        if (!why.isEmpty())
            d->lastError = why;
        d->rollback();
        return false;
    };
    // nothing answered since the caller saved the answers (the write lock is held from here)
    if (expectedAnswers >= 0) {
        QSqlQuery n = d->prepare(QStringLiteral("SELECT count(*) FROM answers WHERE category_id=?"));
        n.addBindValue(categoryId);
        if (!d->exec(n) || !n.next())
            return fail();
        if (n.value(0).toLongLong() != expectedAnswers)
            return fail(QStringLiteral("Answers were given while they were being saved; nothing was deleted."));
    }
    const QVector<ModelVersion> models = modelVersions(categoryId);
    const auto run = [this, categoryId](const QString &sql) {
        QSqlQuery q = d->prepare(sql);
        q.addBindValue(categoryId);
        return d->exec(q);
    };
    // answers, classes and model versions go with the category (ON DELETE
    // CASCADE); the decision log names it without a key, so it goes by hand,
    // as do its settings ("<...>/category/<id>" and "category/<id>/<...>")
    QSqlQuery m = d->prepare(QStringLiteral("DELETE FROM meta WHERE ('/' || key || '/') LIKE ?"));
    m.addBindValue(QStringLiteral("%/category/%1/%").arg(categoryId));
    // its id is never given again (createCategory)
    QSqlQuery high = d->prepare(QStringLiteral(
        "INSERT INTO meta(key, value) VALUES('categories_deleted_up_to', ?) ON CONFLICT(key) DO UPDATE SET "
        "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))"));
    high.addBindValue(QString::number(categoryId));
    if (!run(QStringLiteral("DELETE FROM decisions WHERE category_id=?")) || !d->exec(m) || !d->exec(high)
        || !run(QStringLiteral("DELETE FROM categories WHERE id=?")))
        return fail();
    if (!d->commit())
        return false;
    // Its models' files in the cache: the fast heads' checkpoints and a deep
    // pass's backbone (cat<id>-<time>.mbb, named by no library or category)
    // with the archive's embeddings under it, which grow with the archive.
    const QDir cache(cacheDir());
    const QString modelsDir = QDir(cacheDir() + QStringLiteral("/models")).absolutePath();
    const QString ours = QStringLiteral("cat%1-").arg(categoryId);
    const auto inModels = [&](const QString &path) {
        const QFileInfo fi(path);
        return fi.absolutePath() == modelsDir && fi.fileName().startsWith(ours);
    };
    for (const ModelVersion &mv : models) {
        if (mv.checkpointPath.endsWith(QLatin1String(".head")) && inModels(mv.checkpointPath))
            QFile::remove(mv.checkpointPath);
        const QString tuned = QJsonDocument::fromJson(mv.metricsJson.toUtf8()).object()
                                  .value(QStringLiteral("backbone_file")).toString();
        if (tuned.endsWith(QLatin1String(".mbb")) && inModels(tuned)) {
            QFile::remove(tuned);
            if (!mv.backbone.isEmpty() && !mv.backbone.contains(QLatin1Char('/')))
                for (const char *ext : {".f16", ".ids", ".key", ".sim"})
                    QFile::remove(cache.filePath(QStringLiteral("embeddings-") + mv.backbone + QLatin1String(ext)));
        }
    }
    return true;
}

// --- answers -------------------------------------------------------------------

bool Library::answer(const Answer &a)
{
    auto cat = category(a.categoryId);
    if (!cat) {
        d->lastError = QStringLiteral("No category with id %1.").arg(a.categoryId);
        return false;
    }
    if (!d->begin())
        return false;
    if (!d->applyAnswer(a, cat->kind == CategoryKind::ClassSet)) {
        d->rollback();
        return false;
    }
    return d->commit();
}

int Library::answerBatch(const QVector<Answer> &answers)
{
    if (answers.isEmpty())
        return 0;
    QHash<CategoryId, bool> classSet;
    for (const auto &c : categories())
        classSet.insert(c.id, c.kind == CategoryKind::ClassSet);
    if (!d->begin())
        return 0;
    int n = 0;
    for (const Answer &a : answers) {
        if (!classSet.contains(a.categoryId))
            continue;
        if (!d->applyAnswer(a, classSet.value(a.categoryId))) {
            d->rollback();
            return 0;
        }
        ++n;
    }
    return d->commit() ? n : 0;
}

// The answers that undo can still revert, newest first (what undoLast() and
// undoable() read): columns 0-8 a Decision, 9 the answers it replaced.
QSqlQuery Library::Private::undoableQuery(CategoryId categoryId, const QString &origin, int limit) const
{
    QString sql = QStringLiteral(
        "SELECT d.id, d.at_ms, d.image_id, d.category_id, d.class_id, d.value, d.origin, d.duration_ms, "
        "d.model_version, d.before FROM decisions d WHERE d.action='answer' "
        "AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes=d.id)");
    if (categoryId)
        sql += QStringLiteral(" AND d.category_id=:cat");
    if (!origin.isEmpty())
        sql += QStringLiteral(" AND d.origin=:origin");
    sql += QStringLiteral(" ORDER BY d.id DESC LIMIT :limit");
    QSqlQuery q = prepare(sql);
    if (categoryId)
        q.bindValue(QStringLiteral(":cat"), categoryId);
    if (!origin.isEmpty())
        q.bindValue(QStringLiteral(":origin"), origin);
    q.bindValue(QStringLiteral(":limit"), limit);
    return q;
}

namespace {
Decision undoableDecision(const QSqlQuery &q)
{
    Decision dec;
    dec.id = q.value(0).toLongLong();
    dec.action = QStringLiteral("answer");
    dec.answer.atMs = q.value(1).toLongLong();
    dec.answer.imageId = q.value(2).toLongLong();
    dec.answer.categoryId = q.value(3).toLongLong();
    dec.answer.classId = q.value(4).toLongLong();
    dec.answer.value = AnswerValue(q.value(5).toInt());
    dec.answer.origin = q.value(6).toString();
    dec.answer.durationMs = q.value(7).toInt();
    dec.answer.modelVersion = q.value(8).toLongLong();
    return dec;
}
} // namespace

QVector<Decision> Library::undoable(CategoryId categoryId, const QString &origin, int limit) const
{
    QSqlQuery q = d->undoableQuery(categoryId, origin, limit);
    QVector<Decision> out;
    if (d->exec(q))
        while (q.next())
            out << undoableDecision(q);
    return out;
}

std::optional<Decision> Library::undoLast(CategoryId categoryId, const QString &origin)
{
    QSqlQuery q = d->undoableQuery(categoryId, origin, 1);
    if (!d->exec(q) || !q.next()) {
        if (d->lastError.isEmpty())
            d->lastError = QStringLiteral("Nothing to undo.");
        return std::nullopt;
    }
    const Decision dec = undoableDecision(q);
    const QString before = q.value(9).toString();
    q.finish();

    if (!d->begin())
        return std::nullopt;
    const QVector<Answer> current = d->answersFor(dec.answer.imageId, dec.answer.categoryId);
    QSqlQuery del = d->prepare(QStringLiteral("DELETE FROM answers WHERE image_id=? AND category_id=?"));
    del.addBindValue(dec.answer.imageId);
    del.addBindValue(dec.answer.categoryId);
    bool ok = d->exec(del);
    for (const Answer &a : decodeBefore(before, dec.answer.imageId, dec.answer.categoryId))
        ok = ok && d->writeAnswerRow(a);
    QSqlQuery log = d->prepare(QStringLiteral(
        "INSERT INTO decisions(at_ms, action, image_id, category_id, class_id, value, origin, undoes, before) "
        "VALUES(?, 'undo', ?,?,?,?,?,?,?)"));
    log.addBindValue(nowMs());
    log.addBindValue(dec.answer.imageId);
    log.addBindValue(dec.answer.categoryId);
    log.addBindValue(dec.answer.classId);
    log.addBindValue(int(dec.answer.value));
    log.addBindValue(Origin::Undo);
    log.addBindValue(dec.id);
    log.addBindValue(nn(encodeBefore(current)));
    ok = ok && d->exec(log);
    if (!ok) {
        d->rollback();
        return std::nullopt;
    }
    if (!d->commit())
        return std::nullopt;
    return dec;
}

QVector<Answer> Library::answers(CategoryId categoryId, ImageId image) const
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT image_id, class_id, value, origin, at_ms, duration_ms, model_version FROM answers "
        "WHERE category_id=?%1 ORDER BY image_id, class_id").arg(image ? QStringLiteral(" AND image_id=?") : QString()));
    q.addBindValue(categoryId);
    if (image)
        q.addBindValue(image);
    QVector<Answer> out;
    if (d->exec(q))
        while (q.next()) {
            Answer a;
            a.imageId = q.value(0).toLongLong();
            a.categoryId = categoryId;
            a.classId = q.value(1).toLongLong();
            a.value = AnswerValue(q.value(2).toInt());
            a.origin = q.value(3).toString();
            a.atMs = q.value(4).toLongLong();
            a.durationMs = q.value(5).toInt();
            a.modelVersion = q.value(6).toLongLong();
            out << a;
        }
    return out;
}

qint64 Library::newestAnswerMs(CategoryId categoryId) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT MAX(at_ms) FROM answers WHERE category_id=? AND value<>?"));
    q.addBindValue(categoryId);
    q.addBindValue(int(AnswerValue::Skip));
    return d->exec(q) && q.next() ? q.value(0).toLongLong() : 0;
}

QVector<Decision> Library::decisions(int limit) const
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT id, at_ms, action, image_id, category_id, class_id, value, origin, duration_ms, model_version, "
        "undoes FROM decisions ORDER BY id DESC LIMIT ?"));
    q.addBindValue(limit);
    QVector<Decision> out;
    if (d->exec(q))
        while (q.next()) {
            Decision dec;
            dec.id = q.value(0).toLongLong();
            dec.answer.atMs = q.value(1).toLongLong();
            dec.action = q.value(2).toString();
            dec.answer.imageId = q.value(3).toLongLong();
            dec.answer.categoryId = q.value(4).toLongLong();
            dec.answer.classId = q.value(5).toLongLong();
            dec.answer.value = AnswerValue(q.value(6).toInt());
            dec.answer.origin = q.value(7).toString();
            dec.answer.durationMs = q.value(8).toInt();
            dec.answer.modelVersion = q.value(9).toLongLong();
            dec.undoes = q.value(10).toLongLong();
            out << dec;
        }
    return out;
}

qint64 Library::decisionCount() const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT count(*) FROM decisions"));
    return d->exec(q) && q.next() ? q.value(0).toLongLong() : 0;
}

LibraryCounts Library::counts() const
{
    LibraryCounts c;
    QSqlQuery s = d->prepare(QStringLiteral("SELECT status, count(*) FROM images GROUP BY status"));
    if (d->exec(s))
        while (s.next()) {
            const qint64 n = s.value(1).toLongLong();
            c.images += n;
            switch (ImageStatus(s.value(0).toInt())) {
            case ImageStatus::Ok: c.ok = n; break;
            case ImageStatus::Unreadable: c.unreadable = n; break;
            case ImageStatus::Missing: c.missing = n; break;
            case ImageStatus::Duplicate: c.duplicates = n; break;
            }
        }
    QSqlQuery r = d->prepare(QStringLiteral("SELECT count(*) FROM roots"));
    if (d->exec(r) && r.next())
        c.roots = r.value(0).toLongLong();

    // per category, class and value: one pass over the covering index
    QHash<CategoryId, QHash<ClassId, ClassCount>> table;
    QSqlQuery a = d->prepare(QStringLiteral(
        "SELECT category_id, class_id, value, count(*) FROM answers GROUP BY category_id, class_id, value"));
    if (d->exec(a))
        while (a.next()) {
            ClassCount &cc = table[a.value(0).toLongLong()][a.value(1).toLongLong()];
            cc.classId = a.value(1).toLongLong();
            const int n = a.value(3).toInt();
            switch (AnswerValue(a.value(2).toInt())) {
            case AnswerValue::Yes: cc.yes += n; break;
            case AnswerValue::No: cc.no += n; break;
            case AnswerValue::Skip: cc.skip += n; break;
            }
        }
    // Answered images per category, and of them the Ok and settled ones ("still
    // to answer" subtracts these): an answered file that is unreadable now is
    // not to answer either way; a class set's image told only "not this class"
    // is still to answer (which class it is, is open) until it has been told
    // so of every class. Three index-only passes: answered images, the few
    // that are not Ok, the few not settled (a join of every answer with its
    // image took 0.9 s on a million images).
    QHash<CategoryId, int> answered, answeredOk;
    QSqlQuery ai = d->prepare(QStringLiteral(
        "SELECT category_id, count(*) FROM (SELECT DISTINCT category_id, image_id FROM answers) GROUP BY category_id"));
    if (d->exec(ai))
        while (ai.next()) {
            answered.insert(ai.value(0).toLongLong(), ai.value(1).toInt());
            answeredOk.insert(ai.value(0).toLongLong(), ai.value(1).toInt());
        }
    // (CROSS JOIN: from the status index, not from every answer)
    QSqlQuery notOk = d->prepare(QStringLiteral(
        "SELECT a.category_id, count(DISTINCT a.image_id) FROM images i CROSS JOIN answers a ON a.image_id = i.id "
        "WHERE i.status > ? GROUP BY a.category_id"));
    static_assert(int(ImageStatus::Ok) == 0, "the other statuses are above Ok");
    notOk.addBindValue(int(ImageStatus::Ok));
    if (d->exec(notOk))
        while (notOk.next())
            answeredOk[notOk.value(0).toLongLong()] -= notOk.value(1).toInt();
    QSqlQuery open = d->prepare(QStringLiteral(
        "SELECT g.category_id, count(*) FROM (SELECT a.category_id, a.image_id, count(*) AS nos FROM answers a "
        "JOIN categories c ON c.id = a.category_id WHERE c.kind = ? AND a.value = ? "
        "GROUP BY a.category_id, a.image_id) g "
        "WHERE NOT EXISTS (SELECT 1 FROM answers b WHERE b.image_id = g.image_id AND b.category_id = g.category_id "
        "AND b.value <> ?) AND g.nos < (SELECT count(*) FROM classes k WHERE k.category_id = g.category_id) "
        "AND (SELECT status FROM images WHERE id = g.image_id) = ? GROUP BY g.category_id"));
    open.addBindValue(int(CategoryKind::ClassSet));
    open.addBindValue(int(AnswerValue::No));
    open.addBindValue(int(AnswerValue::No));
    open.addBindValue(int(ImageStatus::Ok));
    if (d->exec(open))
        while (open.next())
            answeredOk[open.value(0).toLongLong()] -= open.value(1).toInt();

    for (const Category &cat : categories()) {
        CategoryCounts cc;
        cc.category = cat;
        cc.answeredImages = answered.value(cat.id);
        cc.answeredOk = answeredOk.value(cat.id);
        const auto &rows = table.value(cat.id);
        if (cat.kind == CategoryKind::Binary) {
            ClassCount one = rows.value(0);
            cc.perClass << one;
        } else {
            for (const ClassInfo &ci : cat.classes) {
                ClassCount one = rows.value(ci.id);
                one.classId = ci.id;
                one.className = ci.name;
                cc.perClass << one;
            }
            if (rows.contains(0)) { // skips in a class set are stored on class 0
                ClassCount skip = rows.value(0);
                skip.className = QStringLiteral("(skipped)");
                cc.perClass << skip;
            }
        }
        c.categories << cc;
    }
    return c;
}

// --- collections and models ---------------------------------------------------------

qint64 Library::createCollection(const QString &name, const QString &title, const QString &subtitle)
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "INSERT INTO collections(name, title, subtitle, created_ms) VALUES(?,?,?,?)"));
    q.addBindValue(name);
    q.addBindValue(nn(title));
    q.addBindValue(nn(subtitle));
    q.addBindValue(nowMs());
    if (!d->exec(q))
        return 0;
    return q.lastInsertId().toLongLong();
}

bool Library::setCollectionItems(qint64 collection, const QVector<ImageId> &ordered)
{
    QVector<CollectionItem> entries;
    entries.reserve(ordered.size());
    for (ImageId id : ordered)
        entries << CollectionItem{id, QString()};
    return setCollectionEntries(collection, entries);
}

QVector<ImageId> Library::collectionItems(qint64 collection) const
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT image_id FROM collection_items WHERE collection_id=? ORDER BY position"));
    q.addBindValue(collection);
    QVector<ImageId> out;
    if (d->exec(q))
        while (q.next())
            out << q.value(0).toLongLong();
    return out;
}

QVector<CollectionInfo> Library::collections() const
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT c.id, c.name, c.title, c.subtitle, c.created_ms, "
        "(SELECT count(*) FROM collection_items i WHERE i.collection_id=c.id) FROM collections c ORDER BY c.id"));
    QVector<CollectionInfo> out;
    if (d->exec(q))
        while (q.next())
            out << CollectionInfo{q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                                  q.value(3).toString(), q.value(4).toLongLong(), q.value(5).toInt()};
    return out;
}

QVector<CollectionItem> Library::collectionEntries(qint64 collection) const
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT image_id, caption FROM collection_items WHERE collection_id=? ORDER BY position"));
    q.addBindValue(collection);
    QVector<CollectionItem> out;
    if (d->exec(q))
        while (q.next())
            out << CollectionItem{q.value(0).toLongLong(), q.value(1).toString()};
    return out;
}

bool Library::setCollectionEntries(qint64 collection, const QVector<CollectionItem> &ordered)
{
    if (!d->begin())
        return false;
    // the count before, and the title that may name it
    QSqlQuery before = d->prepare(QStringLiteral(
        "SELECT c.title, (SELECT COUNT(*) FROM collection_items i WHERE i.collection_id=c.id) "
        "FROM collections c WHERE c.id=?"));
    before.addBindValue(collection);
    QString title;
    qsizetype count = -1;
    if (d->exec(before) && before.next()) {
        title = before.value(0).toString();
        count = before.value(1).toLongLong();
    }
    QSqlQuery del = d->prepare(QStringLiteral("DELETE FROM collection_items WHERE collection_id=?"));
    del.addBindValue(collection);
    bool ok = d->exec(del);
    QSqlQuery ins = d->prepare(QStringLiteral(
        "INSERT INTO collection_items(collection_id, position, image_id, caption) VALUES(?,?,?,?)"));
    for (int i = 0; ok && i < ordered.size(); ++i) {
        ins.addBindValue(collection);
        ins.addBindValue(i);
        ins.addBindValue(ordered[i].imageId);
        ins.addBindValue(nn(ordered[i].caption));
        ok = d->exec(ins);
    }
    // A title made counting ("16 portraits" from a category's yes-answers,
    // marked so in meta) becomes "15 portraits" while it still starts with the
    // count; any other title stays as the person wrote it
    const QString prefix = QString::number(count) + QLatin1Char(' ');
    const QString rest = title.mid(prefix.size());
    if (ok && count >= 0 && count != ordered.size() && title.startsWith(prefix) && !rest.isEmpty()
        && meta(QStringLiteral("collection/%1/counting_title").arg(collection)) == u"1") {
        QSqlQuery retitle = d->prepare(QStringLiteral("UPDATE collections SET title=? WHERE id=?"));
        retitle.addBindValue(QStringLiteral("%1 %2").arg(ordered.size()).arg(rest));
        retitle.addBindValue(collection);
        ok = d->exec(retitle);
    }
    if (!ok) {
        d->rollback();
        return false;
    }
    return d->commit();
}

bool Library::setCollectionTitle(qint64 collection, const QString &title, const QString &subtitle)
{
    QSqlQuery q = d->prepare(QStringLiteral("UPDATE collections SET title=?, subtitle=? WHERE id=?"));
    q.addBindValue(nn(title));
    q.addBindValue(nn(subtitle));
    q.addBindValue(collection);
    return d->exec(q) && q.numRowsAffected() == 1;
}

bool Library::removeCollection(qint64 collection)
{
    QSqlQuery q = d->prepare(QStringLiteral("DELETE FROM collections WHERE id=?"));
    q.addBindValue(collection);
    if (!d->exec(q) || q.numRowsAffected() != 1)
        return false;
    // its settings ("collection/<id>/..."), which a new collection may not inherit with a reused id
    QSqlQuery m = d->prepare(QStringLiteral("DELETE FROM meta WHERE substr(key, 1, length(?)) = ?"));
    const QString prefix = QStringLiteral("collection/%1/").arg(collection);
    m.addBindValue(prefix);
    m.addBindValue(prefix);
    d->exec(m);
    return true;
}

qint64 Library::addModelVersion(const ModelVersion &m)
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "INSERT INTO model_versions(category_id, backbone, metrics_json, checkpoint_path, created_ms) "
        "VALUES(?,?,?,?,?)"));
    q.addBindValue(m.categoryId);
    q.addBindValue(nn(m.backbone));
    q.addBindValue(nn(m.metricsJson));
    q.addBindValue(nn(m.checkpointPath));
    q.addBindValue(m.createdMs ? m.createdMs : nowMs());
    if (!d->exec(q))
        return 0;
    return q.lastInsertId().toLongLong();
}

QVector<ModelVersion> Library::modelVersions(CategoryId categoryId) const
{
    QSqlQuery q = d->prepare(QStringLiteral(
        "SELECT id, category_id, backbone, metrics_json, checkpoint_path, created_ms FROM model_versions "
        "WHERE category_id=? ORDER BY id"));
    q.addBindValue(categoryId);
    QVector<ModelVersion> out;
    if (d->exec(q))
        while (q.next())
            out << ModelVersion{q.value(0).toLongLong(), q.value(1).toLongLong(), q.value(2).toString(),
                                q.value(3).toString(), q.value(4).toString(), q.value(5).toLongLong()};
    return out;
}

QString Library::meta(const QString &key, const QString &fallback) const
{
    QSqlQuery q = d->prepare(QStringLiteral("SELECT value FROM meta WHERE key=?"));
    q.addBindValue(key);
    if (d->exec(q) && q.next())
        return q.value(0).toString();
    return fallback;
}

bool Library::setMeta(const QString &key, const QString &value)
{
    QSqlQuery q = d->prepare(QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)"));
    q.addBindValue(key);
    q.addBindValue(nn(value));
    return d->exec(q);
}

} // namespace magpie
