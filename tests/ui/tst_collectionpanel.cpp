// The Collections tab: a collection from yes-answers, the live preview, drag to reorder.
#include "core/collections.h"
#include "core/importer.h"
#include "core/library.h"
#include "ui/collectionpanel.h"
#include "ui/mapview.h"

#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace magpie;

namespace {
// The centre, on the preview, of the k-th cell that holds an image.
QPoint centreOfCell(const magpie::SheetPreview *preview, int k)
{
    const magpie::SheetGeometry g = magpie::sheetGeometry(preview->job());
    const QTransform t = magpie::sheetTransform(g, QRectF(preview->rect()).adjusted(16, 16, -16, -16));
    const int item = preview->itemsInCellOrder()[k];
    const int cell = preview->job().itemAtCell.isEmpty() ? item : int(preview->job().itemAtCell.indexOf(item));
    return t.map(g.imageRects[cell].center()).toPoint();
}
} // namespace

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

        // the sheet opens "similar together": the order on screen is not the collection's
        auto *order = panel.findChild<QComboBox *>(QStringLiteral("order"));
        QVERIFY(order);
        QCOMPARE(order->currentIndex(), 0);
        const auto shownIds = [&] {
            QVector<ImageId> out;
            for (int item : preview->itemsInCellOrder())
                out << preview->job().items[item].id;
            return out;
        };
        const QVector<ImageId> before = shownIds();
        QCOMPARE(before.size(), 9);

        // drag the image in the first cell onto the one in the fifth: that image
        // alone moves; the rest keep their places on screen (they used to jump to
        // the collection's stored order)
        QSignalSpy spy(preview, &SheetPreview::moved);
        const auto cellCentre = [&](int k) { return centreOfCell(preview, k); };
        QTest::mousePress(preview, Qt::LeftButton, {}, cellCentre(0));
        QCOMPARE(preview->dropTarget(), -1); // over its own cell: nowhere to go yet
        QTest::mouseMove(preview, cellCentre(4));
        QCOMPARE(preview->dropTarget(), preview->itemsInCellOrder()[4]); // the cell it would take is shown
        QTest::mouseRelease(preview, Qt::LeftButton, {}, cellCentre(4));
        QCOMPARE(preview->dropTarget(), -1);
        QCOMPARE(spy.count(), 1);
        QVector<ImageId> expected = before;
        expected.move(0, 4);
        QCOMPARE(shownIds(), expected);
        QCOMPARE(order->currentIndex(), 1); // the person's order from now on
        {
            auto lib = Library::open(path, Library::Mode::ReadOnly, nullptr);
            QCOMPARE(lib->collectionItems(colId), expected);
        }

        // Delete removes the selected image; Ctrl+Z brings it back in its place
        preview->setFocus();
        preview->selectImage(expected[2]);
        QTest::keyClick(preview, Qt::Key_Delete);
        QCOMPARE(preview->job().items.size(), 8);
        QVERIFY(!shownIds().contains(expected[2]));
        QCOMPARE(preview->selectedImage(), expected[3]); // the next one is selected
        QTest::keyClick(preview, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(shownIds(), expected);
        QCOMPARE(preview->selectedImage(), expected[2]); // the image that came back
        {
            auto lib = Library::open(path, Library::Mode::ReadOnly, nullptr);
            QCOMPARE(lib->collectionItems(colId), expected);
        }
        // Ctrl+Right moves the selected image one cell on (the keyboard's drag); Ctrl+Z undoes it
        preview->selectImage(expected[5]);
        QTest::keyClick(preview, Qt::Key_Right, Qt::ControlModifier);
        QVector<ImageId> nudged = expected;
        nudged.move(5, 6);
        QCOMPARE(shownIds(), nudged);
        QCOMPARE(preview->selectedImage(), expected[5]); // it stays selected
        QTest::keyClick(preview, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(shownIds(), expected);
        // so does the move: undone, the stored order is as it was
        QTest::keyClick(preview, Qt::Key_Z, Qt::ControlModifier);
        {
            auto lib = Library::open(path, Library::Mode::ReadOnly, nullptr);
            QCOMPARE(lib->collectionItems(colId), ids);
        }
        QCOMPARE(order->currentIndex(), 0); // and its order mode: similar together again

        // Delete on the "similar together" sheet: the others keep their places
        // and those after the gap close up (a new arrangement moved them all)
        {
            const QVector<ImageId> similar = shownIds();
            preview->setFocus();
            preview->selectImage(similar[3]);
            QTest::keyClick(preview, Qt::Key_Delete);
            QVector<ImageId> closed = similar;
            closed.remove(3);
            QCOMPARE(shownIds(), closed);
            QCOMPARE(order->currentIndex(), 1); // the order on screen is the collection's own now
            QTest::keyClick(preview, Qt::Key_Z, Qt::ControlModifier);
            QCOMPARE(order->currentIndex(), 0); // undone: similar together, as it was
            QCOMPARE(shownIds(), similar);
        }

        // the arranged order belongs to that collection: another one opens similar together
        {
            auto lib = Library::open(path, Library::Mode::ReadWrite, nullptr);
            const qint64 other = lib->createCollection(QStringLiteral("three"));
            QCOMPARE(collections::add(*lib, other, ids.mid(0, 3)), 3);
        }
        panel.reload();
        auto *list = panel.findChild<QListWidget *>();
        for (int r = 0; r < list->count(); ++r)
            if (list->item(r)->text().startsWith(QStringLiteral("three")))
                list->setCurrentRow(r);
        QCOMPARE(preview->job().items.size(), 3);
        QCOMPARE(order->currentIndex(), 0);

        // the sheet changes under a drag (Delete while the button is held): the drag ends, nothing moves
        const auto centre3 = [&](int k) { return centreOfCell(preview, k); };
        const int movesBefore = int(spy.count());
        preview->setFocus();
        QTest::mousePress(preview, Qt::LeftButton, {}, centre3(0));
        QTest::mouseMove(preview, centre3(2));
        QVERIFY(preview->dropTarget() >= 0);
        QTest::keyClick(preview, Qt::Key_Delete);
        QCOMPARE(preview->job().items.size(), 2);
        QCOMPARE(preview->dropTarget(), -1);
        preview->repaint(); // paints without the dragged item that is gone
        QTest::mouseRelease(preview, Qt::LeftButton, {}, centre3(1));
        QCOMPARE(int(spy.count()), movesBefore);
    }

    void anotherLibraryShowsNothingOfTheOne()
    {
        // From a library with a collection shown to one with none: no title,
        // settings or Delete of the collection before, and Ctrl+Z does not
        // reach into the new library with the old one's steps.
        QTemporaryDir tmp;
        const QString first = tmp.filePath(QStringLiteral("a.magpie")), second = tmp.filePath(QStringLiteral("b.magpie"));
        qint64 col = 0;
        QVector<ImageId> ids;
        {
            auto lib = Library::create(first, nullptr);
            QVERIFY(lib);
            QVERIFY(importFolder(*lib, QStringLiteral(MAGPIE_SAMPLE_DIR "/themes")).error.isEmpty());
            ids = lib->imageIds(ImageStatus::Ok, 4);
            col = lib->createCollection(QStringLiteral("portraits"), QStringLiteral("4 portraits"));
            QVERIFY(collections::setTitleCounts(*lib, col, true)); // as "+ From a category's yes-answers" makes it
            QCOMPARE(collections::add(*lib, col, ids), 4);
            auto other = Library::create(second, nullptr);
            QVERIFY(other);
            QVERIFY(importFolder(*other, QStringLiteral(MAGPIE_SAMPLE_DIR "/themes")).error.isEmpty());
        }
        CollectionPanel panel;
        panel.resize(1200, 800);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setLibrary(first);
        auto *preview = panel.findChild<SheetPreview *>();
        auto *title = panel.findChild<QLineEdit *>();
        QVERIFY(preview && title);
        QCOMPARE(title->text(), QStringLiteral("4 portraits"));
        // a removal names the new count (the title was made counting)
        preview->setFocus();
        preview->selectImage(ids[1]);
        QTest::keyClick(preview, Qt::Key_Delete);
        QCOMPARE(preview->job().items.size(), 3);
        QCOMPARE(title->text(), QStringLiteral("3 portraits"));
        QCOMPARE(preview->job().title, QStringLiteral("3 portraits"));

        // the other library has the same collection id free: make one there
        qint64 same = 0;
        {
            auto lib = Library::open(second, Library::Mode::ReadWrite, nullptr);
            panel.setLibrary(second); // none yet
            QVERIFY(title->text().isEmpty());
            QVERIFY(!title->isEnabled());
            bool deleteEnabled = true;
            for (QPushButton *b : panel.findChildren<QPushButton *>())
                if (b->text() == QStringLiteral("Delete"))
                    deleteEnabled = b->isEnabled();
            QVERIFY(!deleteEnabled);
            same = lib->createCollection(QStringLiteral("mine"), QStringLiteral("Mine"));
            QCOMPARE(same, col);
            QCOMPARE(collections::add(*lib, same, ids.mid(2, 2)), 2);
        }
        panel.reload();
        QCOMPARE(title->text(), QStringLiteral("Mine"));
        QVERIFY(title->isEnabled());
        preview->setFocus();
        QTest::keyClick(preview, Qt::Key_Z, Qt::ControlModifier); // the first library's removal is not undone here
        auto lib = Library::open(second, Library::Mode::ReadOnly, nullptr);
        QCOMPARE(lib->collectionItems(same), ids.mid(2, 2));
    }

    // The Map tab: every image of the sample archive, placed off the UI thread;
    // a click selects one, a double click asks for more like it
    void mapShowsTheArchive()
    {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("m.magpie"));
        qint64 images = 0;
        {
            auto lib = Library::create(path, nullptr);
            QVERIFY(lib);
            QVERIFY(importFolder(*lib, QStringLiteral(MAGPIE_SAMPLE_DIR "/themes")).error.isEmpty());
            images = lib->imageIds(ImageStatus::Ok).size();
        }
        MapView map;
        map.resize(900, 700);
        map.setLibrary(path);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        QTRY_COMPARE_WITH_TIMEOUT(map.imageCount(), int(images), 30000);
        QCOMPARE(map.selectedImage(), ImageId(0));
        const QPoint at = map.imageCentre(int(images) - 1).toPoint(); // the topmost
        QTest::mouseClick(&map, Qt::LeftButton, {}, at);
        QVERIFY(map.selectedImage() != 0);
        QSignalSpy like(&map, &MapView::moreLikeThisRequested);
        QTest::mouseDClick(&map, Qt::LeftButton, {}, at);
        QCOMPARE(like.size(), 1);
        QCOMPARE(like.first().first().value<ImageId>(), map.selectedImage());
    }
};

QTEST_MAIN(tst_CollectionPanel)
#include "tst_collectionpanel.moc"
