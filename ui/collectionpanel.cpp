#include "ui/collectionpanel.h"

#include "core/collections.h"
#include "core/layout.h"
#include "core/labelio.h"
#include "core/library.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDesktopServices>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QUrl>
#include <QVBoxLayout>

#include <cmath>

namespace magpie {

// --- SheetPreview ---------------------------------------------------------------

SheetPreview::SheetPreview(QWidget *parent) : QWidget(parent)
{
    setMinimumSize(300, 300);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setFocusPolicy(Qt::StrongFocus);
}

void SheetPreview::setJob(const PrintJob &job, const QHash<ImageId, QImage> &thumbnails)
{
    m_job = job;
    m_thumbs = thumbnails;
    if (m_dragItem >= 0) { // the sheet changed under a drag (Delete, Ctrl+Z): the drag ends
        m_dragItem = -1;
        m_dropItem = -1;
        unsetCursor();
    }
    bool stillThere = false;
    for (const PrintItem &it : m_job.items)
        stillThere |= it.id == m_selected;
    if (!stillThere)
        m_selected = 0;
    update();
}

int SheetPreview::itemInCell(int cell) const
{
    if (cell < 0)
        return -1;
    if (m_job.itemAtCell.isEmpty())
        return cell < m_job.items.size() ? cell : -1;
    return cell < m_job.itemAtCell.size() ? m_job.itemAtCell[cell] : -1;
}

int SheetPreview::cellOf(int item) const
{
    if (m_job.itemAtCell.isEmpty())
        return item;
    return int(m_job.itemAtCell.indexOf(item));
}

QVector<int> SheetPreview::itemsInCellOrder() const
{
    QVector<int> out;
    const int cells = m_job.itemAtCell.isEmpty() ? int(m_job.items.size()) : int(m_job.itemAtCell.size());
    for (int c = 0; c < cells; ++c)
        if (const int item = itemInCell(c); item >= 0)
            out << item;
    return out;
}

ImageId SheetPreview::selectedImage() const { return m_selected; }

void SheetPreview::selectImage(ImageId id)
{
    m_selected = id;
    update();
}

void SheetPreview::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), QColor(0x2a, 0x2b, 0x30));
    if (m_job.items.isEmpty()) {
        p.setPen(QColor(0x9a, 0x9a, 0xa0));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Pick a collection, or make one from a category's yes-answers."));
        return;
    }
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF target = QRectF(rect()).adjusted(16, 16, -16, -16);
    paintSheet(p, m_job, target, [this](int i) { return m_thumbs.value(m_job.items[i].id); });
    // the selected image: a frame around its cell
    p.setBrush(Qt::NoBrush);
    for (int i = 0; i < m_job.items.size(); ++i) {
        if (m_job.items[i].id != m_selected)
            continue;
        const QRectF r = cellRect(i);
        if (r.isEmpty())
            break;
        p.setPen(QPen(QColor(0xff, 0xb3, 0x1a), 3));
        p.drawRect(r.adjusted(-3, -3, 3, 3));
    }
    // dragging: the cell the image would take, framed, and the image under the pointer
    if (m_dragItem >= 0 && m_dragItem < m_job.items.size() && m_dropItem >= 0) {
        const QRectF r = cellRect(m_dropItem);
        if (!r.isEmpty()) {
            p.fillRect(r, QColor(0x4d, 0xa3, 0xff, 70));
            p.setPen(QPen(QColor(0x4d, 0xa3, 0xff), 4, Qt::DashLine));
            p.drawRect(r.adjusted(-4, -4, 4, 4));
        }
        const QImage thumb = m_thumbs.value(m_job.items[m_dragItem].id);
        const QRectF from = cellRect(m_dragItem);
        if (!thumb.isNull() && !from.isEmpty()) {
            const QSizeF size = QSizeF(thumb.size()).scaled(from.size() * 0.7, Qt::KeepAspectRatio);
            p.setOpacity(0.75);
            p.drawImage(QRectF(m_dragPos - QPointF(size.width() / 2, size.height() / 2), size), thumb);
            p.setOpacity(1);
        }
    }
}

QRectF SheetPreview::cellRect(int item) const
{
    if (item < 0 || item >= m_job.items.size())
        return {};
    const SheetGeometry g = sheetGeometry(m_job);
    const int cell = cellOf(item);
    if (cell < 0 || cell >= g.imageRects.size())
        return {};
    const QRectF target = QRectF(rect()).adjusted(16, 16, -16, -16);
    return sheetTransform(g, target).mapRect(g.imageRects[cell]);
}

