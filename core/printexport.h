#pragma once

#include "core/collections.h"
#include "core/types.h"

#include <QColor>
#include <QFuture>
#include <QImage>
#include <QRectF>
#include <QSize>
#include <QSizeF>
#include <QString>
#include <QStringList>
#include <QTransform>
#include <QVector>

#include <atomic>
#include <functional>

class QPainter;

namespace magpie {

class Library;
struct GridLayout;

// How an image sits in its cell.
enum class CellFit {
    Fit,      // whole image, letterboxed in the cell
    Crop,     // fills the cell, cut to the cell's proportions
    Original, // cells take the images' median proportions; each image fitted whole
};
enum class Paper { A4, A3, A2, Letter, Custom };
enum class PageOrientation { Portrait, Landscape };
enum class ExportFormat {
    Pdf,    // vector text, every image embedded at its full source resolution
    Png,    // one raster sheet at options.dpi
    Tiff,   // the same, LZW-compressed (needs Qt's tiff image plugin)
    Folder, // the source files, copied, in grid order, plus manifest.csv
};

QString cellFitName(CellFit f);
QString paperName(Paper p);
QString exportFormatName(ExportFormat f);
std::optional<CellFit> parseCellFit(const QString &s);
std::optional<Paper> parsePaper(const QString &s);
std::optional<ExportFormat> parseExportFormat(const QString &s); // pdf, png, tif/tiff, folder

// Everything about the sheet that is not the images. Lengths in millimetres,
// font sizes in points (1/72 inch).
struct PrintOptions
{
    Paper paper = Paper::A4;
    QSizeF customSizeMm{210.0, 297.0}; // width x height before orientation (Paper::Custom)
    PageOrientation orientation = PageOrientation::Portrait;
    double marginMm = 12.0; // inside the trim edge, around title and grid
    double bleedMm = 0.0;   // background extends this far outside the trim on every side
    double gutterMm = 3.0;  // between cells
    CellFit fit = CellFit::Fit;
    QColor background = QColor(255, 255, 255);
    QColor textColour = QColor(20, 20, 20);
    bool captions = true;
    double captionPt = 7.0;
    bool titleBlock = true;
    double titlePt = 28.0;
    double subtitlePt = 14.0;
    int dpi = 300; // raster exports; clamped to 150..600
    int rows = 0;  // grid shape when no layout is given; 0 = chooseGrid()
    int cols = 0;
};

// One image to print.
struct PrintItem
{
    ImageId id = 0;
    QString sourcePath; // full-resolution source file
    QString caption;
    QSize pixelSize; // as displayed (after EXIF orientation); empty when unknown
};

// A sheet to paint: the items and which cell each goes to.
struct PrintJob
{
    QString title;
    QString subtitle;
    QString name; // file name stem for exports (made safe); title when empty
    QVector<PrintItem> items;
    int rows = 0; // 0: options.rows/cols, else chooseGrid()
    int cols = 0;
    QVector<int> itemAtCell; // per cell: an index into items, or -1; empty = reading order
    PrintOptions options;
    QStringList notes; // e.g. how the layout was made; carried into the export result

