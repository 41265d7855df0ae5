// magpie-cli as a script would use it: exit codes, --help, --json.
#include "core/library.h"

#include <cmath>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

using namespace magpie;

class tst_Cli : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_lib;

    struct Run
    {
        int exit = -1;
        QByteArray out;
        QByteArray err;
        QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
    };

    Run cli(const QStringList &args)
    {
        QProcess p;
        p.start(QStringLiteral(MAGPIE_CLI), args);
        if (!p.waitForFinished(120000))
            return {};
        return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
    }

private Q_SLOTS:
    void initTestCase() { m_lib = m_tmp.filePath(QStringLiteral("cli.magpie")); }

    void helpEverywhere_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("top") << QStringList{QStringLiteral("--help")};
        for (const char *c : {"init", "import", "info", "demo"})
            QTest::newRow(c) << QStringList{QString::fromLatin1(c), QStringLiteral("--help")};
        QTest::newRow("category create") << QStringList{QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("--help")};
        QTest::newRow("category list") << QStringList{QStringLiteral("category"), QStringLiteral("list"), QStringLiteral("--help")};
        QTest::newRow("labels import") << QStringList{QStringLiteral("labels"), QStringLiteral("import"), QStringLiteral("--help")};
        QTest::newRow("labels export") << QStringList{QStringLiteral("labels"), QStringLiteral("export"), QStringLiteral("--help")};
    }

    void helpEverywhere()
    {
        QFETCH(QStringList, args);
        const Run r = cli(args);
        QCOMPARE(r.exit, 0);
        // the usage line names the command as typed, not the binary's path
        QVERIFY2(r.out.startsWith("Usage: magpie-cli"), r.out.constData());
        if (args.size() > 1)
            QVERIFY2(r.out.startsWith(QStringLiteral("Usage: magpie-cli %1").arg(args.mid(0, args.size() - 1).join(u' ')).toUtf8()),
                     r.out.constData());
    }

    void usageErrors()
    {
        QCOMPARE(cli({QStringLiteral("frobnicate")}).exit, 2);
        QCOMPARE(cli({}).exit, 2);
        QCOMPARE(cli({QStringLiteral("import")}).exit, 2);
        QCOMPARE(cli({QStringLiteral("import"), QStringLiteral("--no-such-option"), QStringLiteral(".")}).exit, 2);
    }

    // With --json every failure leaves one JSON object with "error" on stdout.
    void jsonErrorsAreJson()
    {
        const QString absent = m_tmp.filePath(QStringLiteral("absent.magpie"));
        const QString lib = m_tmp.filePath(QStringLiteral("json-errors.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), lib}).exit, 0);
        QList<QPair<QStringList, int>> cases{
            {{QStringLiteral("frobnicate")}, 2},
            {{QStringLiteral("import"), QStringLiteral("--no-such-option"), QStringLiteral(".")}, 2},
            {{QStringLiteral("--library"), absent, QStringLiteral("info")}, 3},
            {{QStringLiteral("--library"), lib, QStringLiteral("labels"), QStringLiteral("export"), QStringLiteral("--category"),
              QStringLiteral("no such category")}, 2}, // no --out
        };
#ifdef MAGPIE_HAVE_TRAINING
        cases.append({{QStringLiteral("--library"), lib, QStringLiteral("train"), QStringLiteral("-c"), QStringLiteral("no such category")}, 1});
        // bad arguments are usage errors (2), as elsewhere
        QCOMPARE(cli({QStringLiteral("--library"), lib, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("t")}).exit, 0);
        cases.append({{QStringLiteral("--library"), lib, QStringLiteral("answer"), QStringLiteral("-c"), QStringLiteral("t"),
                       QStringLiteral("--value"), QStringLiteral("maybe"), QStringLiteral("x.jpg")}, 2});
        cases.append({{QStringLiteral("--library"), lib, QStringLiteral("similar"), QStringLiteral("-n"), QStringLiteral("0"),
                       QStringLiteral("1")}, 2});
        cases.append({{QStringLiteral("--library"), lib, QStringLiteral("chain"), QStringLiteral("1")}, 2}); // needs FROM and TO
        for (const QStringList &bad : {QStringList{QStringLiteral("--fast"), QStringLiteral("--deep")},
                                       QStringList{QStringLiteral("--deep"), QStringLiteral("--epochs"), QStringLiteral("0")},
                                       QStringList{QStringLiteral("--prior-weight"), QStringLiteral("2")}})
            cases.append({QStringList{QStringLiteral("--library"), lib, QStringLiteral("train"), QStringLiteral("-c"),
                                      QStringLiteral("t")} + bad, 2});
#endif
        for (const auto &[args, code] : cases) {
            const Run r = cli(QStringList{QStringLiteral("--json")} + args);
            QVERIFY2(r.exit == code, qPrintable(args.join(u' ') + QStringLiteral(": exit %1").arg(r.exit)));
            QJsonParseError pe;
            const QJsonObject o = QJsonDocument::fromJson(r.out, &pe).object();
            QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(args.join(u' ') + QStringLiteral(": ") + QString::fromUtf8(r.out)));
            QVERIFY2(!o.value(QStringLiteral("error")).toString().isEmpty(), r.out.constData());
            QVERIFY2(!o.value(QStringLiteral("error")).toString().contains(QStringLiteral("Usage:")), r.out.constData());
            QVERIFY(!r.err.isEmpty()); // and the person still reads it on stderr
        }
    }

    void noLibrary()
    {
        const Run r = cli({QStringLiteral("--library"), m_tmp.filePath(QStringLiteral("absent.magpie")), QStringLiteral("info")});
        QCOMPARE(r.exit, 3);
        QVERIFY(r.err.contains("magpie-cli init"));
    }

    void workflow()
    {
        const QString L = m_lib;
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 3); // exists already

        Run r = cli({QStringLiteral("--library"), L, QStringLiteral("--json"), QStringLiteral("import"),
                     QStringLiteral(MAGPIE_SAMPLE_DIR "/initials")});
        QCOMPARE(r.exit, 0);
        const QJsonObject imp = r.json()[QStringLiteral("imports")].toArray().first().toObject();
        QCOMPARE(imp[QStringLiteral("listed")].toInt(), 240);
        QCOMPARE(imp[QStringLiteral("added")].toInt(), 240);

        r = cli({QStringLiteral("-L"), L, QStringLiteral("import"), m_tmp.filePath(QStringLiteral("missing-folder"))});
        QCOMPARE(r.exit, 1);
        QVERIFY(r.err.contains("does not exist"));

        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("Initials"),
                      QStringLiteral("--letters")}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("Initials")}).exit, 1);
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("labels"), QStringLiteral("import"),
                 QStringLiteral("--category"), QStringLiteral("Initials"), QStringLiteral("--csv"),
                 QStringLiteral(MAGPIE_SAMPLE_DIR "/initials/labels.csv")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("answers")].toInt(), 240);

        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("info")});
        QCOMPARE(r.exit, 0);
        const QJsonObject info = r.json();
        QCOMPARE(info[QStringLiteral("images")].toInt(), 240);
        const QJsonObject cat = info[QStringLiteral("categories")].toArray().first().toObject();
        QCOMPARE(cat[QStringLiteral("answered_images")].toInt(), 240);
        int yesA = 0;
        for (const auto &c : cat[QStringLiteral("classes")].toArray())
            if (c.toObject()[QStringLiteral("class")].toString() == u"A")
                yesA = c.toObject()[QStringLiteral("yes")].toInt();
        QCOMPARE(yesA, 8);

        const QString csv = m_tmp.filePath(QStringLiteral("out.csv"));
        // -c as in train, suggest, answer and eval
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("labels"), QStringLiteral("export"), QStringLiteral("-c"),
                      QStringLiteral("Initials"), QStringLiteral("--out"), csv}).exit, 0);
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().count('\n'), 241);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("labels"), QStringLiteral("export"), QStringLiteral("--format"),
                      QStringLiteral("xml"), QStringLiteral("--category"), QStringLiteral("Initials"), QStringLiteral("--out"), csv}).exit, 2);
    }

    void answerNamesImagesAsCollectionAddDoes()
    {
#ifdef MAGPIE_HAVE_TRAINING
        // `answer` takes an image as imported, by id, or by its path from the
        // working folder, and says why it skips one.
        const QString L = m_tmp.filePath(QStringLiteral("answer.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("import"), QStringLiteral(MAGPIE_SAMPLE_DIR "/initials")}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("rocks")}).exit, 0);
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        const QStringList files = sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY(files.size() >= 2);
        QProcess p;
        p.setWorkingDirectory(QStringLiteral(MAGPIE_SAMPLE_DIR));
        p.start(QStringLiteral(MAGPIE_CLI), {QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("answer"),
                                             QStringLiteral("-c"), QStringLiteral("rocks"), QStringLiteral("--value"),
                                             QStringLiteral("yes"), QStringLiteral("initials/") + files[0], files[1],
                                             QStringLiteral("initials/no-such-image.jpg")});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 1); // one of the three was not found
        const QJsonObject o = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
        QCOMPARE(o[QStringLiteral("recorded")].toInt(), 2); // the path from here, and the path as imported
        QCOMPARE(o[QStringLiteral("skipped")].toInt(), 1);
        QVERIFY(p.readAllStandardError().contains("not an image of this library"));
        const Run bad = cli({QStringLiteral("-L"), L, QStringLiteral("answer"), QStringLiteral("-c"), QStringLiteral("rocks"),
                             QStringLiteral("--value"), QStringLiteral("maybe"), sample.filePath(files[1])});
        QVERIFY2(bad.err.contains("wants yes, no or skip"), bad.err.constData());
        QCOMPARE(bad.exit, 2);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("suggest"), QStringLiteral("-c"), QStringLiteral("rocks"),
                      QStringLiteral("-n"), QStringLiteral("-5")}).exit, 2);
        const Run queue = cli({QStringLiteral("-L"), L, QStringLiteral("suggest"), QStringLiteral("-c"), QStringLiteral("rocks"),
                               QStringLiteral("--queue"), QStringLiteral("harvset")});
        QVERIFY2(queue.err.contains("choose harvest, teach"), queue.err.constData()); // it says what there is

        // a class set answered from a file,label CSV (as `labels import` and `eval`
        // read it), class names in any case
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("abc"),
                      QStringLiteral("--classes"), QStringLiteral("A,B,none")}).exit, 0);
        const QString labels = m_tmp.filePath(QStringLiteral("labels-abc.csv"));
        QFile f(labels);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Text));
        f.write(QStringLiteral("file,label\n%1,a\n%2,none\n").arg(sample.filePath(files[0]), sample.filePath(files[1])).toUtf8());
        f.close();
        const Run byLabel = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("answer"), QStringLiteral("-c"),
                                 QStringLiteral("abc"), QStringLiteral("--csv"), labels});
        QCOMPARE(byLabel.exit, 0);
        QCOMPARE(QJsonDocument::fromJson(byLabel.out).object()[QStringLiteral("recorded")].toInt(), 2);
        auto lib = Library::open(L, Library::Mode::ReadOnly, nullptr);
        QVERIFY(lib);
        const auto abc = lib->category(QStringLiteral("abc"));
        QVERIFY(abc);
        QSet<QString> got;
        for (const Answer &a : lib->answers(abc->id)) {
            QCOMPARE(a.value, AnswerValue::Yes);
            for (const ClassInfo &ci : abc->classes)
                if (ci.id == a.classId) got.insert(ci.name);
        }
        QCOMPARE(got, (QSet<QString>{QStringLiteral("A"), QStringLiteral("none")}));