void SheetPreview::mouseMoveEvent(QMouseEvent *e)
{
    if (m_dragItem < 0)
        return QWidget::mouseMoveEvent(e);
    m_dragPos = e->position();
    const int over = itemAt(e->position());
    m_dropItem = over != m_dragItem ? over : -1;
    update();
}

int SheetPreview::itemAt(const QPointF &pos) const
{
    if (m_job.items.isEmpty())
        return -1;
    const SheetGeometry g = sheetGeometry(m_job);
    const QRectF target = QRectF(rect()).adjusted(16, 16, -16, -16);
    bool ok = false;
    const QTransform inv = sheetTransform(g, target).inverted(&ok);
    if (!ok)
        return -1;
    return itemInCell(cellAt(g, inv.map(pos)));
}

void SheetPreview::mousePressEvent(QMouseEvent *e)
{
    m_dragItem = itemAt(e->position());
    if (m_dragItem >= 0) {
        m_selected = m_job.items[m_dragItem].id;
        update();
        if (e->button() == Qt::LeftButton)
            setCursor(Qt::ClosedHandCursor);
        else
            m_dragItem = -1;
    }
}

void SheetPreview::keyPressEvent(QKeyEvent *e)
{
    if (m_job.items.isEmpty())
        return QWidget::keyPressEvent(e);
    if ((e->key() == Qt::Key_Delete || e->key() == Qt::Key_Backspace) && m_selected) {
        Q_EMIT removeRequested(m_selected);
        return;
    }
    // arrows walk the cells that hold an image
    const int cols = std::max(1, sheetGeometry(m_job).cols);
    int step = 0;
    switch (e->key()) {
    case Qt::Key_Left: step = -1; break;
    case Qt::Key_Right: step = 1; break;
    case Qt::Key_Up: step = -cols; break;
    case Qt::Key_Down: step = cols; break;
    default: return QWidget::keyPressEvent(e);
    }
    int item = -1;
    for (int i = 0; i < m_job.items.size(); ++i)
        if (m_job.items[i].id == m_selected)
            item = i;
    const QVector<int> order = itemsInCellOrder();
    if (item < 0) {
        m_selected = m_job.items[order.value(0, 0)].id;
        return update();
    }
    const int cells = m_job.itemAtCell.isEmpty() ? int(m_job.items.size()) : int(m_job.itemAtCell.size());
    for (int c = cellOf(item) + step; c >= 0 && c < cells; c += step)
        if (const int next = itemInCell(c); next >= 0) {
            if (e->modifiers() & Qt::ControlModifier)
                Q_EMIT moved(item, next); // the image itself moves there, and stays selected
            else
                m_selected = m_job.items[next].id;
            break;
        }
    update();
}

