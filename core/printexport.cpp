#include "core/printexport.h"

#include "core/embeddingcache.h"

#include "core/imagedecoder.h"
#include "core/labelio.h"
#include "core/layout.h"
#include "core/library.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QFont>
#include <QFontMetricsF>
#include <QGuiApplication>
#include <QImageWriter>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QPromise>
#include <QSaveFile>
#include <QtConcurrent/QtConcurrentRun>
#include <QTextStream>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace magpie {

namespace {
constexpr double kMmPerPt = 25.4 / 72.0;
constexpr double kUnitsPerMm = 10.0; // painting works in 0.1 mm so fonts get integer pixel sizes
} // namespace

QString cellFitName(CellFit f)
{
    switch (f) {
    case CellFit::Fit:
        return QStringLiteral("fit");
    case CellFit::Crop:
        return QStringLiteral("crop");
    case CellFit::Original:
        return QStringLiteral("original");
    }
    return {};
}

QString paperName(Paper p)
{
    switch (p) {
    case Paper::A4:
        return QStringLiteral("A4");
    case Paper::A3:
        return QStringLiteral("A3");
    case Paper::A2:
        return QStringLiteral("A2");
    case Paper::Letter:
        return QStringLiteral("Letter");
    case Paper::Custom:
        return QStringLiteral("custom");
    }
    return {};
}

QString exportFormatName(ExportFormat f)
{
    switch (f) {
    case ExportFormat::Pdf:
        return QStringLiteral("pdf");
    case ExportFormat::Png:
        return QStringLiteral("png");
    case ExportFormat::Tiff:
        return QStringLiteral("tiff");
    case ExportFormat::Folder:
        return QStringLiteral("folder");
    }
    return {};
}

std::optional<CellFit> parseCellFit(const QString &s)
{
    const QString t = s.trimmed().toLower();
    if (t == u"fit")
        return CellFit::Fit;
    if (t == u"crop" || t == u"fill")
        return CellFit::Crop;
    if (t == u"original")
        return CellFit::Original;
    return std::nullopt;
}

std::optional<Paper> parsePaper(const QString &s)
{
    const QString t = s.trimmed().toLower();
    if (t == u"a4")
        return Paper::A4;
    if (t == u"a3")
        return Paper::A3;
    if (t == u"a2")
        return Paper::A2;
    if (t == u"letter")
        return Paper::Letter;
    if (t == u"custom")
        return Paper::Custom;
    return std::nullopt;
}

std::optional<ExportFormat> parseExportFormat(const QString &s)
{
    const QString t = s.trimmed().toLower();
    if (t == u"pdf")
        return ExportFormat::Pdf;
    if (t == u"png")
        return ExportFormat::Png;
    if (t == u"tif" || t == u"tiff")
        return ExportFormat::Tiff;
    if (t == u"folder" || t == u"dir")
        return ExportFormat::Folder;
    return std::nullopt;
}

void PrintJob::applyLayout(const GridLayout &layout)
{
    rows = layout.rows;
    cols = layout.cols;
    itemAtCell = layout.itemAtCell;
}

// --- geometry -------------------------------------------------------------------------

QSizeF paperSizeMm(const PrintOptions &o)
{
    QSizeF s;
    switch (o.paper) {
    case Paper::A4:
        s = {210, 297};
        break;
    case Paper::A3:
        s = {297, 420};
        break;
    case Paper::A2:
        s = {420, 594};
        break;
    case Paper::Letter:
        s = {215.9, 279.4};
        break;
    case Paper::Custom:
        s = QSizeF(std::clamp(o.customSizeMm.width(), 10.0, 5000.0),
                   std::clamp(o.customSizeMm.height(), 10.0, 5000.0));
        break;
    }
    const bool landscape = o.orientation == PageOrientation::Landscape;
    if (landscape != (s.width() > s.height()))
        s.transpose();
    return s;
}

namespace {
// The widest margin a sheet takes (sheetGeometry clamps to it): a third of its short side.
double widestMarginMm(const QSizeF &trim) { return std::min(trim.width(), trim.height()) / 3; }
} // namespace

QSize rasterSize(const PrintOptions &o)
{
    const int dpi = std::clamp(o.dpi, 150, 600);
    const QSizeF trim = paperSizeMm(o);
    const double b = std::clamp(o.bleedMm, 0.0, 50.0); // as sheetGeometry clamps it
    return QSize(int(std::lround((trim.width() + 2 * b) / 25.4 * dpi)),
                 int(std::lround((trim.height() + 2 * b) / 25.4 * dpi)));
}