#else
        QSKIP("built without training");
#endif
    }

    void aNameTwoFoldersShareIsAmbiguousButResolvesNextToItsCsv()
    {
#ifdef MAGPIE_HAVE_TRAINING
        // Two archives with the same file names: a bare name says which images it
        // could be; a CSV's names are first taken next to the CSV (as labels
        // import does); the decision log of one category holds only its own.
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        const QStringList files = sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY(files.size() >= 4);
        QDir root(m_tmp.path());
        QVERIFY(root.mkpath(QStringLiteral("twins/one")) && root.mkpath(QStringLiteral("twins/two")));
        for (int i = 0; i < 2; ++i) {
            QVERIFY(QFile::copy(sample.filePath(files[i]), root.filePath(QStringLiteral("twins/one/p%1.jpg").arg(i))));
            QVERIFY(QFile::copy(sample.filePath(files[i + 2]), root.filePath(QStringLiteral("twins/two/p%1.jpg").arg(i))));
        }
        const QString L = m_tmp.filePath(QStringLiteral("twins.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("--quiet"), QStringLiteral("import"),
                      root.filePath(QStringLiteral("twins/one")), root.filePath(QStringLiteral("twins/two"))}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("t")}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("u")}).exit, 0);
        Run r = cli({QStringLiteral("-L"), L, QStringLiteral("answer"), QStringLiteral("-c"), QStringLiteral("t"),
                     QStringLiteral("--value"), QStringLiteral("yes"), QStringLiteral("p0.jpg")});
        QCOMPARE(r.exit, 1);
        QVERIFY2(r.err.contains("ambiguous: it names 2 images"), r.err.constData());
        QVERIFY2(r.err.contains(root.filePath(QStringLiteral("twins/one/p0.jpg")).toUtf8())
                     && r.err.contains(root.filePath(QStringLiteral("twins/two/p0.jpg")).toUtf8()),
                 r.err.constData());
        const QString csv = root.filePath(QStringLiteral("twins/two/answers.csv"));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Text));
        f.write("file,value\np0.jpg,yes\np1.jpg,no\n");
        f.close();
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("answer"), QStringLiteral("-c"),
                 QStringLiteral("t"), QStringLiteral("--csv"), csv});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("recorded")].toInt(), 2);
        {
            // a row short of its columns is skipped and said, not read as an answer ""
            const QString shortCsv = root.filePath(QStringLiteral("twins/two/short.csv"));
            QFile sf(shortCsv);
            QVERIFY(sf.open(QIODevice::WriteOnly | QIODevice::Text));
            sf.write("file,value\n# a comment\np1.jpg\n");
            sf.close();
            const Run s = cli({QStringLiteral("-L"), L, QStringLiteral("answer"), QStringLiteral("-c"), QStringLiteral("t"),
                               QStringLiteral("--csv"), shortCsv});
            QCOMPARE(s.exit, 1);
            QVERIFY2(s.err.contains("line 3: too few columns"), s.err.constData());
        }
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("answer"), QStringLiteral("-c"), QStringLiteral("u"),
                      QStringLiteral("--value"), QStringLiteral("no"), root.filePath(QStringLiteral("twins/one/p1.jpg"))}).exit, 0);
        {
            auto lib = Library::open(L, Library::Mode::ReadOnly, nullptr);
            QVERIFY(lib);
            const auto answers = lib->answers(lib->category(QStringLiteral("t"))->id);
            QCOMPARE(answers.size(), 2);
            for (const Answer &a : answers)
                QVERIFY2(lib->image(a.imageId)->absPath.contains(QStringLiteral("/twins/two/")),
                         qPrintable(lib->image(a.imageId)->absPath));
        }
        const QString log = m_tmp.filePath(QStringLiteral("twins-out/t.jsonl"));
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("labels"), QStringLiteral("export"),
                 QStringLiteral("-c"), QStringLiteral("t"), QStringLiteral("--format"), QStringLiteral("jsonl"),
                 QStringLiteral("--out"), log}); // its folder is made
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("written")].toInt(), 2);
        QFile lf(log);
        QVERIFY(lf.open(QIODevice::ReadOnly));
        for (const QByteArray &line : lf.readAll().split('\n'))
            if (!line.isEmpty())
                QCOMPARE(QJsonDocument::fromJson(line).object()[QStringLiteral("category")].toString(), QStringLiteral("t"));
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("labels"), QStringLiteral("export"),
                 QStringLiteral("--format"), QStringLiteral("jsonl"), QStringLiteral("--out"), log});
        QCOMPARE(r.json()[QStringLiteral("written")].toInt(), 3); // every category's

        // a category renamed keeps its answers; a name taken is refused
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("rename"), QStringLiteral("t"),
                      QStringLiteral("u")}).exit, 1);
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("category"), QStringLiteral("rename"),
                 QStringLiteral("t"), QStringLiteral("twins")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("was")].toString(), QStringLiteral("t"));
        {
            auto lib = Library::open(L, Library::Mode::ReadOnly, nullptr);
            QVERIFY(lib && !lib->category(QStringLiteral("t")));
            QCOMPARE(lib->answers(lib->category(QStringLiteral("twins"))->id).size(), 2);
        }

        // deleted: its answers are saved first, and labels import brings them back
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("category"), QStringLiteral("delete"),
                 QStringLiteral("twins")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("answers")].toInt(), 2);
        const QString saved = r.json()[QStringLiteral("saved_answers")].toString();
        QVERIFY2(QFileInfo(saved).isFile() && saved.startsWith(L + QStringLiteral("-cache/deleted/")), qPrintable(saved));
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("delete"), QStringLiteral("twins")}).exit, 1);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("twins")}).exit, 0);
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("labels"), QStringLiteral("import"),
                 QStringLiteral("-c"), QStringLiteral("twins"), QStringLiteral("--csv"), saved});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("answers")].toInt(), 2);
