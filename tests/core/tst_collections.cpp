// Collections in the library: sources, add/remove/reorder, captions, and a
// print job made from one (core/collections.h, printexport's printJobFromCollection).
#include "core/collections.h"
#include "core/library.h"
#include "core/printexport.h"

#include <QTemporaryDir>
#include <QTest>

using namespace magpie;

class TestCollections : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<Library> m_lib;
    QVector<ImageId> m_ids;

private Q_SLOTS:
    void init()
    {
        QString err;
        QFile::remove(m_dir.filePath(QStringLiteral("c.magpie")));
        QDir(m_dir.filePath(QStringLiteral("c.magpie-cache"))).removeRecursively();
        m_lib = Library::create(m_dir.filePath(QStringLiteral("c.magpie")), &err);
        QVERIFY2(m_lib, qPrintable(err));
        const qint64 root = m_lib->addRoot(m_dir.filePath(QStringLiteral("archive")));
        QVector<ImageRecord> rows;
        for (int i = 0; i < 6; ++i) {
            ImageRecord r;
            r.rootId = root;
            r.relPath = QStringLiteral("sub/img_%1.jpg").arg(i);
            r.hash = QByteArray::number(i).toHex();
            r.width = 300 + i;
            r.height = 200;
            r.format = QStringLiteral("jpeg");
            rows << r;
        }
        QVERIFY(m_lib->writeImages(rows));
        m_ids.clear();
        for (const ImageRecord &r : rows)
            m_ids << r.id;
    }
    void cleanup() { m_lib.reset(); }

    void fromYesAnswers()
    {
        const auto cat = m_lib->createCategory(QStringLiteral("sad"), CategoryKind::Binary);
        QVERIFY(cat);
        for (int i = 0; i < 6; ++i) {
            Answer a;
            a.imageId = m_ids[i];
            a.categoryId = cat->id;
            a.value = i % 2 ? AnswerValue::Yes : (i == 0 ? AnswerValue::Skip : AnswerValue::No);
            QVERIFY(m_lib->answer(a));
        }
        QCOMPARE(collections::yesImages(*m_lib, *cat), (QVector<ImageId>{m_ids[1], m_ids[3], m_ids[5]}));
    }

    void resolveIdsAndPaths()
    {
        QStringList unresolved;
        const QVector<ImageId> got = collections::resolveImages(
            *m_lib,
            {QString::number(m_ids[2]), QStringLiteral("sub/img_4.jpg"), QStringLiteral("img_5.jpg"),
             m_dir.filePath(QStringLiteral("archive/sub/img_0.jpg")), QStringLiteral("nope.jpg"),
             QStringLiteral("99999")},
            &unresolved);
        QCOMPARE(got, (QVector<ImageId>{m_ids[2], m_ids[4], m_ids[5], m_ids[0]}));
        QCOMPARE(unresolved, (QStringList{QStringLiteral("nope.jpg"), QStringLiteral("99999")}));
    }

    void numberThatIsAlsoAFileNameIsNotGuessed()
    {
        // Scans are often numbered: "3" is image id 3 and also some other image's 3.jpg.
        ImageRecord r;
        r.rootId = m_lib->roots().keys().first();
        r.relPath = QStringLiteral("pages/%1.jpg").arg(m_ids[2]);
        r.hash = QByteArrayLiteral("0ddba11");
        r.width = r.height = 100;
        r.format = QStringLiteral("jpeg");
        QVector<ImageRecord> rows{r};
        QVERIFY(m_lib->writeImages(rows));
        const ImageId page = rows.first().id;
        QVERIFY(page != m_ids[2]);
        const QString number = QString::number(m_ids[2]);
        QStringList unresolved;
        QVERIFY(collections::resolveImages(*m_lib, {number}, &unresolved).isEmpty());
        QCOMPARE(unresolved.size(), 1);
        QVERIFY2(unresolved.first().contains(QLatin1String("ambiguous")) && unresolved.first().contains(QLatin1String("id:")),
                 qPrintable(unresolved.first()));
        // either said plainly
        QCOMPARE(collections::resolveImages(*m_lib, {QStringLiteral("id:") + number}, nullptr), (QVector<ImageId>{m_ids[2]}));
        QCOMPARE(collections::resolveImages(*m_lib, {number + QStringLiteral(".jpg")}, nullptr), (QVector<ImageId>{page}));
    }

    void addRemoveReorder()
    {
        const qint64 c = m_lib->createCollection(QStringLiteral("plate"), QStringLiteral("A plate of A's"));
        QVERIFY(c);
        QCOMPARE(collections::add(*m_lib, c, {m_ids[0], m_ids[1], m_ids[2]}), 3);
        QCOMPARE(collections::add(*m_lib, c, {m_ids[1], m_ids[3]}), 1); // already there: kept in place
        QCOMPARE(m_lib->collectionItems(c), (QVector<ImageId>{m_ids[0], m_ids[1], m_ids[2], m_ids[3]}));
        QVERIFY(collections::setCaption(*m_lib, c, m_ids[2], QStringLiteral("the third")));
        QVERIFY(collections::move(*m_lib, c, 2, 0));
        QCOMPARE(m_lib->collectionItems(c), (QVector<ImageId>{m_ids[2], m_ids[0], m_ids[1], m_ids[3]}));
        QCOMPARE(m_lib->collectionEntries(c).first().caption,
                 QStringLiteral("the third")); // caption moves along
        QVERIFY(!collections::move(*m_lib, c, 0, 9));
        QVERIFY(collections::reorder(*m_lib, c, {3, 2, 1, 0}));
        QCOMPARE(m_lib->collectionItems(c), (QVector<ImageId>{m_ids[3], m_ids[1], m_ids[0], m_ids[2]}));
        QVERIFY(!collections::reorder(*m_lib, c, {0, 0, 1, 2})); // not a permutation
        QCOMPARE(collections::remove(*m_lib, c, {m_ids[1], m_ids[5]}), 1);
        QCOMPARE(m_lib->collectionItems(c), (QVector<ImageId>{m_ids[3], m_ids[0], m_ids[2]}));
        QVERIFY(m_lib->setCollectionTitle(c, QStringLiteral("New"), QStringLiteral("sub")));
        const auto info = collections::find(*m_lib, QStringLiteral("plate"));
        QVERIFY(info);
        QCOMPARE(info->title, QStringLiteral("New"));
        QCOMPARE(info->itemCount, 3);
        // laid out similar together unless it keeps its own order (a ranking, or arranged by hand)
        QVERIFY(!collections::keepsOwnOrder(*m_lib, c));
        QVERIFY(collections::setKeepsOwnOrder(*m_lib, c, true));
        QVERIFY(collections::keepsOwnOrder(*m_lib, c));
        QVERIFY(m_lib->removeCollection(c));
        QVERIFY(!collections::find(*m_lib, QStringLiteral("plate")));
        QVERIFY(m_lib->collectionEntries(c).isEmpty());
        QVERIFY(!collections::keepsOwnOrder(*m_lib, c)); // a new collection with this id starts afresh
    }

    void aCountingTitleFollowsTheCount()
    {
        // "4 sad" made from the category "sad" says how many it holds: a
        // removal, an addition or an undo keeps it true. A title the person
        // wrote ("3 Graces", or a number that is not the count) stays.
        const qint64 c = m_lib->createCollection(QStringLiteral("sad"), QStringLiteral("4 sad"));
        QVERIFY(collections::setTitleCounts(*m_lib, c, true));
        QCOMPARE(collections::add(*m_lib, c, m_ids.mid(0, 4)), 4);
        const auto title = [&](const QString &name) { return collections::find(*m_lib, name)->title; };
        QCOMPARE(title(QStringLiteral("sad")), QStringLiteral("4 sad")); // from 0: not a count it named
        QCOMPARE(collections::remove(*m_lib, c, {m_ids[1]}), 1);
        QCOMPARE(title(QStringLiteral("sad")), QStringLiteral("3 sad"));
        QCOMPARE(collections::add(*m_lib, c, {m_ids[4], m_ids[5]}), 2);
        QCOMPARE(title(QStringLiteral("sad")), QStringLiteral("5 sad"));
        QVERIFY(collections::reorder(*m_lib, c, {4, 3, 2, 1, 0}));
        QCOMPARE(title(QStringLiteral("sad")), QStringLiteral("5 sad"));
        // a second collection of the same category: "sad (2)"
        const qint64 c2 = m_lib->createCollection(QStringLiteral("sad (2)"), QStringLiteral("2 sad"));
        QVERIFY(collections::setTitleCounts(*m_lib, c2, true));
        QCOMPARE(collections::add(*m_lib, c2, m_ids.mid(0, 2)), 2);
        QCOMPARE(collections::remove(*m_lib, c2, {m_ids[0]}), 1);
        QCOMPARE(title(QStringLiteral("sad (2)")), QStringLiteral("1 sad"));
        // the person's own titles
        const qint64 g = m_lib->createCollection(QStringLiteral("Graces"), QStringLiteral("3 Graces"));
        QCOMPARE(collections::add(*m_lib, g, m_ids.mid(0, 3)), 3);
        QCOMPARE(collections::remove(*m_lib, g, {m_ids[0]}), 1);
        QCOMPARE(title(QStringLiteral("Graces")), QStringLiteral("3 Graces")); // its name and count alike, not marked
        QVERIFY(m_lib->setCollectionTitle(c, QStringLiteral("12 sad"), QString()));
        QCOMPARE(collections::remove(*m_lib, c, {m_ids[0]}), 1);
        QCOMPARE(title(QStringLiteral("sad")), QStringLiteral("12 sad"));
    }

    void captionsAndPrintJob()
    {
        const qint64 c =
            m_lib->createCollection(QStringLiteral("faces"), QStringLiteral("Faces"), QStringLiteral("sub"));
        QCOMPARE(collections::add(*m_lib, c, {m_ids[0], m_ids[1]}), 2);
        QVERIFY(collections::setCaption(*m_lib, c, m_ids[1], QStringLiteral("own caption")));
        const CollectionItem first = m_lib->collectionEntries(c).first();
        QCOMPARE(collections::caption(*m_lib, first), QStringLiteral("img_0.jpg"));
        QCOMPARE(collections::caption(*m_lib, first, collections::CaptionSource::RelPath),
                 QStringLiteral("sub/img_0.jpg"));
        QCOMPARE(collections::caption(*m_lib, first, collections::CaptionSource::RootAndPath),
                 QStringLiteral("archive/sub/img_0.jpg"));

        const PrintJob job =
            printJobFromCollection(*m_lib, *collections::find(*m_lib, QStringLiteral("faces")), {});
        QCOMPARE(job.title, QStringLiteral("Faces"));
        QCOMPARE(job.subtitle, QStringLiteral("sub"));
        QCOMPARE(job.items.size(), 2);
        QCOMPARE(job.items[0].caption, QStringLiteral("img_0.jpg"));
        QCOMPARE(job.items[1].caption, QStringLiteral("own caption"));
        QCOMPARE(job.items[0].pixelSize, QSize(300, 200));
        QVERIFY(job.items[0].sourcePath.endsWith(QStringLiteral("archive/sub/img_0.jpg")));
    }
};

QTEST_GUILESS_MAIN(TestCollections)
#include "tst_collections.moc"