namespace {

struct Shape
{
    int rows = 0;
    int cols = 0;
};

double medianAspect(const PrintJob &job)
{
    std::vector<double> a;
    for (const PrintItem &i : job.items)
        if (i.pixelSize.width() > 0 && i.pixelSize.height() > 0)
            a.push_back(double(i.pixelSize.width()) / i.pixelSize.height());
    if (a.empty())
        return 1.0;
    std::nth_element(a.begin(), a.begin() + ptrdiff_t(a.size() / 2), a.end());
    return a[a.size() / 2];
}

Shape jobShape(const PrintJob &job, double aspect)
{
    const int n = int(job.items.size());
    if (job.rows > 0 && job.cols > 0 && qint64(job.rows) * job.cols >= n)
        return {job.rows, job.cols};
    Shape s{job.options.rows, job.options.cols};
    if (s.rows > 0 && s.cols <= 0)
        s.cols = std::max(1, (n + s.rows - 1) / s.rows);
    if (s.cols > 0 && s.rows <= 0)
        s.rows = std::max(1, (n + s.cols - 1) / s.cols);
    if (s.rows > 0 && s.cols > 0 && qint64(s.rows) * s.cols >= n)
        return s;
    // Cells in the images' typical proportions, so fitted images fill them.
    const GridShape g = chooseGrid(n, aspect / medianAspect(job));
    return {g.rows, g.cols};
}

} // namespace

SheetGeometry sheetGeometry(const PrintJob &job)
{
    const PrintOptions &o = job.options;
    SheetGeometry g;
    const QSizeF trim = paperSizeMm(o);
    const double bleed = std::clamp(o.bleedMm, 0.0, 50.0);
    g.sheetMm = QSizeF(trim.width() + 2 * bleed, trim.height() + 2 * bleed);
    g.trimRect = QRectF(QPointF(bleed, bleed), trim);
    const double margin = std::clamp(o.marginMm, 0.0, widestMarginMm(trim));
    g.contentRect = g.trimRect.adjusted(margin, margin, -margin, -margin);

    QRectF grid = g.contentRect;
    if (o.titleBlock && (!job.title.isEmpty() || !job.subtitle.isEmpty())) {
        double y = grid.top();
        if (!job.title.isEmpty()) {
            const double h = o.titlePt * kMmPerPt * 1.3;
            g.titleRect = QRectF(grid.left(), y, grid.width(), h);
            y += h;
        }
        if (!job.subtitle.isEmpty()) {
            const double h = o.subtitlePt * kMmPerPt * 1.3;
            g.subtitleRect = QRectF(grid.left(), y, grid.width(), h);
            y += h;
        }
        y += std::max(3.0, o.gutterMm * 2);
        grid.setTop(std::min(y, grid.bottom() - 10));
    }

    const double gutter = std::max(0.0, o.gutterMm);
    const double captionH = o.captions ? o.captionPt * kMmPerPt * 1.5 : 0.0;
    const Shape shape = jobShape(job, grid.width() / std::max(1.0, grid.height()));
    g.rows = shape.rows;
    g.cols = shape.cols;
    if (g.rows <= 0 || g.cols <= 0) {
        g.gridRect = grid;
        return g;
    }
    double cellW = std::max(0.1, (grid.width() - (g.cols - 1) * gutter) / g.cols);
    double cellH = std::max(0.1, (grid.height() - (g.rows - 1) * gutter) / g.rows);
    if (o.fit == CellFit::Original) {
        // The image part of each cell takes the images' median proportions.
        const double want = medianAspect(job);
        const double imgH = std::max(0.1, cellH - captionH);
        if (cellW / imgH > want)
            cellW = imgH * want;
        else
            cellH = cellW / want + captionH;
    }
    const double usedW = g.cols * cellW + (g.cols - 1) * gutter;
    const double usedH = g.rows * cellH + (g.rows - 1) * gutter;
    g.gridRect = QRectF(grid.left() + (grid.width() - usedW) / 2, grid.top() + (grid.height() - usedH) / 2,
                        usedW, usedH);
    for (int r = 0; r < g.rows; ++r)
        for (int c = 0; c < g.cols; ++c) {
            const QRectF cell(g.gridRect.left() + c * (cellW + gutter),
                              g.gridRect.top() + r * (cellH + gutter), cellW, cellH);
            const double capH = std::min(captionH, cell.height() / 2);
            g.imageRects << QRectF(cell.left(), cell.top(), cell.width(), cell.height() - capH);
            g.captionRects << (capH > 0 ? QRectF(cell.left(), cell.bottom() - capH, cell.width(), capH)
                                        : QRectF());
        }
    return g;
}

