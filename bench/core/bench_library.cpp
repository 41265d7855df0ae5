// Benchmarks of the library store (issue 2). Run through bench/run.sh.
//
//   magpie-bench-library open-count N LIB   generate N image rows (+ answers) in LIB once,
//                                           then time opening it and counting per category
//   magpie-bench-library commits N LIB      N single-answer commits, one transaction each
//   magpie-bench-library answer-stream LIB  answer forever, printing each committed decision
//                                           id on stdout (for the SIGKILL test)
//   magpie-bench-library verify LIB IDS     check every id in the file IDS is in the library
#include "core/library.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTextStream>

#include <cstdio>
#include <sys/resource.h>

using namespace magpie;

namespace {

long maxRssKb()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

// Fills a fresh library with N images (one root), a binary theme and a
// 27-class set, and answers for 5 % of the images in each. Raw SQL in one
// transaction: this is data generation, not what is measured.
bool generate(const QString &path, qint64 n)
{
    {
        auto lib = Library::create(path, nullptr);
        if (!lib)
            return false;
        lib->addRoot(QStringLiteral("/archive"));
        lib->createCategory(QStringLiteral("very sad girls"), CategoryKind::Binary);
        lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet, letterClasses());
    }
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("gen"));
    db.setDatabaseName(path);
    if (!db.open())
        return false;
    {
        QSqlQuery q(db);
        q.exec(QStringLiteral("PRAGMA synchronous=OFF"));
        db.transaction();
        q.prepare(QStringLiteral("INSERT INTO images(root_id, rel_path, hash, byte_size, mtime_ms, width, height, format, "
                                 "status, imported_ms) VALUES(1, ?, ?, 30000, 0, 640, 480, 'jpeg', ?, 0)"));
        QSqlQuery a(db);
        a.prepare(QStringLiteral("INSERT INTO answers(image_id, category_id, class_id, value, origin, at_ms) "
                                 "VALUES(?, ?, ?, ?, 'person', 0)"));
        for (qint64 i = 1; i <= n; ++i) {
            q.addBindValue(QStringLiteral("vol%1/img%2.jpg").arg(i / 1000).arg(i));
            q.addBindValue(QString::number(i * 2654435761u, 16));
            q.addBindValue(i % 97 == 0 ? 1 : 0);
            q.exec();
            if (i % 20 == 0) {
                a.addBindValue(i);
                a.addBindValue(1);
                a.addBindValue(0);
                a.addBindValue(int(i % 3 == 0));
                a.exec();
                a.addBindValue(i);
                a.addBindValue(2);
                a.addBindValue(3 + i % 27);
                a.addBindValue(1);
                a.exec();
            }
        }
        db.commit();
        q.exec(QStringLiteral("ANALYZE"));
    }
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(QStringLiteral("gen"));
    return true;
}

int openCount(qint64 n, const QString &path)
{
    if (!QFileInfo::exists(path)) {
        QElapsedTimer g;
        g.start();
        if (!generate(path, n)) {
            fprintf(stderr, "generation failed\n");
            return 1;
        }
        fprintf(stderr, "generated %lld rows in %.1f s\n", static_cast<long long>(n), g.elapsed() / 1000.0);
    }
    const long rssBefore = maxRssKb();
    QElapsedTimer t;
    t.start();
    QString err;
    auto lib = Library::open(path, Library::Mode::ReadWrite, &err);
    if (!lib) {
        fprintf(stderr, "%s\n", qPrintable(err));
        return 1;
    }
    const double openMs = t.nsecsElapsed() / 1e6;
    const LibraryCounts c = lib->counts();
    const double totalMs = t.nsecsElapsed() / 1e6;
    qint64 answers = 0;
    for (const auto &cat : c.categories)
        for (const auto &k : cat.perClass)
            answers += k.yes + k.no + k.skip;
    out() << "{\"bench\":\"open-count\",\"images\":" << c.images << ",\"answers\":" << answers
          << ",\"open_ms\":" << openMs << ",\"open_and_count_ms\":" << totalMs << ",\"max_rss_kb\":" << maxRssKb()
          << ",\"rss_before_kb\":" << rssBefore << "}\n";
    return 0;
}

