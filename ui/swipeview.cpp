#include "ui/swipeview.h"

#include "ui/swipecontroller.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace magpie {

namespace {
const QColor kSurround(0x1b, 0x1c, 0x1f);
const QColor kText(0xe8, 0xe6, 0xe3);
const QColor kDim(0x9a, 0x9a, 0xa0);
const QColor kYes(0x3f, 0xb9, 0x6b);
const QColor kNo(0xe0, 0x55, 0x4d);
const QColor kSkip(0x8a, 0x8f, 0x98);
constexpr int kMargin = 28;
constexpr int kOverlayTop = 44;
constexpr int kOverlayBottom = 40;
} // namespace

SwipeView::SwipeView(SwipeController *controller, QWidget *parent)
    : QWidget(parent), m_c(controller), m_keymap(Keymap::defaults())
{
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMouseTracking(false);
    setMinimumSize(320, 240);
    m_clock.start();
    m_fly.setDuration(130);
    m_fly.setStartValue(0.0);
    m_fly.setEndValue(1.0);
    m_fly.setEasingCurve(QEasingCurve::InCubic);
    connect(&m_fly, &QVariantAnimation::valueChanged, this, [this](const QVariant &v) {
        m_flyT = v.toReal();
        update();
    });
    connect(&m_fly, &QVariantAnimation::finished, this, [this] {
        m_flyPixmap = {};
        m_flyT = 1.0;
        update();
    });
    connect(m_c, &SwipeController::currentChanged, this, &SwipeView::onCurrentChanged);
    connect(m_c, &SwipeController::modeChanged, this, [this] { update(); });
    connect(m_c, &SwipeController::modelActiveChanged, this, [this] { update(); });
    connect(m_c, &SwipeController::detailReady, this, [this] { update(); });
}

void SwipeView::setEmptyHint(const QString &title, const QString &detail)
{
    m_emptyTitle = title;
    m_emptyDetail = detail;
    update();
}

void SwipeView::onCurrentChanged()
{
    m_zoom = false;
    rescale();
    // paint now: the next image must not wait for the event loop's next turn
    repaint();
}