QTransform sheetTransform(const SheetGeometry &g, const QRectF &target)
{
    QTransform t;
    if (g.sheetMm.isEmpty() || target.isEmpty())
        return t;
    const double s = std::min(target.width() / g.sheetMm.width(), target.height() / g.sheetMm.height());
    t.translate(target.left() + (target.width() - g.sheetMm.width() * s) / 2,
                target.top() + (target.height() - g.sheetMm.height() * s) / 2);
    t.scale(s, s);
    return t;
}

int cellAt(const SheetGeometry &g, const QPointF &mm)
{
    for (int cell = 0; cell < g.imageRects.size(); ++cell) {
        const QRectF whole = g.captionRects.value(cell).isEmpty()
                                 ? g.imageRects[cell]
                                 : g.imageRects[cell].united(g.captionRects[cell]);
        if (whole.contains(mm))
            return cell;
    }
    return -1;
}

void placeImage(const QRectF &area, const QSizeF &imageSize, CellFit fit, QRectF *dest, QRectF *source)
{
    QRectF d = area;
    QRectF s(QPointF(0, 0), imageSize);
    if (imageSize.width() > 0 && imageSize.height() > 0 && area.width() > 0 && area.height() > 0) {
        const double ia = imageSize.width() / imageSize.height();
        const double aa = area.width() / area.height();
        if (fit == CellFit::Crop) {
            if (ia > aa) { // image wider: cut the sides
                const double w = imageSize.height() * aa;
                s = QRectF((imageSize.width() - w) / 2, 0, w, imageSize.height());
            } else {
                const double h = imageSize.width() / aa;
                s = QRectF(0, (imageSize.height() - h) / 2, imageSize.width(), h);
            }
        } else if (ia > aa) { // letterbox
            const double h = area.width() / ia;
            d = QRectF(area.left(), area.top() + (area.height() - h) / 2, area.width(), h);
        } else {
            const double w = area.height() * ia;
            d = QRectF(area.left() + (area.width() - w) / 2, area.top(), w, area.height());
        }
    }
    if (dest)
        *dest = d;
    if (source)
        *source = s;
}

// --- painting ----------------------------------------------------------------------------

namespace {

bool canPaintText()
{
    return qobject_cast<QGuiApplication *>(QCoreApplication::instance()) != nullptr;
}

QRectF units(const QRectF &mm)
{
    return QRectF(mm.x() * kUnitsPerMm, mm.y() * kUnitsPerMm, mm.width() * kUnitsPerMm,
                  mm.height() * kUnitsPerMm);
}

int itemAtCell(const PrintJob &job, int cell)
{
    if (job.itemAtCell.isEmpty())
        return cell < job.items.size() ? cell : -1;
    return job.itemAtCell.value(cell, -1);
}

// Paints one sheet in steps so exports can interleave decoding with painting.
class SheetPainter
{
public:
    SheetPainter(QPainter &p, const PrintJob &job, const QRectF &target, QStringList *warnings)
        : m_p(p), m_job(job), m_geo(sheetGeometry(job)), m_warnings(warnings)
    {
        m_text = canPaintText();
        // Map the sheet into target, keeping proportions; paint in 0.1 mm units.
        m_p.save();
        QTransform t = sheetTransform(m_geo, target);
        t.scale(1.0 / kUnitsPerMm, 1.0 / kUnitsPerMm);
        m_p.setWorldTransform(t, true);
        m_p.setRenderHint(QPainter::SmoothPixmapTransform, true);
        m_p.setRenderHint(QPainter::Antialiasing, true);
        m_p.setRenderHint(QPainter::TextAntialiasing, true);
        for (int cell = 0; cell < m_geo.rows * m_geo.cols; ++cell) {
            const int item = itemAt(cell);
            if (item >= 0 && item < job.items.size())
                m_cellOfItem.insert(item, cell);
        }
    }
    ~SheetPainter() { m_p.restore(); }

    const SheetGeometry &geometry() const { return m_geo; }
    int cellOf(int item) const { return m_cellOfItem.value(item, -1); }