void SheetPreview::contextMenuEvent(QContextMenuEvent *e)
{
    const int item = itemAt(e->pos());
    if (item < 0)
        return;
    m_selected = m_job.items[item].id;
    update();
    QMenu menu(this);
    const ImageId id = m_selected;
    menu.addAction(tr("More Like This (36)"), this, [this, id] { Q_EMIT moreLikeThisRequested(id); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    menu.addAction(tr("Remove from the Collection"), this, [this, id] { Q_EMIT removeRequested(id); })
        ->setShortcut(QKeySequence(Qt::Key_Delete));
    menu.exec(e->globalPos());
}

void SheetPreview::mouseReleaseEvent(QMouseEvent *e)
{
    unsetCursor();
    const int to = itemAt(e->position());
    const int from = m_dragItem;
    m_dragItem = -1;
    m_dropItem = -1;
    update();
    if (from >= 0 && to >= 0 && to != from)
        Q_EMIT moved(from, to);
}

// --- CollectionPanel ------------------------------------------------------------

CollectionPanel::CollectionPanel(QWidget *parent) : QWidget(parent)
{
    auto *left = new QWidget;
    auto *ll = new QVBoxLayout(left);
    ll->setContentsMargins(8, 8, 8, 8);
    m_list = new QListWidget;
    m_list->setTextElideMode(Qt::ElideRight); // long names end in "…" rather than a scroll bar
    m_list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    ll->addWidget(new QLabel(tr("COLLECTIONS")));
    ll->addWidget(m_list, 1);
    auto *fromCat = new QPushButton(tr("+ From a category\u2019s yes-answers"));
    m_removeButton = new QPushButton(tr("Delete"));
    ll->addWidget(fromCat);
    ll->addWidget(m_removeButton);
    connect(fromCat, &QPushButton::clicked, this, &CollectionPanel::createFromCategory);
    connect(m_removeButton, &QPushButton::clicked, this, &CollectionPanel::removeCurrent);
    connect(m_list, &QListWidget::currentRowChanged, this, &CollectionPanel::showCollection);

    m_preview = new SheetPreview;
    connect(m_preview, &SheetPreview::moved, this, [this](int from, int to) {
        // Drag to reorder: the dragged image takes the target's place. On the
        // "similar together" sheet the order on screen becomes the collection's
        // first, so only the dragged image moves.
        QString err;
        auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
        if (!lib)
            return Q_EMIT message(err);
        pushUndo();
        const qint64 id = currentId();
        const bool wasSimilar = m_order->currentIndex() == 0;
        if (wasSimilar) {
            const QVector<int> shown = m_preview->itemsInCellOrder();
            collections::reorder(*lib, id, shown);
            from = int(shown.indexOf(from));
            to = int(shown.indexOf(to));
        }
        collections::move(*lib, id, from, to);
        lib.reset();
        setOrderMode(1); // the person's order from now on, for this collection
        relayout();
        if (wasSimilar)
            Q_EMIT message(tr("The sheet's order is now the collection's own order, with your move "
                              "(Ctrl+Z brings back the order it had)."));
    });
    connect(m_preview, &SheetPreview::removeRequested, this, &CollectionPanel::removeImage);
    connect(m_preview, &SheetPreview::moreLikeThisRequested, this, &CollectionPanel::moreLikeThisRequested);
    auto *undoKey = new QShortcut(QKeySequence::Undo, this, this, &CollectionPanel::undo);
    undoKey->setContext(Qt::WidgetWithChildrenShortcut);

    auto *controls = new QWidget;
    m_controls = controls;
    controls->setMaximumWidth(300);
    auto *form = new QFormLayout(controls);
    m_title = new QLineEdit;
    m_subtitle = new QLineEdit;
    m_paper = new QComboBox;
    m_paper->addItems({QStringLiteral("A4"), QStringLiteral("A3"), QStringLiteral("A2"), QStringLiteral("Letter")});
    m_orientation = new QComboBox;
    m_orientation->addItems({tr("portrait"), tr("landscape")});
    m_fit = new QComboBox;
    m_fit->addItems({tr("fit"), tr("crop to fill"), tr("original proportions")});
    m_order = new QComboBox;
    m_order->setObjectName(QStringLiteral("order"));
    m_order->addItems({tr("similar together"), tr("collection order")});
    m_captions = new QCheckBox(tr("captions"));
    m_captions->setChecked(true);
    m_titleBlock = new QCheckBox(tr("title block"));
    m_titleBlock->setChecked(true);
    m_gutter = new QDoubleSpinBox;
    m_gutter->setRange(0, 30);
    m_gutter->setValue(3);
    m_gutter->setSuffix(QStringLiteral(" mm"));
    m_margin = new QDoubleSpinBox;
    m_margin->setRange(0, 60);
    m_margin->setValue(12);
    m_margin->setSuffix(QStringLiteral(" mm"));
    m_dpi = new QSpinBox;
    m_dpi->setRange(150, 600);
    m_dpi->setValue(300);
    m_format = new QComboBox;
    m_format->addItems({QStringLiteral("PDF"), QStringLiteral("PNG"), QStringLiteral("TIFF"), tr("folder + CSV")});
    form->addRow(tr("Title"), m_title);
    form->addRow(tr("Subtitle"), m_subtitle);
    form->addRow(tr("Paper"), m_paper);
    form->addRow(tr("Orientation"), m_orientation);
    form->addRow(tr("Cells"), m_fit);
    form->addRow(tr("Order"), m_order);
    form->addRow(tr("Gutter"), m_gutter);
    form->addRow(tr("Margins"), m_margin);
    form->addRow(m_captions, m_titleBlock);
    form->addRow(tr("DPI"), m_dpi);
    form->addRow(tr("Format"), m_format);
    m_layoutInfo = new QLabel;
    m_layoutInfo->setWordWrap(true);
    form->addRow(m_layoutInfo);
    m_exportButton = new QPushButton(tr("Export\u2026"));
    m_progress = new QProgressBar;
    m_progress->setVisible(false);
    form->addRow(m_exportButton);
    form->addRow(m_progress);
    connect(m_exportButton, &QPushButton::clicked, this, [this] {
        if (isExporting())
            cancelExport();
        else
            exportCurrent();
    });
    for (QComboBox *c : {m_paper, m_orientation, m_fit})
        connect(c, &QComboBox::currentIndexChanged, this, &CollectionPanel::relayout);
    connect(m_order, &QComboBox::activated, this, [this](int index) { setOrderMode(index); relayout(); });
    for (QCheckBox *c : {m_captions, m_titleBlock})
        connect(c, &QCheckBox::toggled, this, &CollectionPanel::relayout);
    for (QDoubleSpinBox *s : {m_gutter, m_margin})
        connect(s, &QDoubleSpinBox::valueChanged, this, &CollectionPanel::relayout);
    connect(m_title, &QLineEdit::editingFinished, this, [this] {
        QString err;
        if (auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err))
            lib->setCollectionTitle(currentId(), m_title->text(), m_subtitle->text());
        relayout();
    });
    connect(m_subtitle, &QLineEdit::editingFinished, m_title, &QLineEdit::editingFinished);

    connect(&m_export, &QFutureWatcher<PrintExportResult>::progressValueChanged, m_progress, &QProgressBar::setValue);
    connect(&m_export, &QFutureWatcher<PrintExportResult>::finished, this, [this] {
        m_controls->setEnabled(currentId() != 0); // a collection may have gone while it ran
        m_progress->setVisible(false);
        m_exportButton->setText(tr("Export\u2026"));
        if (m_export.isCanceled() || m_export.future().resultCount() == 0) {
            Q_EMIT message(tr("Export cancelled; nothing was left behind."));
            return;
        }
        const PrintExportResult r = m_export.result();
        if (!r.ok) {
            if (r.cancelled)
                Q_EMIT message(tr("Export cancelled; nothing was left behind."));
            else
                QMessageBox::warning(this, tr("Export failed"), r.error);
            return;
        }
        Q_EMIT message(tr("Exported %1 (%2 images, %3 placeholders, %4 s)%5")
                           .arg(r.output)
                           .arg(r.images)
                           .arg(r.placeholders)
                           .arg(r.seconds, 0, 'f', 1)
                           .arg(r.warnings.isEmpty() ? QString() : QStringLiteral(" \u2014 ") + r.warnings.join(QStringLiteral("; "))));
    });

    m_controls->setEnabled(false); // until a collection is shown
    m_removeButton->setEnabled(false);
    auto *split = new QSplitter;
    split->addWidget(left);
    split->addWidget(m_preview);
    split->addWidget(controls);
    split->setStretchFactor(1, 1);
    split->setSizes({220, 700, 300});
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);
}