void SwipeView::rescale()
{
    // scale once per image and size, not once per paint
    const QImage img = m_c->currentImage();
    if (!img.isNull()) {
        // Fitted from the picture's own size (the decoded one may already be
        // enlarged): a small scan grows at most 2x in all, not once per step.
        const ImageRecord &rec = m_c->current().image;
        const QSize natural = rec.width > 0 && rec.height > 0 ? QSize(rec.width, rec.height) : img.size();
        const QRect r = imageRect(natural);
        // the worker pool already fitted it to this view; scale here only after a resize
        m_scaled = QPixmap::fromImage(r.size() == img.size()
                                          ? img
                                          : img.scaled(r.size(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
        m_scaledFor = m_c->current().image.id;
        m_scaledSize = size();
    } else {
        m_scaled = {};
        m_scaledFor = 0;
    }
}

QRect SwipeView::imageRect(const QSize &imageSize) const
{
    const QRect avail = imageBox();
    if (imageSize.isEmpty() || avail.width() <= 0 || avail.height() <= 0)
        return avail;
    return centred(SwipeController::fitInto(imageSize, avail.size()));
}

QRect SwipeView::centred(const QSize &s) const
{
    const QRect avail = imageBox();
    return QRect(avail.center() - QPoint(s.width() / 2, s.height() / 2), s);
}

QRect SwipeView::imageBox() const
{
    return rect().adjusted(kMargin, kOverlayTop + 8, -kMargin, -(kOverlayBottom + 8));
}

void SwipeView::resizeEvent(QResizeEvent *)
{
    m_c->setDisplayBox(imageBox().size());
    if (m_c->hasCurrent())
        rescale();
}

void SwipeView::markInput() { m_inputAtNs = m_clock.nsecsElapsed(); }

void SwipeView::startFlyOff(int direction, const QColor &tint)
{
    if (m_scaled.isNull())
        return;
    m_flyPixmap = m_scaled;
    m_flyRect = QRect(QPoint(0, 0), m_scaled.deviceIndependentSize().toSize());
    m_flyRect.moveCenter(centred(m_scaled.deviceIndependentSize().toSize()).center() + QPoint(int(m_dragDx), 0));
    m_flyDir = direction;
    m_flyTint = tint;
    m_flyT = 0.0;
    m_fly.stop();
    m_fly.start();
}

void SwipeView::keyPressEvent(QKeyEvent *e)
{
    markInput();
    const Category &cat = m_c->category();
    // In a class set a class's key (classKeys: a letter is its own key; 0 is
    // "none" beside A-Z; 1-9 name longer class names) answers "it is this class".
    // (the keypad's digits, and digits typed with Shift on AZERTY keyboards, count)
    if (cat.kind == CategoryKind::ClassSet && (e->modifiers() & ~(Qt::KeypadModifier | Qt::ShiftModifier)) == 0
        && !e->text().isEmpty()) {
        const QString t = e->text().toUpper();
        for (const auto &[key, id] : classKeys(cat)) {
            if (key == t) {
                startFlyOff(1, kYes);
                m_c->answer(AnswerValue::Yes, id);
                return;
            }
        }
    }
    switch (m_keymap.actionFor(e)) {
    case Keymap::Yes:
        if (cat.kind == CategoryKind::ClassSet) {
            // accept the model's guess
            for (const ClassInfo &c : cat.classes)
                if (!m_c->current().guess.isEmpty() && c.name == m_c->current().guess) {
                    startFlyOff(1, kYes);
                    m_c->answer(AnswerValue::Yes, c.id);
                    return;
                }
            m_c->answer(AnswerValue::Yes, 0); // explains that a letter is needed
            return;
        }
        startFlyOff(1, kYes);
        m_c->answer(AnswerValue::Yes);
        return;
    case Keymap::No:
        if (cat.kind == CategoryKind::ClassSet) {
            for (const ClassInfo &c : cat.classes)
                if (!m_c->current().guess.isEmpty() && c.name == m_c->current().guess) {
                    startFlyOff(-1, kNo);
                    m_c->answer(AnswerValue::No, c.id); // "not this letter"
                    return;
                }
            m_c->answer(AnswerValue::No, 0);
            return;
        }
        startFlyOff(-1, kNo);
        m_c->answer(AnswerValue::No);
        return;
    case Keymap::Skip:
        startFlyOff(0, kSkip);
        m_c->answer(AnswerValue::Skip);
        return;
    case Keymap::Undo:
        m_fly.stop();
        m_flyPixmap = {};
        m_c->undo();
        return;
    case Keymap::CycleMode:
        m_c->cycleMode();
        return;
    case Keymap::Zoom:
        m_zoom = !m_zoom;
        if (m_zoom)
            m_c->requestDetail();
        m_zoomCenter = {0.5, 0.5};
        update();
        return;
    case Keymap::None:
        break;
    }
    m_inputAtNs = -1;
    QWidget::keyPressEvent(e);
}

void SwipeView::mousePressEvent(QMouseEvent *e)
{
    setFocus();
    if (e->button() != Qt::LeftButton || !m_c->hasCurrent())
        return;
    m_dragging = true;
    m_pressPos = e->position().toPoint();
    m_dragDx = 0;
}

void SwipeView::mouseMoveEvent(QMouseEvent *e)
{
    if (m_zoom) {
        m_zoomCenter = QPointF(e->position().x() / width(), e->position().y() / height());
        update();
        return;
    }
    if (!m_dragging)
        return;
    m_dragDx = e->position().x() - m_pressPos.x();
    update();
}

void SwipeView::mouseReleaseEvent(QMouseEvent *e)
{
    if (!m_dragging)
        return;
    m_dragging = false;
    const qreal threshold = std::max(60.0, width() * 0.18);
    const bool binary = m_c->category().kind == CategoryKind::Binary;
    if (binary && std::abs(m_dragDx) > threshold) {
        markInput();
        const bool yes = m_dragDx > 0;
        startFlyOff(yes ? 1 : -1, yes ? kYes : kNo);
        m_dragDx = 0;
        m_c->answer(yes ? AnswerValue::Yes : AnswerValue::No);
        return;
    }
    m_dragDx = 0; // snap back
    update();
    QWidget::mouseReleaseEvent(e);
}

void SwipeView::paintCard(QPainter &p, const QPixmap &pm, const QRect &r, qreal dx, qreal angle, const QColor &tint,
                          qreal tintAlpha)
{
    p.save();
    p.translate(r.center() + QPointF(dx, 0));
    p.rotate(angle);
    const QRect local(-r.width() / 2, -r.height() / 2, r.width(), r.height());
    // a soft shadow lifts the card off the surround
    p.fillRect(local.translated(0, 6).adjusted(-2, -2, 2, 2), QColor(0, 0, 0, 90));
    p.drawPixmap(local, pm);
    if (tintAlpha > 0) {
        QColor c = tint;
        c.setAlphaF(float(std::min<qreal>(0.45, tintAlpha)));
        p.fillRect(local, c);
    }
    p.restore();
}

void SwipeView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), kSurround);
    // smooth transforms only while the card is dragged (rotated); otherwise it is a plain 1:1 blit
    p.setRenderHint(QPainter::SmoothPixmapTransform, m_dragging || m_zoom);
    p.setRenderHint(QPainter::Antialiasing, m_dragging);

    bool shown = false;
    if (!m_c->hasCurrent()) {
        paintEmpty(p);
    } else if (!m_c->currentError().isEmpty()) {
        paintError(p);
        shown = true;
    } else if (!m_c->currentReady()) {
        p.setPen(kDim);
        p.drawText(rect(), Qt::AlignCenter, tr("decoding\u2026"));
        ++m_stalePaints;
    } else {
        if (m_scaledFor != m_c->current().image.id || m_scaledSize != size())
            rescale();
        if (m_zoom) {
            // 1:1 detail of the decoded image around the pointer
            QImage img = m_c->detailImage();
            if (img.isNull())
                img = m_c->currentImage(); // until the full resolution arrives
            const QPointF c(m_zoomCenter.x() * img.width(), m_zoomCenter.y() * img.height());
            const QRectF src(c - QPointF(width() / 2.0, height() / 2.0), QSizeF(size()));
            p.drawImage(rect(), img, src.toRect());
        } else {
            const QRect r = centred(m_scaled.deviceIndependentSize().toSize()); // m_scaled is already fitted
            const qreal angle = m_dragDx / std::max(1, width()) * 12.0;
            const QColor tint = m_dragDx > 0 ? kYes : kNo;
            paintCard(p, m_scaled, r, m_dragDx, angle, tint, std::abs(m_dragDx) / std::max(1.0, width() * 0.4));
        }
        shown = true;
    }
    if (!m_flyPixmap.isNull() && m_flyT < 1.0) {
        // the previous card leaves over the new one; it never holds the new one back
        const qreal travel = width() * 0.9 * m_flyT;
        const qreal dx = m_flyDir == 0 ? 0 : m_flyDir * travel;
        p.setOpacity(1.0 - m_flyT);
        p.save();
        if (m_flyDir == 0)
            p.translate(0, height() * 0.5 * m_flyT);
        // no rotation here: a rotated smooth blit costs milliseconds per frame on a
        // software raster, and the frames compete with decoding and training
        p.setRenderHint(QPainter::SmoothPixmapTransform, false);
        paintCard(p, m_flyPixmap, m_flyRect, dx, 0.0, m_flyTint, 0.35);
        p.restore();
        p.setOpacity(1.0);
    }
    paintOverlay(p);
    p.end();
    if (m_inputAtNs >= 0 && (shown || !m_c->hasCurrent())) {
        m_latencies << (m_clock.nsecsElapsed() - m_inputAtNs) / 1e6;
        m_inputAtNs = -1;
    }
}