    int itemAt(int cell) const { return itemAtCell(m_job, cell); }

    void frame()
    {
        const PrintOptions &o = m_job.options;
        m_p.fillRect(units(QRectF(QPointF(0, 0), m_geo.sheetMm)), o.background);
        if (!m_text) {
            if (m_warnings && ((o.captions && !m_job.items.isEmpty()) || !m_geo.titleRect.isEmpty() ||
                               !m_geo.subtitleRect.isEmpty()))
                *m_warnings << QStringLiteral(
                    "Title and captions left out: painting text needs a QGuiApplication.");
            return;
        }
        m_p.setPen(o.textColour);
        if (!m_geo.titleRect.isEmpty())
            drawText(m_geo.titleRect, m_job.title, o.titlePt, true, Qt::AlignLeft | Qt::AlignVCenter);
        if (!m_geo.subtitleRect.isEmpty())
            drawText(m_geo.subtitleRect, m_job.subtitle, o.subtitlePt, false,
                     Qt::AlignLeft | Qt::AlignVCenter);
        if (o.captions)
            for (int cell = 0; cell < m_geo.captionRects.size(); ++cell) {
                const int item = itemAt(cell);
                if (item >= 0 && !m_geo.captionRects[cell].isEmpty())
                    drawText(m_geo.captionRects[cell], m_job.items[item].caption, o.captionPt, false,
                             Qt::AlignHCenter | Qt::AlignVCenter);
            }
    }

    // Paints item `item` into its cell; a null image paints a placeholder.
    void image(int item, const QImage &img)
    {
        const int cell = cellOf(item);
        if (cell < 0)
            return;
        const QRectF area = m_geo.imageRects[cell];
        if (img.isNull()) {
            placeholder(area);
            return;
        }
        QRectF dest, src;
        placeImage(area, img.size(), m_job.options.fit, &dest, &src);
        m_p.drawImage(units(dest), img, src);
    }

private:
    void drawText(const QRectF &mm, const QString &text, double pt, bool bold, int align)
    {
        QFont f;
        f.setPixelSize(std::max(1, int(std::lround(pt * kMmPerPt * kUnitsPerMm))));
        f.setBold(bold);
        m_p.setFont(f);
        const QRectF r = units(mm);
        const QString shown = QFontMetricsF(f).elidedText(text, Qt::ElideMiddle, r.width());
        m_p.drawText(r, align | Qt::TextSingleLine, shown);
    }

    void placeholder(const QRectF &mm)
    {
        const QRectF r = units(mm);
        m_p.save();
        m_p.fillRect(r, QColor(225, 225, 225));
        QPen pen(QColor(150, 150, 150));
        pen.setWidthF(3.0); // 0.3 mm
        m_p.setPen(pen);
        m_p.drawRect(r);
        m_p.drawLine(r.topLeft(), r.bottomRight());
        m_p.drawLine(r.topRight(), r.bottomLeft());
        if (m_text) {
            QFont f;
            f.setPixelSize(std::max(1, int(std::min(r.height() / 8, 60.0))));
            m_p.setFont(f);
            m_p.setPen(QColor(90, 90, 90));
            m_p.drawText(r, Qt::AlignCenter, QStringLiteral("missing"));
        }
        m_p.restore();
    }

    QPainter &m_p;
    const PrintJob &m_job;
    SheetGeometry m_geo;
    QStringList *m_warnings;
    bool m_text = true;
    QHash<int, int> m_cellOfItem;
};

} // namespace

void paintSheet(QPainter &painter, const PrintJob &job, const QRectF &target, const ImageProvider &images,
                QStringList *warnings)
{
    SheetPainter sp(painter, job, target, warnings);
    sp.frame();
    for (int item = 0; item < job.items.size(); ++item)
        if (sp.cellOf(item) >= 0)
            sp.image(item, images ? images(item) : QImage());
}

// --- export ---------------------------------------------------------------------------------

namespace {

// Runs fn(i) for i in [0, n) on up to idealThreadCount threads.
template <typename Fn> void parallelFor(int n, Fn fn)
{
    const int threads = std::clamp(QThread::idealThreadCount(), 1, std::max(1, n));
    if (threads <= 1) {
        for (int i = 0; i < n; ++i)
            fn(i);
        return;
    }
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (int i = next++; i < n; i = next++)
                fn(i);
        });
    for (auto &th : pool)
        th.join();
}

