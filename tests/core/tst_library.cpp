#include "core/library.h"

#include <QDir>
#include <QFile>
#include <QLockFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace magpie;

class tst_Library : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

    // One image row to answer about (the importer is tested elsewhere).
    static ImageId addImage(Library &lib, const QString &rel)
    {
        const qint64 root = lib.addRoot(QStringLiteral("/archive"));
        QVector<ImageRecord> rows(1);
        rows[0].rootId = root;
        rows[0].relPath = rel;
        rows[0].hash = rel.toLatin1().toHex();
        rows[0].width = 10;
        rows[0].height = 10;
        rows[0].format = QStringLiteral("jpeg");
        if (!lib.writeImages(rows))
            return 0;
        return rows[0].id;
    }

private Q_SLOTS:
    void createAndReopen()
    {
        QString err;
        LibraryError kind;
        {
            auto lib = Library::create(path(QStringLiteral("a.magpie")), &err, &kind);
            QVERIFY2(lib, qPrintable(err));
            QCOMPARE(lib->schemaVersion(), Library::currentSchemaVersion());
            QVERIFY(QFileInfo(lib->cacheDir()).isDir());
            QVERIFY(lib->setMeta(QStringLiteral("k"), QStringLiteral("v")));
        }
        auto again = Library::create(path(QStringLiteral("a.magpie")), &err, &kind);
        QVERIFY(!again);
        QCOMPARE(kind, LibraryError::Exists);
        auto lib = Library::open(path(QStringLiteral("a.magpie")), Library::Mode::ReadWrite, &err, &kind);
        QVERIFY2(lib, qPrintable(err));
        QCOMPARE(lib->meta(QStringLiteral("k")), QStringLiteral("v"));
        // WAL mode and foreign keys are on
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("probe"));
        db.setDatabaseName(path(QStringLiteral("a.magpie")));
        QVERIFY(db.open());
        QSqlQuery q(db);
        QVERIFY(q.exec(QStringLiteral("PRAGMA journal_mode")));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toString(), QStringLiteral("wal"));
        q.finish();
        db.close();
        db = QSqlDatabase();
        QSqlDatabase::removeDatabase(QStringLiteral("probe"));
    }

    void badFiles()
    {
        QString err;
        LibraryError kind;
        QVERIFY(!Library::open(path(QStringLiteral("none.magpie")), Library::Mode::ReadOnly, &err, &kind));
        QCOMPARE(kind, LibraryError::NotFound);
        QVERIFY(err.contains(QStringLiteral("No library")));

        QFile text(path(QStringLiteral("text.magpie")));
        QVERIFY(text.open(QIODevice::WriteOnly));
        text.write("this is not a database, just some text\n");
        text.close();
        QVERIFY(!Library::open(text.fileName(), Library::Mode::ReadWrite, &err, &kind));
        QCOMPARE(kind, LibraryError::Corrupt);
        QVERIFY2(err.contains(QStringLiteral("not a Magpie library")), qPrintable(err));

        QVERIFY(!Library::open(m_dir.path(), Library::Mode::ReadWrite, &err, &kind));
        QCOMPARE(kind, LibraryError::Corrupt);

        // a 0-byte file is not quietly made into a new library, read-only or not
        QFile zero(path(QStringLiteral("zero.magpie")));
        QVERIFY(zero.open(QIODevice::WriteOnly));
        zero.close();
        for (const auto mode : {Library::Mode::ReadWrite, Library::Mode::ReadOnly}) {
            QVERIFY(!Library::open(zero.fileName(), mode, &err, &kind));
            QCOMPARE(kind, LibraryError::Corrupt);
            QVERIFY2(err.contains(QStringLiteral("empty file")), qPrintable(err));
        }
        QCOMPARE(QFileInfo(zero.fileName()).size(), 0);
    }

    void tooNew()
    {
        const QString p = path(QStringLiteral("new.magpie"));
        QVERIFY(Library::create(p, nullptr));
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("bump"));
            db.setDatabaseName(p);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("PRAGMA user_version=999")));
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("bump"));
        QString err;
        LibraryError kind;
        QVERIFY(!Library::open(p, Library::Mode::ReadWrite, &err, &kind));
        QCOMPARE(kind, LibraryError::TooNew);
        QVERIFY(err.contains(QStringLiteral("newer Magpie")));
    }

    void lockedByAnotherProcess()
    {
        const QString p = path(QStringLiteral("locked.magpie"));
        QVERIFY(Library::create(p, nullptr));
        // Another process holding the lock looks like a live lock file that
        // this process's library registry did not take.
        QLockFile other(p + QStringLiteral(".lock"));
        QVERIFY(other.tryLock(0));
        QString err;
        LibraryError kind;
        QVERIFY(!Library::open(p, Library::Mode::ReadWrite, &err, &kind));
        QCOMPARE(kind, LibraryError::Locked);
        QVERIFY2(err.contains(QStringLiteral("another Magpie process")), qPrintable(err));
        // reading is still allowed
        auto ro = Library::open(p, Library::Mode::ReadOnly, &err, &kind);
        QVERIFY2(ro, qPrintable(err));
        other.unlock();
        auto rw = Library::open(p, Library::Mode::ReadWrite, &err, &kind);
        QVERIFY2(rw, qPrintable(err));
        // a second Library in the same process (another thread's connection) shares the lock
        auto rw2 = Library::open(p, Library::Mode::ReadWrite, &err, &kind);
        QVERIFY2(rw2, qPrintable(err));
    }

    void readOnly()
    {
        const QString p = path(QStringLiteral("ro.magpie"));
        ImageId img = 0;
        CategoryId cat = 0;
        {
            auto lib = Library::create(p, nullptr);
            QVERIFY(lib);
            img = addImage(*lib, QStringLiteral("x.jpg"));
            cat = lib->createCategory(QStringLiteral("rocks"), CategoryKind::Binary)->id;
            QVERIFY(lib->answer({img, cat, 0, AnswerValue::Yes}));
        }
        QString err;
        auto ro = Library::open(p, Library::Mode::ReadOnly, &err);
        QVERIFY2(ro, qPrintable(err));
        QVERIFY(ro->isReadOnly());
        QVERIFY(!ro->answer({img, cat, 0, AnswerValue::No}));
        QVERIFY2(ro->lastError().contains(QStringLiteral("read-only")), qPrintable(ro->lastError()));
        QCOMPARE(ro->answers(cat).size(), 1);
        QCOMPARE(ro->answers(cat).first().value, AnswerValue::Yes); // nothing lost

        if (geteuid() == 0)
            QSKIP("file permissions do not bind root; the read-only file check needs an ordinary user");
        QFile::setPermissions(p, QFileDevice::ReadOwner);
        LibraryError kind;
        QVERIFY(!Library::open(p, Library::Mode::ReadWrite, &err, &kind));
        QCOMPARE(kind, LibraryError::ReadOnly);
        QFile::setPermissions(p, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    }

    void binaryAnswersAndUndo()
    {
        auto lib = Library::create(path(QStringLiteral("b.magpie")), nullptr);
        QVERIFY(lib);
        const ImageId a = addImage(*lib, QStringLiteral("a.jpg"));
        const ImageId b = addImage(*lib, QStringLiteral("b.jpg"));
        auto cat = lib->createCategory(QStringLiteral("very sad girls"), CategoryKind::Binary);
        QVERIFY(cat);
        QVERIFY(!lib->createCategory(QStringLiteral("very sad girls"), CategoryKind::Binary)); // unique

        Answer ans{a, cat->id, 0, AnswerValue::Yes};
        ans.durationMs = 640;
        ans.modelVersion = 7;
        QVERIFY(lib->answer(ans));
        QVERIFY(lib->answer({b, cat->id, 0, AnswerValue::No}));
        QVERIFY(lib->answer({a, cat->id, 0, AnswerValue::No})); // changed mind
        auto rows = lib->answers(cat->id);
        QCOMPARE(rows.size(), 2);
        QCOMPARE(rows[0].value, AnswerValue::No);
        QCOMPARE(lib->decisionCount(), 3);
        qint64 newest = 0;
        for (const Answer &r : rows) newest = std::max(newest, r.atMs);
        QVERIFY(newest > 0);
        QCOMPARE(lib->newestAnswerMs(cat->id), newest);
        QCOMPARE(lib->newestAnswerMs(cat->id + 1000), qint64(0)); // no such category: none

        // undo: newest first, restoring exactly what was there
        auto u1 = lib->undoLast();
        QVERIFY(u1);
        QCOMPARE(u1->answer.imageId, a);
        rows = lib->answers(cat->id);
        QCOMPARE(rows[0].value, AnswerValue::Yes);
        QCOMPARE(rows[0].durationMs, 640);
        QCOMPARE(rows[0].modelVersion, 7);
        auto u2 = lib->undoLast();
        QVERIFY(u2);
        QCOMPARE(u2->answer.imageId, b);
        QCOMPARE(lib->answers(cat->id).size(), 1);
        auto u3 = lib->undoLast();
        QVERIFY(u3);
        QCOMPARE(lib->answers(cat->id).size(), 0);
        QVERIFY(!lib->undoLast());
        // the log is append-only: 3 answers + 3 undos
        QCOMPARE(lib->decisionCount(), 6);
        const auto log = lib->decisions(10);
        QCOMPARE(log.first().action, QStringLiteral("undo"));
        QCOMPARE(log.first().undoes, log.last().id);
    }

    void classSetIsExclusive()
    {
        auto lib = Library::create(path(QStringLiteral("c.magpie")), nullptr);
        QVERIFY(lib);
        const ImageId img = addImage(*lib, QStringLiteral("initial.png"));
        QVERIFY(!lib->createCategory(QStringLiteral("bad"), CategoryKind::ClassSet, {QStringLiteral("A")}));
        auto cat = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet,
                                       {QStringLiteral("A"), QStringLiteral("B"), QStringLiteral("none")});
        QVERIFY(cat);
        QCOMPARE(cat->classes.size(), 3);
        const ClassId A = cat->classes[0].id, B = cat->classes[1].id;
        QVERIFY(lib->answer({img, cat->id, B, AnswerValue::No})); // "is it B?" no
        QVERIFY(lib->answer({img, cat->id, A, AnswerValue::Yes}));
        QVERIFY(lib->answer({img, cat->id, B, AnswerValue::Yes})); // it is B after all
        auto rows = lib->answers(cat->id);
        QCOMPARE(rows.size(), 1); // B yes replaced both the B no and the A yes
        QCOMPARE(rows[0].classId, B);
        const LibraryCounts n = lib->counts();
        QCOMPARE(n.categories.size(), 1);
        QCOMPARE(n.categories[0].perClass[1].className, QStringLiteral("B"));
        QCOMPARE(n.categories[0].perClass[1].yes, 1);
        QCOMPARE(n.categories[0].perClass[0].yes, 0);
        QCOMPARE(n.categories[0].answeredImages, 1);
        QCOMPARE(n.categories[0].answeredOk, 1);
        QVERIFY(lib->markMissing({img}, QStringLiteral("moved away")));
        QCOMPARE(lib->counts().categories[0].answeredImages, 1); // its answer stays
        QCOMPARE(lib->counts().categories[0].answeredOk, 0);     // but it is not an Ok image to subtract
        QVERIFY(lib->undoLast());
        rows = lib->answers(cat->id);
        QCOMPARE(rows.size(), 2); // back to: B no, A yes
        QCOMPARE(lib->addClass(cat->id, QStringLiteral("C")) > 0, true);
        QCOMPARE(lib->category(cat->id)->classes.size(), 4);

        // renamed: the same category, its answers kept; a taken or empty name is refused
        auto other = lib->createCategory(QStringLiteral("hands"), CategoryKind::Binary);
        QVERIFY(other);
        QVERIFY(lib->renameCategory(cat->id, QStringLiteral("  Capitals ")));
        QCOMPARE(lib->category(cat->id)->name, QStringLiteral("Capitals"));
        QVERIFY(!lib->category(QStringLiteral("Initials")));
        QCOMPARE(lib->answers(cat->id).size(), 2);
        QVERIFY(!lib->renameCategory(cat->id, QStringLiteral("hands")));
        QVERIFY2(lib->lastError().contains(QStringLiteral("exists already")), qPrintable(lib->lastError()));
        QVERIFY(!lib->renameCategory(cat->id, QStringLiteral("  ")));
        QCOMPARE(lib->category(cat->id)->name, QStringLiteral("Capitals"));
    }

    void removeCategoryTakesItsAnswersNotTheImages()
    {
        auto lib = Library::create(path(QStringLiteral("rm.magpie")), nullptr);
        QVERIFY(lib);
        const ImageId a = addImage(*lib, QStringLiteral("a.jpg")), b = addImage(*lib, QStringLiteral("b.jpg"));
        auto keep = lib->createCategory(QStringLiteral("rocks"), CategoryKind::Binary);
        auto gone = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet,
                                        {QStringLiteral("A"), QStringLiteral("B")});
        QVERIFY(keep && gone);
        QVERIFY(lib->answer({a, keep->id, 0, AnswerValue::Yes}));
        QVERIFY(lib->answer({a, gone->id, gone->classes[0].id, AnswerValue::Yes}));
        QVERIFY(lib->answer({b, gone->id, gone->classes[1].id, AnswerValue::No}));
        // its settings go, another's stay (ids 1 and 2: "category/2" must not take "category/21")
        QVERIFY(lib->setMeta(QStringLiteral("backbone/category/%1").arg(gone->id), QStringLiteral("letters")));
        QVERIFY(lib->setMeta(QStringLiteral("view/category/%1/zoom").arg(gone->id), QStringLiteral("2")));
        QVERIFY(lib->setMeta(QStringLiteral("backbone/category/%1").arg(keep->id), QStringLiteral("general")));
        QVERIFY(lib->setMeta(QStringLiteral("backbone/category/%1").arg(gone->id * 10 + 1), QStringLiteral("other")));
        // its models' files go: a fast head, a deep pass's backbone and the
        // archive's embeddings under it; the library backbone's embeddings stay
        QVERIFY(QDir().mkpath(lib->cacheDir() + QStringLiteral("/models")));
        const QString head = lib->cacheDir() + QStringLiteral("/models/cat%1-1.head").arg(gone->id);
        const QString mbb = lib->cacheDir() + QStringLiteral("/models/cat%1-1.mbb").arg(gone->id);
        const QString tunedEmbeddings = lib->cacheDir() + QStringLiteral("/embeddings-letters-v6-ft1.f16");
        const QString libraryEmbeddings = lib->cacheDir() + QStringLiteral("/embeddings-letters-v6.f16");
        for (const QString &f : {head, mbb, tunedEmbeddings, libraryEmbeddings}) {
            QFile file(f);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("x");
        }
        ModelVersion mv;
        mv.categoryId = gone->id;
        mv.backbone = QStringLiteral("letters-v6");
        mv.checkpointPath = head;
        QVERIFY(lib->addModelVersion(mv) > 0);
        mv.backbone = QStringLiteral("letters-v6-ft1");
        mv.metricsJson = QStringLiteral("{\"backbone_file\": \"%1\"}").arg(mbb);
        QVERIFY(lib->addModelVersion(mv) > 0);
        QCOMPARE(lib->decisionCount(), 3);

        // an answer given since the caller counted (and saved) them: nothing is deleted
        QVERIFY(!lib->removeCategory(gone->id, 1));
        QVERIFY(lib->category(gone->id));
        QCOMPARE(lib->answers(gone->id).size(), 2);
        QVERIFY2(lib->removeCategory(gone->id, 2), qPrintable(lib->lastError()));
        QVERIFY(!lib->category(gone->id));
        QCOMPARE(lib->categories().size(), 1);
        QCOMPARE(lib->imageCount(), 2);
        QCOMPARE(lib->answers(keep->id).size(), 1);
        QCOMPARE(lib->decisionCount(), 1); // the log keeps the other category's decision only
        QVERIFY(lib->modelVersions(gone->id).isEmpty());
        QVERIFY(!QFile::exists(head));
        QVERIFY(!QFile::exists(mbb));
        QVERIFY(!QFile::exists(tunedEmbeddings));
        QVERIFY(QFile::exists(libraryEmbeddings));
        QVERIFY(lib->meta(QStringLiteral("backbone/category/%1").arg(gone->id)).isEmpty());
        QVERIFY(lib->meta(QStringLiteral("view/category/%1/zoom").arg(gone->id)).isEmpty());
        QCOMPARE(lib->meta(QStringLiteral("backbone/category/%1").arg(keep->id)), QStringLiteral("general"));
        QCOMPARE(lib->meta(QStringLiteral("backbone/category/%1").arg(gone->id * 10 + 1)), QStringLiteral("other"));
        // undo reaches the other category's answer, never the deleted one's
        const auto undone = lib->undoLast();
        QVERIFY(undone);
        QCOMPARE(undone->answer.categoryId, keep->id);
        // a new category never gets the deleted one's id (it was the newest),
        // not even after reopening, so nothing keyed by it can reach the new one
        lib.reset();
        lib = Library::open(path(QStringLiteral("rm.magpie")), Library::Mode::ReadWrite, nullptr);
        QVERIFY(lib);
        auto fresh = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet,
                                         {QStringLiteral("A"), QStringLiteral("B")});
        QVERIFY(fresh);
        QCOMPARE(fresh->id, gone->id + 1);
        QVERIFY(lib->answers(fresh->id).isEmpty());
        QVERIFY(!lib->removeCategory(9999));
    }

    void answersAreCommittedAtOnce()
    {
        const QString p = path(QStringLiteral("d.magpie"));
        auto lib = Library::create(p, nullptr);
        QVERIFY(lib);
        const ImageId img = addImage(*lib, QStringLiteral("x.jpg"));
        auto cat = lib->createCategory(QStringLiteral("hands"), CategoryKind::Binary);
        QVERIFY(lib->answer({img, cat->id, 0, AnswerValue::Yes}));
        // a second, independent connection sees it without the first closing
        auto reader = Library::open(p, Library::Mode::ReadOnly, nullptr);
        QVERIFY(reader);
        QCOMPARE(reader->answers(cat->id).size(), 1);
    }

    void findByPath()
    {
        auto lib = Library::create(path(QStringLiteral("e.magpie")), nullptr);
        QVERIFY(lib);
        const ImageId a = addImage(*lib, QStringLiteral("sub/one.jpg"));
        addImage(*lib, QStringLiteral("two.jpg"));
        QCOMPARE(lib->findByPath(QStringLiteral("/archive/sub/one.jpg")), a);
        QCOMPARE(lib->findByPath(QStringLiteral("sub/one.jpg")), a);
        QCOMPARE(lib->findByPath(QStringLiteral("one.jpg")), a);
        QCOMPARE(lib->findByPath(QStringLiteral("nothing.jpg")), 0);
        QCOMPARE(lib->findByPath(QStringLiteral("%.jpg")), 0); // LIKE wildcards are literal
        // the name without its extension, as the GUI's titles show it, where it is unique
        QCOMPARE(lib->findByPath(QStringLiteral("one")), a);
        QCOMPARE(lib->findByPath(QStringLiteral("on")), 0);
        addImage(*lib, QStringLiteral("other/two.png"));
        QCOMPARE(lib->findByPath(QStringLiteral("two")), 0); // two.jpg and two.png: ambiguous
        QCOMPARE(lib->findByPath(QStringLiteral("o_e")), 0);
    }

    void collectionsAndModels()
    {
        auto lib = Library::create(path(QStringLiteral("f.magpie")), nullptr);
        QVERIFY(lib);
        const ImageId a = addImage(*lib, QStringLiteral("a.jpg"));
        const ImageId b = addImage(*lib, QStringLiteral("b.jpg"));
        const qint64 c = lib->createCollection(QStringLiteral("16 very sad girls"), QStringLiteral("Sad"));
        QVERIFY(c > 0);
        QVERIFY(lib->setCollectionItems(c, {b, a}));
        QCOMPARE(lib->collectionItems(c), (QVector<ImageId>{b, a}));
        QCOMPARE(lib->collections().first().itemCount, 2);
        auto cat = lib->createCategory(QStringLiteral("rocks"), CategoryKind::Binary);
        ModelVersion m;
        m.categoryId = cat->id;
        m.backbone = QStringLiteral("mobilenet_v2-block10");
        m.metricsJson = QStringLiteral("{\"accuracy\":0.9}");
        QVERIFY(lib->addModelVersion(m) > 0);
        QCOMPARE(lib->modelVersions(cat->id).size(), 1);
    }
};

QTEST_GUILESS_MAIN(tst_Library)
#include "tst_library.moc"