void CollectionPanel::setLibrary(const QString &path)
{
    m_path = path;
    m_undo.clear(); // its steps name the collections of the library before
    reload();
}

qint64 CollectionPanel::currentId() const
{
    auto *item = m_list->currentItem();
    return item ? item->data(Qt::UserRole).toLongLong() : 0;
}

void CollectionPanel::reload(qint64 select)
{
    const qint64 keep = select ? select : currentId();
    m_list->blockSignals(true);
    m_list->clear();
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    if (lib)
        for (const CollectionInfo &c : lib->collections()) {
            auto *item = new QListWidgetItem(tr("%1\n%2 images").arg(c.name).arg(c.itemCount), m_list);
            item->setData(Qt::UserRole, c.id);
            if (c.id == keep)
                m_list->setCurrentItem(item);
        }
    m_list->blockSignals(false);
    if (!m_list->currentItem() && m_list->count() > 0)
        m_list->setCurrentRow(0);
    else
        showCollection();
}

void CollectionPanel::createFromCategory()
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib)
        return Q_EMIT message(err);
    QStringList names;
    for (const Category &c : lib->categories())
        names << c.name;
    if (names.isEmpty())
        return Q_EMIT message(tr("Create a category and answer some images first."));
    bool ok = false;
    const QString cat = QInputDialog::getItem(this, tr("New collection"), tr("The yes-answers of:"), names, 0, false, &ok);
    if (!ok)
        return;
    const auto category = lib->category(cat);
    const QVector<ImageId> ids = collections::yesImages(*lib, *category);
    if (ids.isEmpty())
        return Q_EMIT message(tr("\u201c%1\u201d has no yes-answers yet.").arg(cat));
    // A collection is a snapshot of the yes-answers when it is made; making it
    // again from the same category offers to bring that one up to date.
    qint64 id = 0;
    if (const auto existing = collections::find(*lib, cat)) {
        QMessageBox ask(QMessageBox::Question, tr("New collection"),
                        tr("\u201c%1\u201d already has a collection of %2 images. Add the yes-answers it lacks "
                           "(its order and the images added by hand stay), or make a new collection?")
                            .arg(cat).arg(existing->itemCount),
                        QMessageBox::Cancel, this);
        QPushButton *update = ask.addButton(tr("Update \u201c%1\u201d").arg(cat), QMessageBox::AcceptRole);
        QPushButton *fresh = ask.addButton(tr("New collection"), QMessageBox::ActionRole);
        ask.setDefaultButton(update);
        ask.exec();
        if (ask.clickedButton() == update) {
            id = existing->id;
            const int added = collections::add(*lib, id, ids);
            Q_EMIT message(added == 1 ? tr("\u201c%1\u201d: 1 image added from its yes-answers.").arg(cat)
                                      : tr("\u201c%1\u201d: %2 images added from its yes-answers.").arg(cat).arg(std::max(0, added)));
        } else if (ask.clickedButton() != fresh) {
            return;
        }
    }
    if (!id) {
        QString name = cat;
        for (int i = 2; collections::find(*lib, name); ++i)
            name = QStringLiteral("%1 (%2)").arg(cat).arg(i);
        id = lib->createCollection(name, QStringLiteral("%1 %2").arg(ids.size()).arg(cat));
        collections::setTitleCounts(*lib, id, true);
        collections::add(*lib, id, ids);
        Q_EMIT message(tr("Collection \u201c%1\u201d: the %2 yes-answers of \u201c%3\u201d as they are now "
                          "(make it again from the category to update it).").arg(name).arg(ids.size()).arg(cat));
    }
    lib.reset();
    reload();
    for (int i = 0; i < m_list->count(); ++i)
        if (m_list->item(i)->data(Qt::UserRole).toLongLong() == id)
            m_list->setCurrentRow(i);
}