// True when `path` (absolute) is inside `folder` (absolute, clean, canonical).
bool inside(const QString &folder, const QString &path)
{
    const QString clean = QDir::cleanPath(path);
    return clean.startsWith(folder + QLatin1Char('/')) && !clean.contains(QStringLiteral("/../"));
}

// Makes room for a new file at `path`: a symbolic link there is removed, never
// followed. Returns false when something else is in the way (a folder).
bool clearTarget(const QString &path)
{
    const QFileInfo fi(path);
    if (fi.isSymLink())
        return QFile::remove(path);
    if (fi.isDir())
        return false;
    return true;
}

QString stemFor(const PrintJob &job)
{
    QString stem = job.name.isEmpty() ? job.title : job.name;
    if (stem.trimmed().isEmpty())
        stem = QStringLiteral("collection");
    return labelio::safeFileName(stem).left(80);
}

struct Decoded
{
    QImage image;
    QString error;
};

} // namespace

PrintExportResult exportPrint(const PrintJob &job, ExportFormat format, const QString &folderIn,
                              const std::function<void(const ExportProgress &)> &progress,
                              const std::atomic<bool> *cancel)
{
    QElapsedTimer timer;
    timer.start();
    PrintExportResult res;
    res.warnings = job.notes;
    {
        const double most = widestMarginMm(paperSizeMm(job.options));
        if (job.options.marginMm > most)
            res.warnings << QStringLiteral("A margin of %1 mm does not fit this paper; %2 mm used.")
                                .arg(job.options.marginMm)
                                .arg(most, 0, 'f', 1);
    }
    auto cancelled = [&] { return cancel && cancel->load(); };
    auto report = [&](int done, const QString &phase) {
        if (progress)
            progress(ExportProgress{done, int(job.items.size()), phase});
    };

    if (folderIn.isEmpty()) {
        res.error = QStringLiteral("No export folder given.");
        return res;
    }
    if (!QDir().mkpath(folderIn)) {
        res.error = QStringLiteral("Cannot create the export folder %1.").arg(folderIn);
        return res;
    }
    const QString folder = QFileInfo(folderIn).canonicalFilePath();
    if (folder.isEmpty() || !QFileInfo(folder).isWritable()) {
        res.error = QStringLiteral("The export folder %1 cannot be written.").arg(folderIn);
        return res;
    }
    const QString stem = stemFor(job);
    const SheetGeometry geo = sheetGeometry(job);
    const int n = int(job.items.size());
    const int threads = std::max(1, QThread::idealThreadCount());

    auto decodeItem = [&](int i, int maxLongSide) {
        Decoded d;
        const PrintItem &it = job.items[i];
        if (it.sourcePath.isEmpty() || !QFileInfo::exists(it.sourcePath))
            d.error = QStringLiteral("source file is missing");
        else
            d.image = decoder::decodeFile(it.sourcePath, maxLongSide, &d.error);
        return d;
    };
    auto noteMissing = [&](int i, const QString &why) {
        ++res.placeholders;
        const PrintItem &it = job.items[i];
        res.warnings << QStringLiteral("Image %1 (%2): %3; printed as a placeholder.")
                            .arg(it.id)
                            .arg(it.sourcePath.isEmpty() ? QStringLiteral("no path") : it.sourcePath, why);
    };

    if (format == ExportFormat::Folder) {
        const QString dir = folder + QLatin1Char('/') + stem;
        if (!inside(folder, dir) || QFileInfo(dir).isSymLink() ||
            (QFileInfo::exists(dir) && !QFileInfo(dir).isDir())) {
            res.error = QStringLiteral("%1 is in the way of the export folder.").arg(dir);
            return res;
        }
        if (!QDir().mkpath(dir)) {
            res.error = QStringLiteral("Cannot create %1.").arg(dir);
            return res;
        }
        res.output = dir;
        QSaveFile manifest(dir + QStringLiteral("/manifest.csv"));
        if (!clearTarget(manifest.fileName()) || !manifest.open(QIODevice::WriteOnly)) {
            res.error = QStringLiteral("Cannot write %1.").arg(manifest.fileName());
            return res;
        }
        QTextStream csv(&manifest);
        csv << "position,row,col,image_id,file,source_path,caption,width,height,status\n";
        int position = 0;
        for (int cell = 0; cell < geo.rows * geo.cols; ++cell) {
            const int i = itemAtCell(job, cell);
            if (i < 0 || i >= n)
                continue;
            if (cancelled())
                break;
            const PrintItem &it = job.items[i];
            ++position;
            const QString base = QStringLiteral("%1_%2")
                                     .arg(position, 4, 10, QLatin1Char('0'))
                                     .arg(labelio::safeFileName(QFileInfo(it.sourcePath).fileName()));
            QString file = dir + QLatin1Char('/') + base;
            QString status = QStringLiteral("ok");
            bool written = false;
            if (inside(dir, file) && clearTarget(file) && QFileInfo::exists(it.sourcePath)) {
                QFile::remove(file);
                written = QFile::copy(it.sourcePath, file);
            }
            if (!written) {
                noteMissing(i, QFileInfo::exists(it.sourcePath) ? QStringLiteral("could not be copied")
                                                                : QStringLiteral("source file is missing"));
                status = QStringLiteral("placeholder");
                file = dir + QLatin1Char('/') + base + QStringLiteral(".missing.png");
                QImage ph(400, 300, QImage::Format_RGB32);
                {
                    QPainter p(&ph);
                    PrintJob one;
                    one.items << it;
                    one.options.marginMm = 0;
                    one.options.captions = false;
                    one.options.titleBlock = false;
                    one.options.paper = Paper::Custom;
                    one.options.customSizeMm = QSizeF(40, 30);
                    one.options.orientation = PageOrientation::Landscape;
                    paintSheet(p, one, QRectF(ph.rect()), {});
                }
                if (inside(dir, file) && clearTarget(file))
                    ph.save(file, "PNG");
            } else {
                ++res.images;
            }
            res.files << file;
            csv << position << ',' << (cell / geo.cols) << ',' << (cell % geo.cols) << ',' << it.id << ','
                << labelio::csvField(QFileInfo(file).fileName()) << ',' << labelio::csvField(it.sourcePath)
                << ',' << labelio::csvField(it.caption) << ',' << it.pixelSize.width() << ','
                << it.pixelSize.height() << ',' << status << '\n';
            report(position, QStringLiteral("copying"));
        }
        if (cancelled()) {
            manifest.cancelWriting();
            for (const QString &f : std::as_const(res.files))
                QFile::remove(f);
            res.files.clear();
            res.cancelled = true;
            return res;
        }
        csv.flush();
        if (!manifest.commit()) {
            res.error = QStringLiteral("Cannot write %1.").arg(manifest.fileName());
            return res;
        }
        res.files << dir + QStringLiteral("/manifest.csv");
        res.ok = true;
        res.seconds = timer.nsecsElapsed() / 1e9;
        return res;
    }

    // Raster and PDF: one painted sheet.
    const QString ext = format == ExportFormat::Pdf   ? QStringLiteral(".pdf")
                        : format == ExportFormat::Png ? QStringLiteral(".png")
                                                      : QStringLiteral(".tif");
    const QString out = folder + QLatin1Char('/') + stem + ext;
    if (!inside(folder, out) || !clearTarget(out)) {
        res.error = QStringLiteral("%1 is in the way of the export file.").arg(out);
        return res;
    }
    if (format == ExportFormat::Tiff && !QImageWriter::supportedImageFormats().contains("tiff")) {
        res.error =
            QStringLiteral("TIFF export needs Qt's tiff image plugin (package qt6-image-formats-plugins).");
        return res;
    }
    res.output = out;

    std::unique_ptr<QPdfWriter> pdf;
    QImage sheet;
    QPainter painter;
    QRectF target;
    const bool raster = format != ExportFormat::Pdf;
    double pxPerMm = 0;
    if (raster) {
        const int dpi = std::clamp(job.options.dpi, 150, 600);
        res.pixelSize = rasterSize(job.options);
        sheet = QImage(res.pixelSize, QImage::Format_RGB32);
        if (sheet.isNull()) {
            res.error = QStringLiteral("Not enough memory for a %1 x %2 pixel sheet.")
                            .arg(res.pixelSize.width())
                            .arg(res.pixelSize.height());
            return res;
        }
        // The sheet's size in pixels is rounded, so the painted background may
        // stop a fraction of a pixel short of an edge: start from it everywhere
        // (a fresh QImage holds whatever memory it got).
        sheet.fill(job.options.background);
        const int dpm = int(std::lround(dpi / 0.0254));
        sheet.setDotsPerMeterX(dpm);
        sheet.setDotsPerMeterY(dpm);
        painter.begin(&sheet);
        target = QRectF(sheet.rect());
        pxPerMm = res.pixelSize.width() / geo.sheetMm.width();
    } else {
        pdf = std::make_unique<QPdfWriter>(out);
        pdf->setCreator(QStringLiteral("Magpie"));
        pdf->setTitle(job.title);
        pdf->setResolution(1200);
        const bool wide = geo.sheetMm.width() > geo.sheetMm.height();
        const QSizeF portrait = wide ? geo.sheetMm.transposed() : geo.sheetMm;
        pdf->setPageSize(QPageSize(portrait, QPageSize::Millimeter, QString(), QPageSize::ExactMatch));
        pdf->setPageOrientation(wide ? QPageLayout::Landscape : QPageLayout::Portrait);
        pdf->setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout::Millimeter);
        if (!painter.begin(pdf.get())) {
            res.error = QStringLiteral("Cannot write %1.").arg(out);
            return res;
        }
        res.files << out;
        target = QRectF(0, 0, pdf->width(), pdf->height());
    }

    {
        SheetPainter sp(painter, job, target, &res.warnings);
        sp.frame();
        // Decode in chunks on all cores, paint each chunk on this thread.
        const int chunk = std::max(2, threads * 2);
        for (int start = 0; start < n && !cancelled(); start += chunk) {
            const int count = std::min(chunk, n - start);
            std::vector<Decoded> decoded(static_cast<size_t>(count));
            parallelFor(count, [&](int k) {
                const int i = start + k;
                const int cell = sp.cellOf(i);
                if (cell < 0 || cancelled())
                    return;
                if (!raster) {
                    decoded[size_t(k)] = decodeItem(i, 0); // full source resolution
                    // The PDF engine converts to 32-bit before compressing;
                    // doing it here runs it on all cores instead of the painter's.
                    QImage &img = decoded[size_t(k)].image;
                    if (!img.isNull())
                        img = std::move(img).convertToFormat(QImage::Format_RGB32);
                    return;
                }
                // Raster: decode no larger than needed, then scale to the exact
                // device pixels of the cell so painting is a plain copy.
                const QRectF area = geo.imageRects[cell];
                const QSize areaPx(std::max(1, int(std::lround(area.width() * pxPerMm))),
                                   std::max(1, int(std::lround(area.height() * pxPerMm))));
                const QSize known = job.items[i].pixelSize;
                int maxSide = 0;
                if (known.width() > 0 && known.height() > 0) {
                    const double sw = double(areaPx.width()) / known.width();
                    const double sh = double(areaPx.height()) / known.height();
                    const double s = job.options.fit == CellFit::Crop ? std::max(sw, sh) : std::min(sw, sh);
                    if (s < 1.0)
                        maxSide = int(std::ceil(s * std::max(known.width(), known.height()))) + 2;
                }
                Decoded d = decodeItem(i, maxSide);
                if (!d.image.isNull()) {
                    QRectF dest, src;
                    placeImage(QRectF(QPointF(0, 0), QSizeF(areaPx)), d.image.size(), job.options.fit, &dest,
                               &src);
                    QImage part = src.toRect() == d.image.rect() ? d.image : d.image.copy(src.toRect());
                    const QSize want(std::max(1, int(std::lround(dest.width()))),
                                     std::max(1, int(std::lround(dest.height()))));
                    if (part.size() != want)
                        part = part.scaled(want, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
                    d.image = part;
                }
                decoded[size_t(k)] = std::move(d);
            });
            for (int k = 0; k < count && !cancelled(); ++k) {
                const int i = start + k;
                if (sp.cellOf(i) < 0)
                    continue;
                Decoded &d = decoded[size_t(k)];
                if (d.image.isNull())
                    noteMissing(i, d.error.isEmpty() ? QStringLiteral("could not be decoded") : d.error);
                else
                    ++res.images;
                sp.image(i, d.image);
                d.image = QImage();
            }
            report(std::min(n, start + count), QStringLiteral("painting"));
        }
    }
    const qint64 paintedNs = timer.nsecsElapsed();
    painter.end();
    if (cancelled()) {
        pdf.reset();
        QFile::remove(out);
        res.files.clear();
        res.cancelled = true;
        return res;
    }
    if (pdf) {
        pdf.reset(); // flushes
        if (!QFileInfo::exists(out)) {
            res.error = QStringLiteral("Cannot write %1.").arg(out);
            return res;
        }
    } else {
        report(n, QStringLiteral("writing"));
        QImageWriter writer(out, format == ExportFormat::Png ? QByteArray("png") : QByteArray("tiff"));
        if (format == ExportFormat::Png)
            writer.setQuality(80); // zlib level ~1: big sheets are mostly flat colour
        else
            writer.setCompression(1); // LZW
        if (!writer.write(sheet)) {
            QFile::remove(out);
            res.error = QStringLiteral("Cannot write %1: %2").arg(out, writer.errorString());
            return res;
        }
        res.files << out;
    }
    res.ok = true;
    res.seconds = timer.nsecsElapsed() / 1e9;
    res.writeSeconds = (timer.nsecsElapsed() - paintedNs) / 1e9;
    return res;
}

