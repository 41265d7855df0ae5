#pragma once

#include <QHash>
#include <QImage>
#include <QWidget>

namespace magpie {

class SwipeController;

// The newest decisions as small thumbnails with their answer; a click opens
// a menu to change that answer.
class HistoryStrip : public QWidget
{
    Q_OBJECT
public:
    explicit HistoryStrip(SwipeController *controller, QWidget *parent = nullptr);
    QSize sizeHint() const override { return {800, 92}; }
    int visibleCount() const;
    int indexAt(const QPoint &pos) const;

protected:
    void paintEvent(QPaintEvent *) override;
    void mousePressEvent(QMouseEvent *e) override;

private:
    QImage thumbFor(qint64 id, const QByteArray &hash);
    SwipeController *m_c;
    QHash<qint64, QImage> m_thumbs; // by image id, in the library m_thumbsOf
    QString m_thumbsOf;
};

} // namespace magpie