void CollectionPanel::removeCurrent()
{
    if (!currentId())
        return;
    if (QMessageBox::question(this, tr("Delete collection"), tr("Delete this collection? Its images and answers stay.")) != QMessageBox::Yes)
        return;
    QString err;
    const qint64 gone = currentId();
    if (auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err))
        lib->removeCollection(gone);
    // its undo steps go with it: the next new collection may get its id
    m_undo.erase(std::remove_if(m_undo.begin(), m_undo.end(), [gone](const UndoStep &u) { return u.collection == gone; }),
                 m_undo.end());
    reload();
}

PrintOptions CollectionPanel::options() const
{
    PrintOptions o;
    o.paper = std::array<Paper, 4>{Paper::A4, Paper::A3, Paper::A2, Paper::Letter}[size_t(m_paper->currentIndex())];
    o.orientation = m_orientation->currentIndex() == 1 ? PageOrientation::Landscape : PageOrientation::Portrait;
    o.fit = std::array<CellFit, 3>{CellFit::Fit, CellFit::Crop, CellFit::Original}[size_t(m_fit->currentIndex())];
    o.captions = m_captions->isChecked();
    o.titleBlock = m_titleBlock->isChecked();
    o.gutterMm = m_gutter->value();
    o.marginMm = m_margin->value();
    o.dpi = m_dpi->value();
    return o;
}

void CollectionPanel::showCollection()
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    const qint64 id = currentId();
    m_controls->setEnabled((lib && id) || isExporting());
    m_removeButton->setEnabled(lib && id);
    if (!lib || !id) {
        m_preview->setJob({}, {});
        m_layoutInfo->clear();
        m_title->clear(); // not the title of a collection shown before
        m_subtitle->clear();
        return;
    }
    for (const CollectionInfo &c : lib->collections())
        if (c.id == id) {
            m_title->setText(c.title.isEmpty() ? c.name : c.title);
            m_title->setCursorPosition(0); // a long title shows its start
            m_subtitle->setText(c.subtitle);
            m_subtitle->setCursorPosition(0);
        }
    // each collection keeps its own order: similar together unless the person arranged it
    const bool own = collections::keepsOwnOrder(*lib, id);
    m_order->blockSignals(true);
    m_order->setCurrentIndex(own ? 1 : 0);
    m_order->blockSignals(false);
    relayout();
}

