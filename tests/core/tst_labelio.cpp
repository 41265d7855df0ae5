#include "core/labelio.h"
#include "core/library.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <QTextStream>

using namespace magpie;

namespace {

const QString kSample = QStringLiteral(MAGPIE_SAMPLE_DIR);

bool writeText(const QString &path, const QString &text)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text))
        return false;
    f.write(text.toUtf8());
    return true;
}

QStringList readLines(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return {};
    return QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

// The first `n` sample initials of `letter`, from the bundled labels.csv.
QStringList sampleFiles(const QString &letter, int n)
{
    QStringList out;
    for (const QString &line : readLines(kSample + QStringLiteral("/initials/labels.csv"))) {
        const QStringList c = labelio::parseCsvLine(line);
        if (c.size() >= 2 && c[1] == letter && out.size() < n)
            out << kSample + QStringLiteral("/initials/") + c[0];
    }
    return out;
}

} // namespace

class tst_LabelIo : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void csvParsing()
    {
        QCOMPARE(labelio::parseCsvLine(QStringLiteral("a,b,c")), (QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}));
        QCOMPARE(labelio::parseCsvLine(QStringLiteral("\"x, y\",\"say \"\"hi\"\"\"")),
                 (QStringList{QStringLiteral("x, y"), QStringLiteral("say \"hi\"")}));
        QCOMPARE(labelio::csvField(QStringLiteral("a,b")), QStringLiteral("\"a,b\""));
        QCOMPARE(labelio::safeFileName(QStringLiteral("../../etc/passwd")), QStringLiteral("_._.._etc_passwd"));
        QVERIFY(!labelio::safeFileName(QStringLiteral("..")).startsWith(QLatin1Char('.')));
    }

    void classFolders()
    {
        QTemporaryDir tmp;
        const QString seeds = tmp.filePath(QStringLiteral("seeds"));
        for (const QString &letter : {QStringLiteral("A"), QStringLiteral("B"), QStringLiteral("none")}) {
            QDir().mkpath(seeds + QLatin1Char('/') + letter);
            for (const QString &f : sampleFiles(letter, 3))
                QVERIFY(QFile::copy(f, seeds + QLatin1Char('/') + letter + QLatin1Char('/') + QFileInfo(f).fileName()));
        }
        auto lib = Library::create(tmp.filePath(QStringLiteral("l.magpie")), nullptr);
        // the archive itself was imported before: seeds that are copies label those images
        QVERIFY(importFolder(*lib, kSample + QStringLiteral("/initials")).error.isEmpty());
        auto cat = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet,
                                       {QStringLiteral("A"), QStringLiteral("none")});
        const LabelImportReport r = labelio::importFolders(*lib, *cat, seeds);
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        QCOMPARE(r.answers, 9);
        QCOMPARE(r.createdClasses, QStringList{QStringLiteral("B")});
        const auto answers = lib->answers(cat->id);
        QCOMPARE(answers.size(), 9);
        for (const Answer &a : answers) {
            QCOMPARE(a.origin, Origin::FolderImport);
            // the answer went to the archive's image, not to the seed copy
            QVERIFY(lib->image(a.imageId)->absPath.startsWith(kSample));
        }
    }

    void binaryFolders()
    {
        QTemporaryDir tmp;
        const QString root = tmp.filePath(QStringLiteral("theme"));
        QDir().mkpath(root + QStringLiteral("/yes"));
        QDir().mkpath(root + QStringLiteral("/no"));
        QDir().mkpath(root + QStringLiteral("/maybe"));
        const QStringList a = sampleFiles(QStringLiteral("C"), 4);
        QVERIFY(QFile::copy(a[0], root + QStringLiteral("/yes/1.jpg")));
        QVERIFY(QFile::copy(a[1], root + QStringLiteral("/yes/2.jpg")));
        QVERIFY(QFile::copy(a[2], root + QStringLiteral("/no/3.jpg")));
        QVERIFY(QFile::copy(a[3], root + QStringLiteral("/maybe/4.jpg")));
        auto lib = Library::create(tmp.filePath(QStringLiteral("l.magpie")), nullptr);
        auto cat = lib->createCategory(QStringLiteral("rocks"), CategoryKind::Binary);
        const LabelImportReport r = labelio::importFolders(*lib, *cat, root);
        QCOMPARE(r.answers, 3);
        QCOMPARE(r.invalid, 1);
        QVERIFY(r.issues.first().second.contains(QStringLiteral("yes/ and no/")));
        const LibraryCounts n = lib->counts();
        QCOMPARE(n.categories[0].perClass[0].yes, 2);
        QCOMPARE(n.categories[0].perClass[0].no, 1);
    }

    void csvRoundTrip()
    {
        QTemporaryDir tmp;
        auto lib = Library::create(tmp.filePath(QStringLiteral("l.magpie")), nullptr);
        QVERIFY(importFolder(*lib, kSample + QStringLiteral("/initials")).error.isEmpty());
        QStringList letters;
        for (char c = 'A'; c <= 'Z'; ++c)
            letters << QString(QLatin1Char(c));
        letters << QStringLiteral("none");
        auto cat = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet, letters);
        // the bundled labels.csv: header file,label,source; paths relative to the CSV
        const LabelImportReport r = labelio::importCsv(*lib, *cat, kSample + QStringLiteral("/initials/labels.csv"));
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        QCOMPARE(r.answers, 240);
        QCOMPARE(r.unmatched, 0);

        const QString bad = tmp.filePath(QStringLiteral("bad.csv"));
        QVERIFY(writeText(bad, QStringLiteral("no-such-file.jpg,A\nimg_00017.jpg,Ω\njust-one-column\n")));
        const LabelImportReport b = labelio::importCsv(*lib, *cat, bad);
        QCOMPARE(b.answers, 0);
        QCOMPARE(b.unmatched, 1);
        QCOMPARE(b.invalid, 1);   // Ω is not a class
        QCOMPARE(b.malformed, 1); // one column is not file,label

        const QString out = tmp.filePath(QStringLiteral("out.csv"));
        QCOMPARE(labelio::exportCsv(*lib, *cat, out).written, 240);
        auto copy = lib->createCategory(QStringLiteral("Initials again"), CategoryKind::ClassSet, letters);
        QCOMPARE(labelio::importCsv(*lib, *copy, out).answers, 240);
        const auto x = lib->answers(cat->id), y = lib->answers(copy->id);
        QCOMPARE(x.size(), y.size());
        const auto nameOf = [&](const Category &c, ClassId id) {
            for (const ClassInfo &ci : c.classes)
                if (ci.id == id)
                    return ci.name;
            return QString();
        };
        for (int i = 0; i < x.size(); ++i) {
            QCOMPARE(x[i].imageId, y[i].imageId);
            QCOMPARE(nameOf(*cat, x[i].classId), nameOf(*copy, y[i].classId));
            QVERIFY(!nameOf(*cat, x[i].classId).isEmpty());
        }

        const QString jsonl = tmp.filePath(QStringLiteral("log.jsonl"));
        QVERIFY(lib->undoLast(copy->id, Origin::CsvImport));
        const ExportReport j = labelio::exportJsonl(*lib, jsonl);
        QCOMPARE(j.written, 481); // 240 + 240 answers + 1 undo
        QCOMPARE(readLines(jsonl).size(), 481);
        QVERIFY(readLines(jsonl).last().contains(QStringLiteral("\"action\":\"undo\"")));
    }

    void everyAnswerSurvivesDeletingTheCategory()
    {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("l.magpie"));
        auto lib = Library::create(path, nullptr);
        QVERIFY(importFolder(*lib, kSample + QStringLiteral("/initials")).error.isEmpty());
        const QStringList classes{QStringLiteral("A"), QStringLiteral("B"), QStringLiteral("none")};
        auto cat = lib->createCategory(QStringLiteral("Caps / 1"), CategoryKind::ClassSet, classes);
        QVERIFY(cat);
        const QStringList as = sampleFiles(QStringLiteral("A"), 2), bs = sampleFiles(QStringLiteral("B"), 1);
        QCOMPARE(as.size() + bs.size(), 3);
        const ImageId a0 = lib->findByPath(as[0]), a1 = lib->findByPath(as[1]), b0 = lib->findByPath(bs[0]);
        QVERIFY(lib->answer({a0, cat->id, cat->classes[0].id, AnswerValue::Yes}));
        QVERIFY(lib->answer({a1, cat->id, cat->classes[1].id, AnswerValue::No})); // "not B"
        QVERIFY(lib->answer({b0, cat->id, 0, AnswerValue::Skip}));
        const auto before = lib->answers(cat->id);
        QCOMPARE(before.size(), 3);

        // the plain export leaves the "not B" out; every answer keeps it, with a value column
        const QString plain = tmp.filePath(QStringLiteral("plain.csv"));
        QCOMPARE(labelio::exportCsv(*lib, *cat, plain).written, 2);

        // a read-only library deletes nothing
        {
            auto ro = Library::open(path, Library::Mode::ReadOnly, nullptr);
            QVERIFY(ro);
            QString saved, err;
            QVERIFY(!labelio::removeCategorySavingAnswers(*ro, *cat, &saved, &err));
            QVERIFY2(err.contains(QStringLiteral("read-only")), qPrintable(err));
        }
        QVERIFY(lib->category(cat->id));

        QString saved, err;
        QVERIFY2(labelio::removeCategorySavingAnswers(*lib, *cat, &saved, &err), qPrintable(err));
        QVERIFY(!lib->category(cat->id));
        QVERIFY2(saved.startsWith(lib->cacheDir() + QStringLiteral("/deleted/Caps _ 1-")), qPrintable(saved));
        const QStringList lines = readLines(saved);
        QCOMPARE(lines.size(), 4);
        QVERIFY(lines[0].startsWith(QStringLiteral("file,label,value,")));

        auto again = lib->createCategory(QStringLiteral("Caps / 1"), CategoryKind::ClassSet, classes);
        const LabelImportReport r = labelio::importCsv(*lib, *again, saved);
        QVERIFY2(r.error.isEmpty() && r.issues.isEmpty(), qPrintable(r.error));
        QCOMPARE(r.answers, 3);
        auto after = lib->answers(again->id);
        QCOMPARE(after.size(), 3);
        const auto find = [&](ImageId id) {
            for (const Answer &x : after)
                if (x.imageId == id)
                    return x;
            return Answer{};
        };
        QCOMPARE(find(a0).value, AnswerValue::Yes);
        QCOMPARE(find(a0).classId, again->classes[0].id);
        for (const Answer &was : before) // answered when they were, not when restored
            QCOMPARE(find(was.imageId).atMs, was.atMs);
        QCOMPARE(find(a1).value, AnswerValue::No);
        QCOMPARE(find(a1).classId, again->classes[1].id);
        QCOMPARE(find(b0).value, AnswerValue::Skip);

        // a value that is not an answer is named, not guessed
        const QString bad = tmp.filePath(QStringLiteral("bad.csv"));
        QVERIFY(writeText(bad, QStringLiteral("file,label,value\n%1,A,maybe\n").arg(as[0])));
        const LabelImportReport b = labelio::importCsv(*lib, *again, bad);
        QCOMPARE(b.answers, 0);
        QCOMPARE(b.invalid, 1);

        // other tools' column names (Label Studio's CSV: image, choice), in any order
        const QString ls = tmp.filePath(QStringLiteral("label-studio.csv"));
        QVERIFY(writeText(ls, QStringLiteral("id,Image,choice,annotator\n7,%1,A,x@y\n").arg(as[1])));
        const LabelImportReport l = labelio::importCsv(*lib, *again, ls);
        QVERIFY2(l.issues.isEmpty(), qPrintable(l.issues.value(0).second));
        QCOMPARE(l.answers, 1);
        after = lib->answers(again->id);
        QCOMPARE(find(a1).value, AnswerValue::Yes);
        QCOMPARE(find(a1).classId, again->classes[0].id);

        // a category with no answers is deleted with nothing to save
        auto empty = lib->createCategory(QStringLiteral("empty"), CategoryKind::Binary);
        QVERIFY(labelio::removeCategorySavingAnswers(*lib, *empty, &saved, &err));
        QVERIFY(saved.isEmpty());
    }

    void imageFolderStaysInside()
    {
        QTemporaryDir tmp;
        auto lib = Library::create(tmp.filePath(QStringLiteral("l.magpie")), nullptr);
        QVERIFY(importFolder(*lib, kSample + QStringLiteral("/initials")).error.isEmpty());
        auto cat = lib->createCategory(QStringLiteral("evil"), CategoryKind::ClassSet,
                                       {QStringLiteral("../../escape"), QStringLiteral("/abs"), QStringLiteral("ok")});
        const auto ids = lib->imageIds(ImageStatus::Ok, 3);
        QVERIFY(lib->answer({ids[0], cat->id, cat->classes[0].id, AnswerValue::Yes}));
        QVERIFY(lib->answer({ids[1], cat->id, cat->classes[1].id, AnswerValue::Yes}));
        QVERIFY(lib->answer({ids[2], cat->id, cat->classes[2].id, AnswerValue::Yes}));
        const QString out = tmp.filePath(QStringLiteral("export/tree"));
        const ExportReport r = labelio::exportImageFolder(*lib, *cat, out, true);
        QCOMPARE(r.written, 3);
        int files = 0;
        QDirIterator it(tmp.path(), QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString p = it.next();
            if (p.startsWith(lib->cacheDir()))
                continue; // thumbnails
            if (p.endsWith(QStringLiteral(".jpg")) || p.endsWith(QStringLiteral(".png"))) {
                QVERIFY2(p.startsWith(out + QLatin1Char('/')), qPrintable(p));
                ++files;
            }
        }
        QCOMPARE(files, 3);
    }
};

QTEST_GUILESS_MAIN(tst_LabelIo)
#include "tst_labelio.moc"