void SwipeView::paintOverlay(QPainter &p)
{
    if (!m_c->hasCategory())
        return;
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 1.05);
    p.setFont(f);
    const Category &cat = m_c->category();
    // top left: category and queue mode
    p.setPen(kText);
    const QString mode = m_c->mode();
    const QString title = cat.name;
    const QRect top(kMargin, 10, width() - 2 * kMargin, kOverlayTop - 14);
    p.drawText(top, Qt::AlignLeft | Qt::AlignVCenter, title);
    const int titleW = p.fontMetrics().horizontalAdvance(title);
    const QString chip = mode + QStringLiteral("  \u21b9");
    const int chipW = p.fontMetrics().horizontalAdvance(chip) + 18;
    const QRect chipRect(kMargin + titleW + 14, top.top() + 3, chipW, top.height() - 6);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(255, 255, 255, 28));
    p.setRenderHint(QPainter::Antialiasing); // a small shape: cheap
    p.drawRoundedRect(chipRect, chipRect.height() / 2.0, chipRect.height() / 2.0);
    p.setPen(kDim);
    p.drawText(chipRect, Qt::AlignCenter, chip);

    // top right: the model's guess
    if (m_c->hasCurrent()) {
        const Proposal &pr = m_c->current();
        // a model is never sure: "100 %" would be a rounding, not a certainty
        const auto percent = [this](double v) {
            return v >= 0.995 ? tr(">99%") : v < 0.005 ? tr("<1%") : tr("%1%").arg(int(v * 100 + 0.5));
        };
        QString guess;
        if (pr.confidence >= 0)
            guess = cat.kind == CategoryKind::ClassSet ? tr("model: %1  %2").arg(pr.guess, percent(pr.confidence))
                                                       : tr("model: %1 yes").arg(percent(pr.confidence));
        else // picked before a model (or the backbone's prior) had scored the queue
            guess = m_c->modelActive() ? tr("not scored yet") : tr("no model yet");
        // a class set's next likeliest classes, dimmer, after the guess: the
        // right letter is among the first three far more often than first
        QString alt;
        if (pr.confidence >= 0 && !pr.runnersUp.isEmpty()) {
            QStringList others;
            for (const auto &[name, score] : pr.runnersUp)
                others << tr("%1 %2").arg(name, percent(score));
            alt = tr("   or %1").arg(others.join(QStringLiteral("  ")));
            if (p.fontMetrics().horizontalAdvance(alt + guess) + titleW + chipW + 40 > top.width())
                alt.clear(); // too narrow: the guess alone
        }
        QRect guessRect = top;
        if (!alt.isEmpty()) {
            guessRect.setRight(top.right() - p.fontMetrics().horizontalAdvance(alt));
            p.setPen(kDim);
            p.drawText(top, Qt::AlignRight | Qt::AlignVCenter, alt);
        }
        p.setPen(pr.confidence >= 0 ? kText : kDim);
        p.drawText(guessRect, Qt::AlignRight | Qt::AlignVCenter, guess);
    }

    // bottom: the keys
    const QRect bottom(kMargin, height() - kOverlayBottom, width() - 2 * kMargin, kOverlayBottom - 8);
    // compact: each action's first key only ("Left" for "Left / H"), for a narrow window
    const auto keysText = [&](bool compact) {
        const auto d = [&](Keymap::Action a, const QStringList &taken = {}) {
            const QString all = m_keymap.describe(a, taken);
            return compact ? all.section(QStringLiteral(" / "), 0, 0) : all;
        };
        if (cat.kind == CategoryKind::ClassSet) {
            // a one-character class is its own key; longer class names show theirs
            QHash<ClassId, QString> nameOf;
            for (const ClassInfo &c : cat.classes)
                nameOf.insert(c.id, c.name);
            QStringList named, taken;
            bool letters = false;
            for (const auto &[key, id] : classKeys(cat)) {
                taken << key;
                const QString name = nameOf.value(id);
                if (name.size() > 1)
                    named << tr("%1 = %2").arg(key, name);
                else
                    letters = true;
            }
            if (letters)
                named.prepend(tr("letter = that class"));
            return tr("%1   %2 the guess   %3 not it   %4 skip   %5 undo   %6 queue")
                .arg(named.join(QStringLiteral("   ")), d(Keymap::Yes, taken), d(Keymap::No, taken),
                     d(Keymap::Skip, taken), d(Keymap::Undo, taken), d(Keymap::CycleMode, taken));
        }
        return (compact ? tr("%1 no   %2 yes   %3 skip   %4 undo   %5 zoom   %6 queue")
                        : tr("%1 no     %2 yes     %3 skip     %4 undo     %5 zoom     %6 queue"))
            .arg(d(Keymap::No), d(Keymap::Yes), d(Keymap::Skip), d(Keymap::Undo), d(Keymap::Zoom), d(Keymap::CycleMode));
    };
    p.setPen(kDim);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.92);
    p.setFont(small);
    // the file with its folder: two books' img_0001.jpg are told apart
    const QString file = m_c->hasCurrent() ? m_c->current().image.absPath.section(QLatin1Char('/'), -2) : QString();
    const int fileW = file.isEmpty() ? 0 : p.fontMetrics().horizontalAdvance(file) + 16;
    QString keys = keysText(false);
    if (p.fontMetrics().horizontalAdvance(keys) / 2 + fileW > bottom.width() / 2)
        keys = keysText(true);
    if (p.fontMetrics().horizontalAdvance(keys) / 2 + fileW <= bottom.width() / 2) {
        p.drawText(bottom, Qt::AlignCenter, keys);
    } else { // long (a class set's named keys) or narrow: left of the file name, cut short if need be
        const QRect left = bottom.adjusted(0, 0, -fileW, 0);
        p.drawText(left, Qt::AlignLeft | Qt::AlignVCenter, p.fontMetrics().elidedText(keys, Qt::ElideRight, left.width()));
    }
    if (!file.isEmpty())
        p.drawText(bottom, Qt::AlignRight | Qt::AlignVCenter, file);
}

