#pragma once

#include <atomic>

#include "core/types.h"

#include <QFutureWatcher>
#include <QImage>
#include <QPointF>
#include <QVector>
#include <QWidget>

namespace magpie {

// The Map tab: the archive (a sample of up to 2,000 images) as thumbnails
// placed so that similar pictures lie near each other (core's mapArchive()).
// It is made on a worker thread when the tab is first shown and after
// "Redraw"; the wheel zooms about the pointer, a drag pans, a click selects an
// image (its name goes to the status bar), a double click asks for "more like
// this", and 0 fits the whole map again.
//
// Thread contract: UI thread; the map and its thumbnails are made on the
// global thread pool with a library connection of that thread's own.
class MapView : public QWidget
{
    Q_OBJECT
public:
    explicit MapView(QWidget *parent = nullptr);
    ~MapView() override;
    void setLibrary(const QString &path);
    // Makes the map again (new images, new embeddings); at once if shown, else when next shown.
    void refresh();
    ImageId selectedImage() const { return m_selected; }
    int imageCount() const { return int(m_items.size()); }
    bool isBusy() const { return m_watcher.isRunning(); }
    // Where the index-th image is drawn now, in widget coordinates (tests, automation).
    QPointF imageCentre(int index) const { return itemRect(m_items.value(index)).center(); }

    struct Item
    {
        ImageId id = 0;
        QPointF pos; // [0, 1] x [0, 1]
        QImage thumb;
        QString name;
    };
    struct Result
    {
        QVector<Item> items;
        qint64 archiveImages = 0;
        QString source;
        QString error;
    };

Q_SIGNALS:
    void message(const QString &text);
    void moreLikeThisRequested(ImageId image);

protected:
    void showEvent(QShowEvent *e) override;
    void paintEvent(QPaintEvent *) override;
    void wheelEvent(QWheelEvent *e) override;
    void mousePressEvent(QMouseEvent *e) override;
    void mouseMoveEvent(QMouseEvent *e) override;
    void mouseReleaseEvent(QMouseEvent *e) override;
    void mouseDoubleClickEvent(QMouseEvent *e) override;
    void keyPressEvent(QKeyEvent *e) override;

private:
    void start();
    QRectF itemRect(const Item &it) const; // in widget coordinates
    int itemAt(const QPointF &pos) const;  // topmost, or -1
    void select(int index);

    QString m_path;
    QString m_jobPath; // the library the running job maps
    bool m_stale = true;
    QVector<Item> m_items;
    qint64 m_archiveImages = 0;
    QString m_source;
    QFutureWatcher<Result> m_watcher;
    std::atomic<bool> m_cancel{false};
    double m_zoom = 1.0;
    QPointF m_pan;        // widget offset of the map's origin
    QPointF m_pressAt;
    QPointF m_panAtPress;
    bool m_dragging = false;
    ImageId m_selected = 0;
};

} // namespace magpie
