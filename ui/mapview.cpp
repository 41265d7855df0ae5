#include "ui/mapview.h"

#include "core/archivemap.h"
#include "core/library.h"

#include <QFileInfo>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace magpie {

namespace {
constexpr double kThumb = 56; // long side of a thumbnail at zoom 1, in pixels

MapView::Result makeMap(const QString &path, const std::atomic<bool> *cancel)
{
    MapView::Result r;
    QString err;
    auto lib = Library::open(path, Library::Mode::ReadOnly, &err); // this thread's own connection
    if (!lib) {
        r.error = err;
        return r;
    }
    const ArchiveMap map = mapArchive(*lib, 2000, 1, cancel);
    r.archiveImages = map.archiveImages;
    r.source = map.method.isEmpty() ? featureSourceName(map.source)
                                    : QStringLiteral("%1 of %2").arg(map.method, featureSourceName(map.source));
    for (int i = 0; i < map.ids.size(); ++i) {
        MapView::Item it;
        it.id = map.ids[i];
        it.pos = map.positions[i];
        if (const auto rec = lib->image(it.id)) {
            it.thumb = QImage(lib->thumbnailPath(rec->hash));
            if (!it.thumb.isNull())
                it.thumb = it.thumb.scaled(int(kThumb * 2), int(kThumb * 2), Qt::KeepAspectRatio, Qt::SmoothTransformation);
            it.name = QFileInfo(rec->relPath).fileName();
        }
        r.items << it;
    }
    return r;
}
} // namespace

MapView::MapView(QWidget *parent) : QWidget(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    connect(&m_watcher, &QFutureWatcher<Result>::finished, this, [this] {
        if (m_watcher.future().resultCount() == 0)
            return;
        if (m_jobPath != m_path || m_stale) { // another library opened meanwhile, or new embeddings: again
            m_stale = true;
            if (isVisible())
                start();
            return;
        }
        const Result r = m_watcher.result();
        if (!r.error.isEmpty()) {
            Q_EMIT message(r.error);
            return;
        }
        m_items = r.items;
        m_archiveImages = r.archiveImages;
        m_source = r.source;
        m_zoom = 1.0;
        m_pan = {};
        update();
        if (m_items.isEmpty())
            return Q_EMIT message(tr("No images to map yet: import a folder."));
        Q_EMIT message(m_items.size() < m_archiveImages
                           ? tr("The map shows a sample of %1 of the %2 images, placed by %3.").arg(m_items.size()).arg(m_archiveImages).arg(m_source)
                           : tr("The map shows all %1 images, placed by %2.").arg(m_items.size()).arg(m_source));
    });
}

MapView::~MapView()
{
    m_cancel.store(true); // a map still being made (seconds for 2,000 images) stops
    m_watcher.waitForFinished();
}

void MapView::setLibrary(const QString &path)
{
    m_path = path;
    m_items.clear();
    m_selected = 0;
    refresh();
}

void MapView::refresh()
{
    m_stale = true;
    if (isVisible())
        start();
    update();
}

void MapView::showEvent(QShowEvent *e)
{
    QWidget::showEvent(e);
    if (m_stale)
        start();
}

void MapView::start()
{
    if (m_path.isEmpty() || m_watcher.isRunning())
        return;
    m_stale = false;
    m_jobPath = m_path;
    m_watcher.setFuture(QtConcurrent::run(makeMap, m_path, &m_cancel));
    update();
}

QRectF MapView::itemRect(const Item &it) const
{
    const double side = std::min(width(), height()) - 2 * kThumb;
    const QPointF origin((width() - side) / 2, (height() - side) / 2);
    // screen = centre + pan + (place at zoom 1 - centre) x zoom
    const QPointF centre(width() / 2.0, height() / 2.0);
    const QPointF c = centre + m_pan + (origin + QPointF(it.pos.x() * side, it.pos.y() * side) - centre) * m_zoom;
    // thumbnails shrink as the map fills (about 1.2 x the spacing of an even
    // spread, 24 to 56 px at the fit view) and grow as it is zoomed
    const double spacing = side / std::sqrt(std::max<double>(1, m_items.size()));
    const double s = std::clamp(1.2 * spacing, 24.0, kThumb) * std::sqrt(m_zoom);
    const QSizeF size = it.thumb.isNull() ? QSizeF(8, 8) : QSizeF(it.thumb.size()).scaled(s, s, Qt::KeepAspectRatio);
    return QRectF(c - QPointF(size.width() / 2, size.height() / 2), size);
}