#else
        QSKIP("built without training");
#endif
    }

    void collectionsLeaveOutUnreadableImages()
    {
        // A text file named .png is imported as unreadable; naming it for a
        // collection says so and leaves it out (it would print as a placeholder).
        const QString dir = m_tmp.filePath(QStringLiteral("mixed"));
        QVERIFY(QDir().mkpath(dir));
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        QVERIFY(QFile::copy(sample.filePath(sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name).first()),
                            dir + QStringLiteral("/good.jpg")));
        QFile fake(dir + QStringLiteral("/fake.png"));
        QVERIFY(fake.open(QIODevice::WriteOnly));
        fake.write("not a picture\n");
        fake.close();
        const QString L = m_tmp.filePath(QStringLiteral("mixed.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("import"), dir}).exit, 0);
        const Run r = cli({QStringLiteral("-L"), L, QStringLiteral("collection"), QStringLiteral("create"), QStringLiteral("Faces"),
                           dir + QStringLiteral("/good.jpg"), dir + QStringLiteral("/fake.png")});
        QCOMPARE(r.exit, 0);
        QVERIFY2(r.err.contains("fake.png is unreadable"), r.err.constData());
        const Run list = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("collection"), QStringLiteral("list")});
        QCOMPARE(list.json()[QStringLiteral("collections")].toArray().first().toObject()[QStringLiteral("items")].toInt(), 1);
        // removing an image that does not exist fails (it said "Removed 0" and exited 0)
        const Run gone = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("collection"),
                              QStringLiteral("remove"), QStringLiteral("Faces"), QStringLiteral("999")});
        QCOMPARE(gone.exit, 1);
        QCOMPARE(gone.json()[QStringLiteral("removed")].toInt(), 0);
        QVERIFY2(gone.err.contains("no image matches"), gone.err.constData());