    // Takes shape and cell order from a layout of these items (same order).
    void applyLayout(const GridLayout &layout);
};

// Where everything goes on the sheet, in millimetres from the top-left corner
// of the sheet including bleed.
struct SheetGeometry
{
    QSizeF sheetMm; // trim + 2 x bleed
    QRectF trimRect;
    QRectF contentRect; // trim minus margins
    QRectF titleRect;   // empty without a title block
    QRectF subtitleRect;
    QRectF gridRect;
    int rows = 0;
    int cols = 0;
    QVector<QRectF> imageRects;   // per cell: where the image may go
    QVector<QRectF> captionRects; // per cell: empty without captions
};

// The trim size after orientation.
QSizeF paperSizeMm(const PrintOptions &options);
SheetGeometry sheetGeometry(const PrintJob &job);
// Pixel size of a raster export: the sheet (bleed included) at options.dpi.
QSize rasterSize(const PrintOptions &options);

// The mapping paintSheet() uses from sheet millimetres to painter
// coordinates in `target` (sheet centred, proportions kept). Invert it to
// turn a mouse position in a preview into millimetres.
QTransform sheetTransform(const SheetGeometry &geometry, const QRectF &target);
// The cell whose rectangle (image and caption) holds `mm`, or -1 (gutters,
// margins, title). For drag-to-reorder in a preview.
int cellAt(const SheetGeometry &geometry, const QPointF &mm);

// Where an image of `imageSize` goes in `area` (dest, in area's units) and
// which part of it is shown (source, in image pixels).
void placeImage(const QRectF &area, const QSizeF &imageSize, CellFit fit, QRectF *dest, QRectF *source);

// The image for item i at any resolution (paintSheet fits or crops it), or a
// null QImage for a placeholder. Called on the painting thread.
using ImageProvider = std::function<QImage(int item)>;

// Paints the whole sheet into `target` (painter coordinates; the sheet's
// proportions are kept, the sheet is centred). The on-screen preview and
// every export use this same function. Text needs a QGuiApplication (fonts);
// without one the text is left out and a warning is appended. Missing images
// (null from `images`) are painted as placeholders. Runs on any thread that
// may paint on the painter's device (QImage and QPdfWriter: any thread).
// A preview passes thumbnails; it then differs from the export only in image
// resolution.
void paintSheet(QPainter &painter, const PrintJob &job, const QRectF &target, const ImageProvider &images,
                QStringList *warnings = nullptr);

struct ExportProgress
{
    int done = 0; // images placed
    int total = 0;
    QString phase; // "painting" (decode + paint), "writing" (raster encode), "copying" (folder)
};

struct PrintExportResult
{
    bool ok = false;
    bool cancelled = false;
    QString error;        // set when !ok and !cancelled
    QString output;       // the file (or folder) written
    QStringList files;    // every file written
    QStringList warnings; // missing sources (placeholders), text left out, notes
    int images = 0;       // cells filled with a real image
    int placeholders = 0; // cells painted as "missing"
    QSize pixelSize;      // raster exports
    double seconds = 0;
    double writeSeconds = 0; // of `seconds`: encoding the raster file, or finishing the PDF
};

// Exports `job` into `folder` (created when missing). The output is
// folder/<safe name>.pdf|.png|.tif, or the folder folder/<safe name>/ with the
// files and manifest.csv. Nothing is written outside `folder` whatever the
// name, title or source file names contain (names are made safe; a symbolic
// link in the way is replaced, never followed). A source that is missing or
// fails to decode becomes a placeholder and a warning, never a failed export.
// `progress` is called on the calling thread; `cancel` is polled between
// images; a cancelled export removes its partial output. Decodes on up to
// QThread::idealThreadCount() threads. Blocking: a GUI runs it through
// QtConcurrent::run (it touches no library and no widget), forwarding
// progress through a QPromise and cancel from the promise's state.
PrintExportResult exportPrint(const PrintJob &job, ExportFormat format, const QString &folder,
                              const std::function<void(const ExportProgress &)> &progress = {},
                              const std::atomic<bool> *cancel = nullptr);

// exportPrint() on QThreadPool::globalInstance(), for a GUI: the future
// reports progress (value = images placed of items.size(), text = phase),
// cancel() stops it at the next image batch (the result then says
// cancelled), and its one result is the PrintExportResult. The job is copied.
QFuture<PrintExportResult> exportPrintAsync(const PrintJob &job, ExportFormat format, const QString &folder);

// Process-wide glibc malloc policy for tools that export large prints:
// buffers up to 1 GiB come from the heap and freed memory is kept for reuse
// instead of being unmapped and page-faulted in again for every image (a
// full-resolution PDF of 64 12-megapixel sources: ~35 s -> ~8 s on 2 cores).
// The cost is a process that keeps up to ~0.5 GiB it no longer uses until
// releaseFreeMemory(). Call once, early, from main() of a command-line tool;
// a GUI may prefer not to. Returns false where it is not supported.
bool tuneAllocatorForLargeImages();
// Returns freed heap memory to the system (glibc malloc_trim).
void releaseFreeMemory();

// Arranges `job` so that similar images sit together: features from the
// library's embedding cache when it covers every item (unless
// `colourOnly`), else colour/tone of the thumbnails (noted in job.notes); the
// grid shape the sheet chose unless job.options sets rows/cols. Reads the
// library on the calling thread. `featureSource` tells what was used.
GridLayout arrangeBySimilarity(const Library &lib, PrintJob &job, quint32 seed, bool colourOnly = false,
                               const std::atomic<bool> *cancel = nullptr, QString *featureSource = nullptr,
                               QString *embeddingNote = nullptr);

// A job from a collection: its title and subtitle, its items in order with
// captions (own caption, else from `captionSource`) and source paths.
PrintJob
printJobFromCollection(const Library &lib, const CollectionInfo &collection, const PrintOptions &options,
                       collections::CaptionSource captionSource = collections::CaptionSource::FileName);

} // namespace magpie