int MapView::itemAt(const QPointF &pos) const
{
    for (int i = 0; i < m_items.size(); ++i) // the selected one is drawn on top
        if (m_items[i].id == m_selected && itemRect(m_items[i]).contains(pos))
            return i;
    for (int i = int(m_items.size()) - 1; i >= 0; --i) // drawn last = on top
        if (itemRect(m_items[i]).contains(pos))
            return i;
    return -1;
}

void MapView::select(int index)
{
    m_selected = index >= 0 ? m_items[index].id : 0;
    update();
    if (index >= 0)
        Q_EMIT message(tr("%1 \u2014 double click or Ctrl+M: more like this").arg(m_items[index].name));
}

void MapView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), QColor(0x20, 0x21, 0x25));
    if (m_items.isEmpty()) {
        p.setPen(QColor(0x9a, 0x9a, 0xa0));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   m_watcher.isRunning() ? tr("Making the map\u2026")
                   : m_path.isEmpty()    ? tr("Open a library to see its map.")
                                         : tr("No images to map yet: import a folder."));
        return;
    }
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    const QRectF view = rect();
    const auto draw = [&](const Item &it, const QRectF &r) {
        if (it.thumb.isNull())
            p.fillRect(r, QColor(0x9a, 0x9a, 0xa0));
        else
            p.drawImage(r, it.thumb);
    };
    const Item *chosen = nullptr;
    for (const Item &it : m_items) {
        if (it.id == m_selected) {
            chosen = &it;
            continue;
        }
        const QRectF r = itemRect(it);
        if (r.intersects(view))
            draw(it, r);
    }
    if (chosen) { // the selected picture on top of its neighbours, framed
        const QRectF r = itemRect(*chosen);
        draw(*chosen, r);
        p.setPen(QPen(QColor(0xff, 0xb3, 0x1a), 3));
        p.drawRect(r.adjusted(-3, -3, 3, 3));
    }
    // the legend on a band of its own, readable over the thumbnails when zoomed in
    const int band = fontMetrics().height() + 12;
    p.fillRect(QRect(0, height() - band, width(), band), QColor(0x20, 0x21, 0x25, 230));
    p.setPen(QColor(0x9a, 0x9a, 0xa0));
    p.drawText(rect().adjusted(10, 6, -10, -6), Qt::AlignBottom | Qt::AlignLeft,
               tr("%1 images by %2 \u00b7 wheel: zoom \u00b7 drag: move \u00b7 0: fit \u00b7 double click: more like this")
                   .arg(m_items.size())
                   .arg(m_source));
}

void MapView::wheelEvent(QWheelEvent *e)
{
    const double factor = std::pow(1.0015, e->angleDelta().y());
    const double zoom = std::clamp(m_zoom * factor, 0.5, 40.0);
    // keep the point under the pointer where it is
    const QPointF centre(width() / 2.0, height() / 2.0);
    const QPointF at = e->position();
    const QPointF before = (at - m_pan - centre) / m_zoom;
    m_zoom = zoom;
    m_pan = at - centre - before * m_zoom;
    update();
}

void MapView::mousePressEvent(QMouseEvent *e)
{
    m_pressAt = e->position();
    m_panAtPress = m_pan;
    m_dragging = false;
}

void MapView::mouseMoveEvent(QMouseEvent *e)
{
    if (!(e->buttons() & Qt::LeftButton))
        return;
    if ((e->position() - m_pressAt).manhattanLength() > 4)
        m_dragging = true;
    if (m_dragging) {
        m_pan = m_panAtPress + (e->position() - m_pressAt);
        update();
    }
}

void MapView::mouseReleaseEvent(QMouseEvent *e)
{
    if (!m_dragging)
        select(itemAt(e->position()));
    m_dragging = false;
}

void MapView::mouseDoubleClickEvent(QMouseEvent *e)
{
    const int i = itemAt(e->position());
    if (i >= 0) {
        select(i);
        Q_EMIT moreLikeThisRequested(m_items[i].id);
    }
}

void MapView::keyPressEvent(QKeyEvent *e)
{
    if (e->key() == Qt::Key_0 && e->modifiers() == Qt::NoModifier) {
        m_zoom = 1.0;
        m_pan = {};
        update();
        return;
    }
    if (e->key() == Qt::Key_Plus || e->key() == Qt::Key_Minus) {
        m_zoom = std::clamp(m_zoom * (e->key() == Qt::Key_Plus ? 1.25 : 0.8), 0.5, 40.0);
        update();
        return;
    }
    QWidget::keyPressEvent(e);
}

} // namespace magpie