#ifdef MAGPIE_HAVE_TRAINING
        // nothing embedded yet: suggest says so (it used to say every image was answered)
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("faces")}).exit, 0);
        const Run none = cli({QStringLiteral("-L"), L, QStringLiteral("suggest"), QStringLiteral("-c"), QStringLiteral("faces")});
        QVERIFY2(none.err.contains("magpie-cli embed"), none.err.constData());
        // embedded, no model yet: suggestions are unscored, not "harvest" with score 0
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("embed")}).exit, 0);
        const Run fresh = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("suggest"), QStringLiteral("-c"),
                               QStringLiteral("faces")});
        QCOMPARE(fresh.exit, 0);
        const QJsonObject first = fresh.json()[QStringLiteral("suggestions")].toArray().first().toObject();
        QCOMPARE(first[QStringLiteral("queue")].toString(), QStringLiteral("unscored"));
        QVERIFY(first[QStringLiteral("score")].isNull());
#endif
        // a custom paper is the sheet as given: 300x200 mm is landscape
        const QString out = m_tmp.filePath(QStringLiteral("custom-print"));
        const QStringList exportArgs{QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("collection"),
                                     QStringLiteral("export"), QStringLiteral("Faces"), QStringLiteral("--out"), out,
                                     QStringLiteral("--format"), QStringLiteral("png"), QStringLiteral("--dpi"), QStringLiteral("150")};
        const Run wide = cli(exportArgs + QStringList{QStringLiteral("--size"), QStringLiteral("300x200")});
        QVERIFY2(wide.exit == 0, wide.err.constData());
        QCOMPARE(wide.json()[QStringLiteral("width_px")].toInt(), 1772); // 300 mm at 150 dpi
        QCOMPARE(wide.json()[QStringLiteral("height_px")].toInt(), 1181);
        // --size with a named paper is a contradiction
        QCOMPARE(cli(exportArgs + QStringList{QStringLiteral("--paper"), QStringLiteral("A4"), QStringLiteral("--size"),
                                              QStringLiteral("300x200")}).exit, 2);
        // a margin that does not fit is said, not quietly shrunk
        const Run margin = cli(exportArgs + QStringList{QStringLiteral("--margin"), QStringLiteral("200")});
        QVERIFY2(margin.err.contains("does not fit"), margin.err.constData());
    }

    void secondProcessIsRefused()
    {
        // this test process holds the library; the CLI is a second process
        QString err;
        auto held = Library::open(m_lib, Library::Mode::ReadWrite, &err);
        QVERIFY2(held, qPrintable(err));
        const Run r = cli({QStringLiteral("-L"), m_lib, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("rocks")});
        QCOMPARE(r.exit, 3);
        QVERIFY2(r.err.contains("another Magpie process"), r.err.constData());
        // reading still works while it is held
        QCOMPARE(cli({QStringLiteral("-L"), m_lib, QStringLiteral("info")}).exit, 0);
        // a script reads the same from JSON, the exit code included
        const Run j = cli({QStringLiteral("-L"), m_lib, QStringLiteral("--json"), QStringLiteral("category"),
                           QStringLiteral("create"), QStringLiteral("rocks")});
        QCOMPARE(j.exit, 3);
        QCOMPARE(j.json()[QStringLiteral("exit")].toInt(), 3);
        QVERIFY2(j.json()[QStringLiteral("error")].toString().contains(QStringLiteral("another Magpie process")), j.out.constData());
    }

    void globalOptionsAfterTheCommand()
    {
        // --json, --quiet and -L are read after the command name too, as a
        // script writer types them; `--` ends the options
        const QString L = m_tmp.filePath(QStringLiteral("after.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        Run r = cli({QStringLiteral("import"), QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"), QStringLiteral("-L"), L,
                     QStringLiteral("--quiet"), QStringLiteral("--json")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("imports")].toArray().first().toObject()[QStringLiteral("added")].toInt(), 240);
        r = cli({QStringLiteral("info"), QStringLiteral("--library=") + L, QStringLiteral("--json")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("images")].toInt(), 240);
        // a command's own options still reach it
        QCOMPARE(cli({QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("Initials"), QStringLiteral("--letters"),
                      QStringLiteral("-L"), L}).exit, 0);
    }