ImageId CollectionPanel::selectedImage() const { return m_preview->selectedImage(); }

void CollectionPanel::setOrderMode(int index)
{
    m_order->blockSignals(true);
    m_order->setCurrentIndex(index);
    m_order->blockSignals(false);
    QString err;
    if (auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err))
        collections::setKeepsOwnOrder(*lib, currentId(), index == 1);
}

void CollectionPanel::pushUndo()
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    if (!lib || !currentId())
        return;
    m_undo.append({currentId(), lib->collectionEntries(currentId()), collections::keepsOwnOrder(*lib, currentId())});
    if (m_undo.size() > 100)
        m_undo.removeFirst();
}

void CollectionPanel::undo()
{
    if (m_undo.isEmpty())
        return Q_EMIT message(tr("Nothing to undo in the collections."));
    const UndoStep step = m_undo.takeLast();
    const qint64 id = step.collection;
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib)
        return Q_EMIT message(err);
    bool exists = false;
    for (const CollectionInfo &c : lib->collections())
        exists |= c.id == id;
    const QVector<ImageId> now = exists ? lib->collectionItems(id) : QVector<ImageId>();
    if (!exists || !lib->setCollectionEntries(id, step.entries))
        return Q_EMIT message(exists ? lib->lastError() : tr("That collection is gone; nothing to undo."));
    collections::setKeepsOwnOrder(*lib, id, step.ownOrder);
    lib.reset();
    reload(id);
    // the image that comes back is selected
    for (const CollectionItem &e : step.entries)
        if (!now.contains(e.imageId)) {
            m_preview->selectImage(e.imageId);
            break;
        }
    Q_EMIT message(tr("Undone: the collection has its %1 images back as they were.").arg(step.entries.size()));
}

void CollectionPanel::removeImage(ImageId image)
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib || !currentId())
        return Q_EMIT message(err);
    // the next image (in the order shown) takes the selection
    const QVector<int> shown = m_preview->itemsInCellOrder();
    ImageId next = 0;
    for (int k = 0; k < shown.size(); ++k)
        if (m_preview->job().items[shown[k]].id == image) {
            const int n = k + 1 < shown.size() ? shown[k + 1] : (k > 0 ? shown[k - 1] : -1);
            next = n >= 0 ? m_preview->job().items[n].id : 0;
        }
    pushUndo();
    // On a "similar together" sheet the order on screen becomes the
    // collection's own first (as a move does): the other images keep their
    // places and those after the gap close up, instead of a new arrangement
    // moving every image.
    const bool wasSimilar = m_order->currentIndex() == 0 && shown.size() > 2
                            && collections::reorder(*lib, currentId(), shown);
    if (collections::remove(*lib, currentId(), {image}) != 1) {
        const QString why = lib->lastError();
        if (wasSimilar) // put the stored order back as it was
            lib->setCollectionEntries(currentId(), m_undo.last().entries);
        m_undo.removeLast();
        return Q_EMIT message(why);
    }
    QString file;
    if (const auto rec = lib->image(image))
        file = QFileInfo(rec->relPath).fileName();
    lib.reset();
    if (wasSimilar)
        setOrderMode(1);
    reload(currentId());
    m_preview->selectImage(next);
    Q_EMIT message(wasSimilar ? tr("Removed %1; the others keep their places, in the collection\u2019s own order now "
                                   "(Ctrl+Z brings it back).").arg(file)
                              : tr("Removed %1 from the collection (Ctrl+Z brings it back).").arg(file));
}