QFuture<PrintExportResult> exportPrintAsync(const PrintJob &job, ExportFormat format, const QString &folder)
{
    return QtConcurrent::run([job, format, folder](QPromise<PrintExportResult> &promise) {
        std::atomic<bool> cancel{false};
        promise.setProgressRange(0, int(job.items.size()));
        PrintExportResult r = exportPrint(
            job, format, folder,
            [&](const ExportProgress &p) {
                promise.setProgressValueAndText(p.done, p.phase);
                if (promise.isCanceled())
                    cancel = true;
            },
            &cancel);
        promise.addResult(std::move(r));
    });
}

bool tuneAllocatorForLargeImages()
{
#if defined(__GLIBC__)
    // Both are needed: the threshold keeps 36-48 MB image buffers off mmap,
    // the trim threshold keeps the freed heap top mapped for the next image.
    const bool a = mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1;
    const bool b = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    return a && b;
#else
    return false;
#endif
}

void releaseFreeMemory()
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

PrintJob printJobFromCollection(const Library &lib, const CollectionInfo &collection,
                                const PrintOptions &options, collections::CaptionSource captionSource)
{
    PrintJob job;
    job.title = collection.title.isEmpty() ? collection.name : collection.title;
    job.subtitle = collection.subtitle;
    job.name = collection.name;
    job.options = options;
    const QHash<qint64, QString> roots = lib.roots();
    for (const CollectionItem &ci : lib.collectionEntries(collection.id)) {
        PrintItem it;
        it.id = ci.imageId;
        if (const auto rec = lib.image(ci.imageId)) {
            it.sourcePath = rec->absPath;
            it.pixelSize = QSize(rec->width, rec->height);
            it.caption = collections::caption(*rec, roots, ci.caption, captionSource);
        } else {
            it.caption = ci.caption.isEmpty() ? QStringLiteral("#%1").arg(ci.imageId) : ci.caption;
        }
        job.items << it;
    }
    return job;
}

} // namespace magpie