void SwipeView::paintEmpty(QPainter &p)
{
    QString title = m_emptyTitle, detail = m_emptyDetail;
    if (m_c->hasCategory() && m_c->isFetching()) {
        title = tr("Filling the queue\u2026");
        detail.clear();
    } else if (m_c->hasCategory()) {
        title = tr("Nothing left to show in \u201c%1\u201d").arg(m_c->category().name);
        detail = tr("Every image has an answer here. Import more folders (Ctrl+I), switch the queue (Tab) "
                    "or pick another category.");
    }
    QFont big = font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    p.setFont(big);
    p.setPen(kText);
    const QRect r = rect().adjusted(60, 0, -60, 0);
    p.drawText(r.adjusted(0, 0, 0, -height() / 8), Qt::AlignCenter | Qt::TextWordWrap, title);
    p.setFont(font());
    p.setPen(kDim);
    p.drawText(r.adjusted(0, height() / 6, 0, 0), Qt::AlignHCenter | Qt::AlignVCenter | Qt::TextWordWrap, detail);
}

void SwipeView::paintError(QPainter &p)
{
    const QRect card = imageRect(QSize(4, 3));
    p.setPen(QColor(255, 255, 255, 40));
    p.setBrush(QColor(0x2a, 0x2b, 0x30));
    p.drawRoundedRect(card, 10, 10);
    QFont big = font();
    big.setPointSizeF(big.pointSizeF() * 1.4);
    p.setFont(big);
    p.setPen(kText);
    p.drawText(card.adjusted(30, 0, -30, -card.height() / 3), Qt::AlignCenter | Qt::TextWordWrap,
               tr("This image cannot be shown"));
    p.setFont(font());
    p.setPen(kDim);
    p.drawText(card.adjusted(30, card.height() / 4, -30, 0), Qt::AlignCenter | Qt::TextWordWrap,
               m_c->current().image.relPath + QStringLiteral("\n") + m_c->currentError()
                   + tr("\n\nAny answer key moves on; nothing is recorded for it."));
}

} // namespace magpie