#ifdef MAGPIE_HAVE_TRAINING
    void lettersClassSetTrainsOnTheLettersBackbone()
    {
        // A class set of letters gets the letters backbone (its prior head knows
        // A-Z + none) in a library on the general one; embed embeds with both;
        // training again with nothing new keeps the model it made.
        if (!qEnvironmentVariableIsEmpty("MAGPIE_BACKBONE")) QSKIP("$MAGPIE_BACKBONE gives every category one backbone");
        const QString L = m_tmp.filePath(QStringLiteral("own.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("--quiet"), QStringLiteral("import"),
                      QStringLiteral(MAGPIE_SAMPLE_DIR "/initials")}).exit, 0);
        Run r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("category"), QStringLiteral("create"),
                     QStringLiteral("Initials"), QStringLiteral("--letters")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("backbone")].toString(), QStringLiteral("letters"));
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("category"), QStringLiteral("create"),
                 QStringLiteral("ornate")});
        QCOMPARE(r.exit, 0);
        QVERIFY(r.json()[QStringLiteral("backbone")].isNull()); // a theme follows the library
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("shapes"),
                      QStringLiteral("--classes"), QStringLiteral("a,b"), QStringLiteral("--backbone"), QStringLiteral("rocks")}).exit, 2);
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("backbone")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("backbone")].toString(), QStringLiteral("general"));
        QCOMPARE(r.json()[QStringLiteral("categories")].toObject()[QStringLiteral("Initials")].toString(), QStringLiteral("letters"));
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("backbone"), QStringLiteral("fish"), QStringLiteral("-c"),
                      QStringLiteral("Initials")}).exit, 2);

        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("--quiet"), QStringLiteral("labels"), QStringLiteral("import"),
                      QStringLiteral("-c"), QStringLiteral("Initials"), QStringLiteral("--csv"),
                      QStringLiteral(MAGPIE_SAMPLE_DIR "/initials/labels.csv")}).exit, 0);
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("embed")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("backbones")].toArray(), (QJsonArray{QStringLiteral("general"), QStringLiteral("letters")}));
        QCOMPARE(r.json()[QStringLiteral("embedded")].toInt(), 480); // 240 images x 2 backbones
        QCOMPARE(r.json()[QStringLiteral("total")].toInt(), 240);
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("train"), QStringLiteral("-c"), QStringLiteral("Initials")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("backbone")].toString(), QStringLiteral("letters"));
        QVERIFY(!r.json()[QStringLiteral("unchanged")].toBool());
        const int version = r.json()[QStringLiteral("model_version")].toInt();
        r = cli({QStringLiteral("-L"), L, QStringLiteral("train"), QStringLiteral("-c"), QStringLiteral("Initials")});
        QCOMPARE(r.exit, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("nothing changed since model version %1").arg(version).toUtf8()), r.out.constData());
        QVERIFY2(r.out.contains("on the letters backbone"), r.out.constData());

        // back to the library's backbone
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("backbone"), QStringLiteral("library"),
                 QStringLiteral("-c"), QStringLiteral("Initials")});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("own")].toBool(), false);
        QCOMPARE(r.json()[QStringLiteral("backbone")].toString(), QStringLiteral("general"));
        r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("embed")});
        QCOMPARE(r.json()[QStringLiteral("backbones")].toArray(), QJsonArray{QStringLiteral("general")});
    }

    void classSetSuggestionsNameTheRunnersUp()
    {
        // Before any answer the letters prior guesses a letter for each image,
        // and names the next likeliest letters (at most 2, each >= 5 %).
        if (!qEnvironmentVariableIsEmpty("MAGPIE_BACKBONE")) QSKIP("$MAGPIE_BACKBONE gives every category one backbone");
        const QString L = m_tmp.filePath(QStringLiteral("runners.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("--quiet"), QStringLiteral("import"),
                      QStringLiteral(MAGPIE_SAMPLE_DIR "/initials")}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("Initials"),
                      QStringLiteral("--letters")}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("--quiet"), QStringLiteral("embed")}).exit, 0);
        const Run r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("suggest"), QStringLiteral("-c"),
                           QStringLiteral("Initials"), QStringLiteral("--queue"), QStringLiteral("teach"), QStringLiteral("-n"),
                           QStringLiteral("40")});
        QCOMPARE(r.exit, 0);
        const QJsonArray list = r.json()[QStringLiteral("suggestions")].toArray();
        QCOMPARE(list.size(), 40);
        int named = 0;
        for (const auto &v : list) {
            const QJsonObject s = v.toObject();
            const QJsonArray up = s[QStringLiteral("runners_up")].toArray();
            QVERIFY(up.size() <= 2);
            double last = s[QStringLiteral("score")].toDouble();
            for (const auto &u : up) {
                const QJsonObject o = u.toObject();
                QVERIFY(o[QStringLiteral("class")].toString() != s[QStringLiteral("class")].toString());
                QVERIFY(o[QStringLiteral("score")].toDouble() >= 0.05 - 1e-6);
                QVERIFY(o[QStringLiteral("score")].toDouble() <= last + 1e-6);
                last = o[QStringLiteral("score")].toDouble();
            }
            named += !up.isEmpty();
        }
        QVERIFY2(named >= 20, r.out.constData()); // the teach queue: the least sure guesses

        // score --out: a row per image, a probability per class, then the file
        const QString scores = m_tmp.filePath(QStringLiteral("runners-scores.csv"));
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("score"), QStringLiteral("-c"), QStringLiteral("Initials"),
                      QStringLiteral("--out"), scores}).exit, 0);
        QFile sf(scores);
        QVERIFY(sf.open(QIODevice::ReadOnly | QIODevice::Text));
        const QList<QByteArray> lines = sf.readAll().trimmed().split('\n');
        QVERIFY(lines.first().startsWith("image,A,B,"));
        QVERIFY(lines.first().endsWith(",none,file"));
        QCOMPARE(lines.size(), 241); // the header and the 240 sample initials
        const QList<QByteArray> row = lines[1].split(',');
        QCOMPARE(row.size(), 29); // id, 27 classes, file
        double sum = 0;
        for (int k = 1; k <= 27; ++k) sum += row[k].toDouble();
        QVERIFY(std::abs(sum - 1) < 1e-3);
        QByteArray file = row.last();
        QVERIFY(file.startsWith('"') && file.endsWith('"'));
        QVERIFY2(QFileInfo::exists(QString::fromUtf8(file.mid(1, file.size() - 2))), file.constData());
    }