namespace magpie {

GridLayout arrangeBySimilarity(const Library &lib, PrintJob &job, quint32 seed, bool colourOnly,
                               const std::atomic<bool> *cancel, QString *featureSource, QString *embeddingNote)
{
    QVector<ImageId> ids;
    for (const PrintItem &it : job.items)
        ids << it.id;
    EmbeddingLookup embeddings;
    if (!colourOnly) {
        EmbeddingCacheInfo info;
        QString why;
        embeddings = openEmbeddingCacheCovering(lib.cacheDir(), ids, &info, &why);
        if (embeddingNote)
            *embeddingNote = embeddings ? QStringLiteral("Embedding cache %1: %2 images, %3 dimensions.")
                                              .arg(info.version)
                                              .arg(info.rows)
                                              .arg(info.dim)
                                        : why;
    }
    const FeatureMatrix fm = collectFeatures(lib, ids, embeddings, cancel);
    if (featureSource)
        *featureSource = featureSourceName(fm.source);
    const SheetGeometry g = sheetGeometry(job);
    LayoutOptions lo;
    lo.rows = job.options.rows;
    lo.cols = job.options.cols;
    lo.seed = seed;
    lo.aspect = g.gridRect.width() / std::max(1e-6, g.gridRect.height());
    if (lo.rows == 0 && lo.cols == 0) { // the shape the sheet chose
        lo.rows = g.rows;
        lo.cols = g.cols;
    }
    const GridLayout layout = layoutGrid(fm, lo);
    job.applyLayout(layout);
    job.notes << fm.notes;
    if (!layout.error.isEmpty())
        job.notes << layout.error;
    return layout;
}

} // namespace magpie
