#pragma once

#include "core/printexport.h"

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
// cached thumbnails). Drag a cell onto another to move that image there.
class SheetPreview : public QWidget
{
    Q_OBJECT
public:
    explicit SheetPreview(QWidget *parent = nullptr);
    // `thumbnails` by image id stand in for the sources (null: placeholder).
    void setJob(const PrintJob &job, const QHash<ImageId, QImage> &thumbnails);
    const PrintJob &job() const { return m_job; }

Q_SIGNALS:
    // The item shown in cell `from` was dropped on cell `to`.
    void moved(int fromItem, int toItem);

protected:
    void paintEvent(QPaintEvent *) override;
    void mousePressEvent(QMouseEvent *e) override;
    void mouseReleaseEvent(QMouseEvent *e) override;

private:
    int itemAt(const QPointF &pos) const;
    PrintJob m_job;
    QHash<ImageId, QImage> m_thumbs;
    int m_dragItem = -1;
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
    void cancelExport();

Q_SIGNALS:
    void message(const QString &text);

private:
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
    QFutureWatcher<PrintExportResult> m_export;
};

} // namespace magpie
