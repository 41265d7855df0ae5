#pragma once

#include "ui/keymap.h"

#include <QElapsedTimer>
#include <QPixmap>
#include <QPointer>
#include <QVariantAnimation>
#include <QWidget>

namespace magpie {

class SwipeController;

// One large image at a time on a calm dark surround, with the model's guess,
// the queue mode and the keys. Keys and drags answer through the controller;
// the next image is painted at once and the old card flies off on top of it.
//
// Latency: every key or swipe that changes the image is timed from the
// moment the event reaches the view to the end of the paint that shows the
// next image (latencies()).
class SwipeView : public QWidget
{
    Q_OBJECT
public:
    explicit SwipeView(SwipeController *controller, QWidget *parent = nullptr);

    void setKeymap(const Keymap &keymap) { m_keymap = keymap; }
    const Keymap &keymap() const { return m_keymap; }
    // Milliseconds from input to the end of the paint that showed the result.
    const QVector<double> &latencies() const { return m_latencies; }
    void clearLatencies() { m_latencies.clear(); }
    // Paints shown with no image (blank or still decoding) since the last clear.
    int stalePaints() const { return m_stalePaints; }
    void clearStalePaints() { m_stalePaints = 0; }
    // The size the current picture is painted at (empty when there is none).
    QSize shownSize() const { return m_scaled.isNull() ? QSize() : m_scaled.deviceIndependentSize().toSize(); }
    // What the empty state says (no library, no category, nothing left...).
    void setEmptyHint(const QString &title, const QString &detail);

Q_SIGNALS:
    void requestImport();
    void requestNewCategory();

protected:
    void paintEvent(QPaintEvent *) override;
    void keyPressEvent(QKeyEvent *e) override;
    void mousePressEvent(QMouseEvent *e) override;
    void mouseMoveEvent(QMouseEvent *e) override;
    void mouseReleaseEvent(QMouseEvent *e) override;
    void resizeEvent(QResizeEvent *e) override;
    bool focusNextPrevChild(bool) override { return false; } // Tab cycles the queue mode

private:
    void onCurrentChanged();
    void rescale();
    void startFlyOff(int direction, const QColor &tint);
    QRect imageRect(const QSize &imageSize) const; // an image of that size fitted into imageBox(), centred
    QRect centred(const QSize &shown) const;       // a picture already fitted, centred in imageBox()
    QRect imageBox() const;
    void paintCard(QPainter &p, const QPixmap &pm, const QRect &r, qreal dx, qreal angle, const QColor &tint, qreal tintAlpha);
    void paintOverlay(QPainter &p);
    void paintEmpty(QPainter &p);
    void paintError(QPainter &p);
    void markInput();

    SwipeController *m_c;
    Keymap m_keymap;
    QPixmap m_scaled;          // current image scaled to the view, made once per image/size
    qint64 m_scaledFor = 0;
    QSize m_scaledSize;
    bool m_zoom = false;
    QPointF m_zoomCenter{0.5, 0.5};

    // drag to swipe
    bool m_dragging = false;
    QPoint m_pressPos;
    qreal m_dragDx = 0;

    // the previous card flying off over the new one
    QPixmap m_flyPixmap;
    QRect m_flyRect;
    int m_flyDir = 0;
    QColor m_flyTint;
    qreal m_flyT = 1.0;
    QVariantAnimation m_fly;

    QString m_emptyTitle;
    QString m_emptyDetail;

    QElapsedTimer m_clock;
    qint64 m_inputAtNs = -1;
    QVector<double> m_latencies;
    int m_stalePaints = 0;
};

} // namespace magpie