int commits(qint64 n, const QString &path)
{
    QFile::remove(path);
    QFile::remove(path + QStringLiteral("-wal"));
    QFile::remove(path + QStringLiteral("-shm"));
    auto lib = Library::create(path, nullptr);
    if (!lib)
        return 1;
    const qint64 root = lib->addRoot(QStringLiteral("/archive"));
    QVector<ImageRecord> rows;
    rows.resize(n);
    for (int i = 0; i < n; ++i) {
        rows[i].rootId = root;
        rows[i].relPath = QStringLiteral("img%1.jpg").arg(i);
        rows[i].hash = QByteArray::number(i);
    }
    lib->writeImages(rows);
    auto cat = lib->createCategory(QStringLiteral("theme"), CategoryKind::Binary);
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < n; ++i) {
        Answer a{rows[i].id, cat->id, 0, i % 2 ? AnswerValue::Yes : AnswerValue::No};
        a.durationMs = 400;
        if (!lib->answer(a)) {
            fprintf(stderr, "%s\n", qPrintable(lib->lastError()));
            return 1;
        }
    }
    const double secs = t.nsecsElapsed() / 1e9;
    out() << "{\"bench\":\"commits\",\"answers\":" << n << ",\"seconds\":" << secs << ",\"per_second\":" << n / secs
          << "}\n";
    return 0;
}

int answerStream(const QString &path)
{
    QString err;
    auto lib = QFileInfo::exists(path) ? Library::open(path, Library::Mode::ReadWrite, &err) : Library::create(path, &err);
    if (!lib) {
        fprintf(stderr, "%s\n", qPrintable(err));
        return 3;
    }
    auto cat = lib->category(QStringLiteral("stream"));
    if (!cat)
        cat = lib->createCategory(QStringLiteral("stream"), CategoryKind::Binary);
    const qint64 root = lib->addRoot(QStringLiteral("/stream"));
    for (qint64 i = 0;; ++i) {
        QVector<ImageRecord> rows(1);
        rows[0].rootId = root;
        rows[0].relPath = QStringLiteral("s%1-%2.jpg").arg(QCoreApplication::applicationPid()).arg(i);
        rows[0].hash = QByteArray::number(i);
        if (!lib->writeImages(rows))
            return 1;
        if (!lib->answer({rows[0].id, cat->id, 0, AnswerValue::Yes}))
            return 1;
        // the answer is committed: only now is it "shown as done"
        printf("%lld\n", static_cast<long long>(rows[0].id));
        fflush(stdout);
    }
}

int verify(const QString &path, const QString &idsFile)
{
    QString err;
    auto lib = Library::open(path, Library::Mode::ReadWrite, &err);
    if (!lib) {
        fprintf(stderr, "cannot reopen: %s\n", qPrintable(err));
        return 2;
    }
    auto cat = lib->category(QStringLiteral("stream"));
    QSet<ImageId> answered;
    if (cat)
        for (const Answer &a : lib->answers(cat->id))
            answered.insert(a.imageId);
    QFile f(idsFile);
    f.open(QIODevice::ReadOnly | QIODevice::Text);
    qint64 shown = 0, lost = 0;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.trimmed().isEmpty())
            continue;
        ++shown;
        if (!answered.contains(line.trimmed().toLongLong()))
            ++lost;
    }
    out() << "{\"bench\":\"verify\",\"shown_done\":" << shown << ",\"lost\":" << lost
          << ",\"answers_in_library\":" << answered.size() << "}\n";
    return lost == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList a = QCoreApplication::arguments();
    const QString mode = a.value(1);
    if (mode == u"open-count" && a.size() == 4)
        return openCount(a[2].toLongLong(), a[3]);
    if (mode == u"commits" && a.size() == 4)
        return commits(a[2].toLongLong(), a[3]);
    if (mode == u"answer-stream" && a.size() == 3)
        return answerStream(a[2]);
    if (mode == u"verify" && a.size() == 4)
        return verify(a[2], a[3]);
    fprintf(stderr, "usage: magpie-bench-library open-count N LIB | commits N LIB | answer-stream LIB | verify LIB IDS\n");
    return 2;
}