#endif

    void labelsImportMatchesClassesInAnyCase()
    {
        const QString L = m_tmp.filePath(QStringLiteral("case.magpie"));
        QCOMPARE(cli({QStringLiteral("init"), L}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("--quiet"), QStringLiteral("import"),
                      QStringLiteral(MAGPIE_SAMPLE_DIR "/initials")}).exit, 0);
        QCOMPARE(cli({QStringLiteral("-L"), L, QStringLiteral("category"), QStringLiteral("create"), QStringLiteral("Initials"),
                      QStringLiteral("--letters")}).exit, 0);
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        const QStringList files = sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name);
        const QString csv = m_tmp.filePath(QStringLiteral("lower.csv"));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Text));
        f.write(QStringLiteral("file,label\n%1,a\n%2,NONE\n").arg(files[0], files[1]).toUtf8());
        f.close();
        Run r = cli({QStringLiteral("-L"), L, QStringLiteral("--json"), QStringLiteral("labels"), QStringLiteral("import"),
                     QStringLiteral("-c"), QStringLiteral("Initials"), QStringLiteral("--csv"), csv});
        QCOMPARE(r.exit, 0);
        QCOMPARE(r.json()[QStringLiteral("answers")].toInt(), 2);
        QCOMPARE(r.json()[QStringLiteral("invalid")].toInt(), 0);
        auto lib = Library::open(L, Library::Mode::ReadOnly, nullptr);
        QVERIFY(lib);
        const auto cat = lib->category(QStringLiteral("Initials"));
        QVERIFY(cat);
        QSet<QString> got;
        for (const Answer &a : lib->answers(cat->id))
            for (const ClassInfo &ci : cat->classes)
                if (ci.id == a.classId) got.insert(ci.name);
        QCOMPARE(got, (QSet<QString>{QStringLiteral("A"), QStringLiteral("none")})); // no new classes "a" or "NONE"
        QCOMPARE(cat->classes.size(), 27);
        lib.reset();
        // a file that writes nothing is a failure, and says why
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Text));
        f.write(QStringLiteral("file,label\n%1,AA\nno-such-file.jpg,B\n\"open,B\nlonely\n").arg(files[0]).toUtf8());
        f.close();
        r = cli({QStringLiteral("-L"), L, QStringLiteral("labels"), QStringLiteral("import"), QStringLiteral("-c"),
                 QStringLiteral("Initials"), QStringLiteral("--csv"), csv, QStringLiteral("--json")});
        QCOMPARE(r.exit, 1);
        QCOMPARE(r.json()[QStringLiteral("malformed")].toInt(), 2); // a quote left open, a line without a label
        QCOMPARE(r.json()[QStringLiteral("invalid")].toInt(), 1);   // AA
        QCOMPARE(r.json()[QStringLiteral("unmatched")].toInt(), 1);
        QVERIFY2(r.err.contains("nothing was written"), r.err.constData());
        QCOMPARE(r.json()[QStringLiteral("exit")].toInt(), 1);
        QVERIFY2(r.json()[QStringLiteral("error")].toString().contains(QStringLiteral("nothing was written")), r.out.constData());
#ifdef MAGPIE_HAVE_TRAINING
        // one answer is one answer
        r = cli({QStringLiteral("-L"), L, QStringLiteral("answer"), QStringLiteral("-c"), QStringLiteral("Initials"),
                 QStringLiteral("--value"), QStringLiteral("yes"), QStringLiteral("--class"), QStringLiteral("b"), files[2]});
        QCOMPARE(r.exit, 0);
        QVERIFY2(r.out.startsWith("1 answer recorded"), r.out.constData());
        // nothing embedded yet: suggest fails (exit 1), in JSON too
        r = cli({QStringLiteral("-L"), L, QStringLiteral("suggest"), QStringLiteral("-c"), QStringLiteral("Initials"),
                 QStringLiteral("--json")});
        QCOMPARE(r.exit, 1);
        QCOMPARE(r.json()[QStringLiteral("exit")].toInt(), 1);
        QVERIFY2(r.json()[QStringLiteral("error")].toString().contains(QStringLiteral("embed")), r.out.constData());
#endif
    }
};

QTEST_GUILESS_MAIN(tst_Cli)
#include "tst_cli.moc"
