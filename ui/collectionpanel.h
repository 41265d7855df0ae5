#pragma once

#include "core/printexport.h"
#include "core/types.h"

#include <QFutureWatcher>
#include <QHash>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace magpie {

// The print sheet exactly as it will be exported (paintSheet() with the
// cached thumbnails). Drag a cell onto another to move that image there (the
// cell it would take is framed while dragging, the image follows the
// pointer); a click selects an image (arrow keys move the selection,
// Ctrl+arrows move the image itself), Delete removes it, and the context menu
// offers "more like this".
class SheetPreview : public QWidget
{
    Q_OBJECT
public:
    explicit SheetPreview(QWidget *parent = nullptr);
    // `thumbnails` by image id stand in for the sources (null: placeholder).
    // The selection stays on the same image where it is still there.
    void setJob(const PrintJob &job, const QHash<ImageId, QImage> &thumbnails);
    const PrintJob &job() const { return m_job; }
    // The items in the order of the cells they are shown in.
    QVector<int> itemsInCellOrder() const;
    ImageId selectedImage() const;
    void selectImage(ImageId id);
    // While dragging: the item whose cell the dragged image would take; else -1.
    int dropTarget() const { return m_dragItem >= 0 ? m_dropItem : -1; }

Q_SIGNALS:
    // The item shown in cell `from` was dropped on cell `to`.
    void moved(int fromItem, int toItem);
    void removeRequested(ImageId image);
    void moreLikeThisRequested(ImageId image);

protected:
    void paintEvent(QPaintEvent *) override;
    void mousePressEvent(QMouseEvent *e) override;
    void mouseReleaseEvent(QMouseEvent *e) override;
    void mouseMoveEvent(QMouseEvent *e) override;
    void keyPressEvent(QKeyEvent *e) override;
    void contextMenuEvent(QContextMenuEvent *e) override;

private:
    int itemAt(const QPointF &pos) const;
    int cellOf(int item) const;
    int itemInCell(int cell) const;
    PrintJob m_job;
    QHash<ImageId, QImage> m_thumbs;
    // the cell of `item` on the widget; empty when it has none
    QRectF cellRect(int item) const;
    int m_dragItem = -1;
    int m_dropItem = -1;   // the cell under the pointer while dragging
    QPointF m_dragPos;
    ImageId m_selected = 0;
};

// Collections: made from a category's yes-answers, laid out as a grid that
// keeps similar images together, previewed as the printed sheet and exported
// (PDF, PNG, TIFF, or a folder) with a progress bar.
//
// Thread contract: UI thread. Reads and writes the library through short-
// lived connections of its own; exports run on the global thread pool.
class CollectionPanel : public QWidget
{
    Q_OBJECT
public:
    explicit CollectionPanel(QWidget *parent = nullptr);
    void setLibrary(const QString &path);
    // Reads the collections again; `select` (an id) becomes the current one,
    // else the current one stays.
    void reload(qint64 select = 0);
    bool isExporting() const { return m_export.isRunning(); }
    // The image selected on the sheet (0: none).
    ImageId selectedImage() const;
    void cancelExport();

Q_SIGNALS:
    void message(const QString &text);
    void moreLikeThisRequested(ImageId image);

private:
    // Edits of a collection's items (move, remove) keep what was there
    // before, so Ctrl+Z in the panel brings it back.
    void pushUndo();
    void undo();
    void removeImage(ImageId image);
    void setOrderMode(int index); // 0 similar together, 1 the collection's order; kept per collection
    void createFromCategory();
    void removeCurrent();
    void showCollection();
    void relayout();
    void exportCurrent();
    PrintOptions options() const;
    qint64 currentId() const;

    QString m_path;
    QListWidget *m_list = nullptr;
    SheetPreview *m_preview = nullptr;
    QLineEdit *m_title = nullptr;
    QLineEdit *m_subtitle = nullptr;
    QComboBox *m_paper = nullptr;
    QComboBox *m_orientation = nullptr;
    QComboBox *m_fit = nullptr;
    QComboBox *m_order = nullptr;
    QComboBox *m_format = nullptr;
    QCheckBox *m_captions = nullptr;
    QCheckBox *m_titleBlock = nullptr;
    QDoubleSpinBox *m_gutter = nullptr;
    QDoubleSpinBox *m_margin = nullptr;
    QSpinBox *m_dpi = nullptr;
    QLabel *m_layoutInfo = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_exportButton = nullptr;
    QWidget *m_controls = nullptr;     // the sheet's settings and export: off while no collection is shown
    QPushButton *m_removeButton = nullptr;
    QFutureWatcher<PrintExportResult> m_export;
    struct UndoStep
    {
        qint64 collection = 0;
        QVector<CollectionItem> entries;
        bool ownOrder = false; // its order mode then (a drag on the similar sheet changes it)
    };
    QVector<UndoStep> m_undo;
};

} // namespace magpie
