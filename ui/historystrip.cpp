#include "ui/historystrip.h"

#include "ui/swipecontroller.h"

#include "core/library.h"

#include <QFileInfo>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>

namespace magpie {

namespace {
constexpr int kCell = 76;
constexpr int kGap = 8;
} // namespace

HistoryStrip::HistoryStrip(SwipeController *controller, QWidget *parent) : QWidget(parent), m_c(controller)
{
    setMinimumHeight(92);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setToolTip(tr("Your newest decisions. Click one to change it."));
    connect(m_c, &SwipeController::historyChanged, this, qOverload<>(&QWidget::update));
}

int HistoryStrip::visibleCount() const
{
    return std::min<int>(int(m_c->history().size()), std::max(1, (width() - kGap) / (kCell + kGap)));
}

int HistoryStrip::indexAt(const QPoint &pos) const
{
    const int i = (pos.x() - kGap) / (kCell + kGap);
    return i >= 0 && i < visibleCount() ? i : -1;
}

QImage HistoryStrip::thumbFor(qint64 id, const QByteArray &hash)
{
    if (m_thumbsOf != m_c->libraryPath()) { // another library numbers its images afresh
        m_thumbs.clear();
        m_thumbsOf = m_c->libraryPath();
    }
    auto it = m_thumbs.find(id);
    if (it != m_thumbs.end())
        return *it;
    QImage img = m_c->imageFor(id);
    if (img.isNull())
        img = QImage(Library::thumbnailPath(m_c->libraryPath(), hash)); // the library's cached thumbnail
    if (!img.isNull())
        img = img.scaled(kCell, kCell, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    if (m_thumbs.size() > 200)
        m_thumbs.clear();
    m_thumbs.insert(id, img);
    return img;
}

void HistoryStrip::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), QColor(0x15, 0x16, 0x18));
    p.setRenderHint(QPainter::Antialiasing);
    const auto &h = m_c->history();
    const Category &cat = m_c->category();
    if (h.empty()) {
        p.setPen(QColor(0x80, 0x80, 0x88));
        p.drawText(rect(), Qt::AlignCenter, tr("Your decisions will appear here; click one to change it."));
        return;
    }
    const int n = visibleCount();
    for (int i = 0; i < n; ++i) {
        const auto &item = h[size_t(i)];
        const QRect cell(kGap + i * (kCell + kGap), (height() - kCell) / 2, kCell, kCell);
        const QImage t = thumbFor(item.proposal.image.id, item.proposal.image.hash);
        p.fillRect(cell, QColor(0x24, 0x25, 0x29));
        if (!t.isNull()) {
            QRect r(QPoint(0, 0), t.size());
            r.moveCenter(cell.center());
            p.drawImage(r, t);
        }
        QColor badge;
        QString label;
        switch (item.answer.value) {
        case AnswerValue::Yes:
            badge = QColor(0x3f, 0xb9, 0x6b);
            label = tr("yes");
            break;
        case AnswerValue::No:
            badge = QColor(0xe0, 0x55, 0x4d);
            label = tr("no");
            break;
        case AnswerValue::Skip:
            badge = QColor(0x6a, 0x6f, 0x78);
            label = tr("skip");
            break;
        }
        if (cat.kind == CategoryKind::ClassSet && item.answer.value != AnswerValue::Skip)
            for (const ClassInfo &c : cat.classes)
                if (c.id == item.answer.classId)
                    label = item.answer.value == AnswerValue::Yes ? c.name : tr("not %1").arg(c.name);
        const QRect b(cell.left(), cell.bottom() - 17, cell.width(), 18);
        p.fillRect(b, badge);
        p.setPen(Qt::white);
        p.drawText(b, Qt::AlignCenter, label);
        if (i == 0) {
            p.setPen(QPen(QColor(255, 255, 255, 160), 1.5));
            p.setBrush(Qt::NoBrush);
            p.drawRect(cell.adjusted(0, 0, -1, -1));
        }
    }
}

void HistoryStrip::mousePressEvent(QMouseEvent *e)
{
    const int i = indexAt(e->position().toPoint());
    if (i < 0)
        return;
    if (i >= int(m_c->history().size()))
        return;
    // The answer given is checked; &-accelerators (Y, N, S) pick one from the keyboard.
    const Answer given = m_c->history()[size_t(i)].answer;
    QMenu menu(this);
    const Category &cat = m_c->category();
    const auto mark = [](QAction *a, bool on) {
        a->setCheckable(true);
        a->setChecked(on);
    };
    if (cat.kind == CategoryKind::Binary) {
        mark(menu.addAction(tr("&Yes"), this, [this, i] { m_c->changeHistory(i, AnswerValue::Yes); }),
             given.value == AnswerValue::Yes);
        mark(menu.addAction(tr("&No"), this, [this, i] { m_c->changeHistory(i, AnswerValue::No); }),
             given.value == AnswerValue::No);
    } else {
        QMenu *classes = menu.addMenu(tr("&It is\u2026"));
        for (const ClassInfo &c : cat.classes)
            mark(classes->addAction(c.name, this, [this, i, id = c.id] { m_c->changeHistory(i, AnswerValue::Yes, id); }),
                 given.value == AnswerValue::Yes && given.classId == c.id);
    }
    mark(menu.addAction(tr("&Skip"), this, [this, i] { m_c->changeHistory(i, AnswerValue::Skip); }),
         given.value == AnswerValue::Skip);
    menu.exec(e->globalPosition().toPoint());
}

} // namespace magpie
