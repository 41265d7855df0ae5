// The Collections tab: a collection from yes-answers, the live preview, drag to reorder.
#include "core/collections.h"
#include "core/importer.h"
#include "core/library.h"
#include "ui/collectionpanel.h"

#include <QListWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace magpie;

class tst_CollectionPanel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void previewAndReorder()
    {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("c.magpie"));
        qint64 colId = 0;
        QVector<ImageId> ids;
        {
            auto lib = Library::create(path, nullptr);
            QVERIFY(lib);
            QVERIFY(importFolder(*lib, QStringLiteral(MAGPIE_SAMPLE_DIR "/themes")).error.isEmpty());
            auto cat = lib->createCategory(QStringLiteral("picks"), CategoryKind::Binary);
            ids = lib->imageIds(ImageStatus::Ok, 9);
            for (ImageId id : ids)
                QVERIFY(lib->answer({id, cat->id, 0, AnswerValue::Yes}));
            QCOMPARE(collections::yesImages(*lib, *cat).size(), 9);
            colId = lib->createCollection(QStringLiteral("nine"), QStringLiteral("Nine picks"));
            QCOMPARE(collections::add(*lib, colId, ids), 9);
        }
        CollectionPanel panel;
        panel.resize(1200, 800);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setLibrary(path);
        auto *preview = panel.findChild<SheetPreview *>();
        QVERIFY(preview);
        QCOMPARE(preview->job().items.size(), 9);
        QCOMPARE(preview->job().title, QStringLiteral("Nine picks"));
        // the preview is the sheet: it paints real pixels, not the empty state
        const QImage shot = preview->grab().toImage();
        QVERIFY(!shot.isNull());

        // drag item 0 onto item 4: the collection's order changes in the library
        QSignalSpy spy(preview, &SheetPreview::moved);
        const SheetGeometry g = sheetGeometry(preview->job());
        const QTransform t = sheetTransform(g, QRectF(preview->rect()).adjusted(16, 16, -16, -16));
        const auto cellCentre = [&](int item) {
            const int cell = preview->job().itemAtCell.isEmpty() ? item : int(preview->job().itemAtCell.indexOf(item));
            return t.map(g.imageRects[cell].center()).toPoint();
        };
        QTest::mousePress(preview, Qt::LeftButton, {}, cellCentre(0));
        QTest::mouseRelease(preview, Qt::LeftButton, {}, cellCentre(4));
        QCOMPARE(spy.count(), 1);
        auto lib = Library::open(path, Library::Mode::ReadOnly, nullptr);
        const QVector<ImageId> order = lib->collectionItems(colId);
        QCOMPARE(order.size(), 9);
        QVERIFY(order != ids);                 // moved
        QCOMPARE(order.indexOf(ids[0]), 4);    // the dragged image took the target's place
    }
};

QTEST_MAIN(tst_CollectionPanel)
#include "tst_collectionpanel.moc"