void CollectionPanel::relayout()
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    const qint64 id = currentId();
    if (!lib || !id)
        return;
    std::optional<CollectionInfo> info;
    for (const CollectionInfo &c : lib->collections())
        if (c.id == id)
            info = c;
    if (!info)
        return;
    info->title = m_title->text();
    info->subtitle = m_subtitle->text();
    PrintJob job = printJobFromCollection(*lib, *info, options());
    if (m_order->currentIndex() == 0 && job.items.size() > 1) {
        QString source;
        const GridLayout g = arrangeBySimilarity(*lib, job, 1, false, nullptr, &source);
        // the ratio as a person reads it: how much closer side-by-side images are than in a shuffle
        const int closer = int(std::lround(100 * (1 - g.qualityRatio())));
        source = source == QLatin1String("embeddings") ? tr("the network\u2019s features") : tr("colour and tone");
        m_layoutInfo->setText(
            closer > 0 ? tr("%1 rows \u00d7 %2 columns, similar images side by side: neighbours are %3 % closer "
                            "than in a random order (judged by %4).")
                             .arg(g.rows).arg(g.cols).arg(closer).arg(source)
                       : tr("%1 rows \u00d7 %2 columns. No arrangement found puts similar images closer than a "
                            "random order would (judged by %3): they are about as alike as each other.")
                             .arg(g.rows).arg(g.cols).arg(source));
        m_layoutInfo->setToolTip(tr("Mean distance between neighbouring cells divided by that of random orders: %1 "
                                    "(below 1: similar images sit together).")
                                     .arg(g.qualityRatio(), 0, 'f', 2));
    } else {
        m_layoutInfo->setText(tr("In the collection\u2019s order; drag an image onto another to move it."));
    }
    // the preview paints the cached thumbnails; the export the full-resolution sources
    QHash<ImageId, QImage> thumbs;
    for (const PrintItem &it : job.items)
        if (const auto rec = lib->image(it.id))
            thumbs.insert(it.id, QImage(lib->thumbnailPath(rec->hash)));
    m_preview->setJob(job, thumbs);
}

void CollectionPanel::cancelExport() { m_export.cancel(); }

void CollectionPanel::exportCurrent()
{
    if (m_preview->job().items.isEmpty())
        return;
    PrintJob job = m_preview->job();
    job.options = options();
    const ExportFormat f = std::array<ExportFormat, 4>{ExportFormat::Pdf, ExportFormat::Png, ExportFormat::Tiff,
                                                       ExportFormat::Folder}[size_t(m_format->currentIndex())];
    // A file name the person can change, and Qt's dialog asks before it
    // replaces a file (a folder export makes NAME/ with its manifest).
    QSettings settings;
    const QString lastDir = settings.value(QStringLiteral("export/folder"), QDir::homePath()).toString();
    const QString stem = labelio::safeFileName(job.title.isEmpty() ? job.name : job.title).left(80);
    const char *ext = f == ExportFormat::Pdf ? ".pdf" : f == ExportFormat::Png ? ".png" : f == ExportFormat::Tiff ? ".tif" : "";
    const QString filter = f == ExportFormat::Pdf   ? tr("PDF (*.pdf)")
                           : f == ExportFormat::Png  ? tr("PNG (*.png)")
                           : f == ExportFormat::Tiff ? tr("TIFF (*.tif *.tiff)")
                                                     : tr("A folder of files and manifest.csv (*)");
    QFileDialog dlg(this, tr("Export \u201c%1\u201d").arg(job.title.isEmpty() ? job.name : job.title), lastDir, filter);
    dlg.setAcceptMode(QFileDialog::AcceptSave); // asks before replacing a file
    if (*ext)
        dlg.setDefaultSuffix(QString::fromLatin1(ext + 1)); // "animals" becomes animals.png, and is checked as such
    dlg.selectFile((stem.isEmpty() ? QStringLiteral("collection") : stem) + QLatin1String(ext));
    if (dlg.exec() != QDialog::Accepted || dlg.selectedFiles().isEmpty())
        return;
    const QFileInfo fi(dlg.selectedFiles().constFirst());
    if (f == ExportFormat::Folder && fi.exists() &&
        QMessageBox::question(this, tr("Replace the folder?"),
                              tr("%1 already exists. Export into it, replacing the files of an earlier export?")
                                  .arg(QDir::toNativeSeparators(fi.absoluteFilePath()))) != QMessageBox::Yes)
        return;
    const QString dir = fi.absolutePath();
    settings.setValue(QStringLiteral("export/folder"), dir);
    job.name = *ext ? fi.completeBaseName() : fi.fileName(); // the name the export writes
    m_progress->setRange(0, int(job.items.size()));
    m_progress->setValue(0);
    m_progress->setVisible(true);
    m_exportButton->setText(tr("Cancel export"));
    m_export.setFuture(exportPrintAsync(job, f, dir));
}

} // namespace magpie
