// Print sheets: geometry, PDF/PNG/TIFF/folder export, placeholders, path safety
// (core/printexport.h). Text needs fonts, and fonts need a QGuiApplication,
// so this test runs a QGuiApplication on the offscreen platform instead of
// QTEST_GUILESS_MAIN.
#include "core/layout.h"
#include "core/printexport.h"

#include <QDirIterator>
#include <QGuiApplication>
#include <QImageReader>
#include <QPainter>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#ifdef MAGPIE_HAVE_QTPDF
#include <QPdfDocument>
#endif

using namespace magpie;

namespace {

QColor colourFor(int i)
{
    return QColor::fromHsv((i * 47) % 360, 200, 60 + (i * 37) % 180);
}

// Writes n small JPEGs of distinct sizes and colours; returns the job.
PrintJob makeJob(const QString &dir, int n, const QString &title = QStringLiteral("Sixteen very sad girls"))
{
    PrintJob job;
    job.title = title;
    job.subtitle = QStringLiteral("a test sheet");
    for (int i = 0; i < n; ++i) {
        const QSize size(100 + 10 * i, 80 + 5 * (i % 4));
        QImage img(size, QImage::Format_RGB888);
        img.fill(colourFor(i));
        const QString path = QStringLiteral("%1/img_%2.png").arg(dir).arg(i);
        img.save(path);
        PrintItem it;
        it.id = i + 1;
        it.sourcePath = path;
        it.caption = QStringLiteral("img_%1.png").arg(i);
        it.pixelSize = size;
        job.items << it;
    }
    return job;
}

QStringList allFiles(const QString &root)
{
    QStringList out;
    QDirIterator it(root, QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System,
                    QDirIterator::Subdirectories);
    while (it.hasNext())
        out << it.next();
    out.sort();
    return out;
}

} // namespace

class TestPrintExport : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void paperSizes_data()
    {
        QTest::addColumn<int>("paper");
        QTest::addColumn<int>("orientation");
        QTest::addColumn<QSizeF>("mm");
        QTest::newRow("A4 portrait") << int(Paper::A4) << int(PageOrientation::Portrait) << QSizeF(210, 297);
        QTest::newRow("A3 landscape")
            << int(Paper::A3) << int(PageOrientation::Landscape) << QSizeF(420, 297);
        QTest::newRow("A2 portrait") << int(Paper::A2) << int(PageOrientation::Portrait) << QSizeF(420, 594);
        QTest::newRow("Letter portrait")
            << int(Paper::Letter) << int(PageOrientation::Portrait) << QSizeF(215.9, 279.4);
    }
    void paperSizes()
    {
        QFETCH(int, paper);
        QFETCH(int, orientation);
        QFETCH(QSizeF, mm);
        PrintOptions o;
        o.paper = Paper(paper);
        o.orientation = PageOrientation(orientation);
        QCOMPARE(paperSizeMm(o), mm);
    }

    void geometryStaysInsideMargins()
    {
        PrintJob job;
        job.items.resize(10);
        job.title = QStringLiteral("T");
        job.options.marginMm = 15;
        job.options.bleedMm = 3;
        const SheetGeometry g = sheetGeometry(job);
        QCOMPARE(g.sheetMm, QSizeF(216, 303));
        QVERIFY(g.rows * g.cols >= 10);
        for (const QRectF &r : g.imageRects)
            QVERIFY(g.contentRect.adjusted(-1e-6, -1e-6, 1e-6, 1e-6).contains(r));
        QVERIFY(!g.titleRect.isEmpty());
        QVERIFY(g.gridRect.top() >= g.titleRect.bottom());
    }

    void pngAt300Dpi()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 6);
        job.options.paper = Paper::A4;
        job.options.dpi = 300;
        const PrintExportResult r = exportPrint(job, ExportFormat::Png, tmp.filePath(QStringLiteral("out")));
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.images, 6);
        QCOMPARE(r.placeholders, 0);
        QImageReader reader(r.output);
        QCOMPARE(reader.size(), QSize(2480, 3508));
        const QImage back = reader.read();
        QCOMPARE(back.dotsPerMeterX(), 11811);
        // the first cell shows the first image's colour
        const SheetGeometry g = sheetGeometry(job);
        const double pxPerMm = 2480 / 210.0;
        QRectF dest;
        placeImage(g.imageRects[0], QSizeF(job.items[0].pixelSize), CellFit::Fit, &dest, nullptr);
        const QColor c = back.pixelColor((dest.center() * pxPerMm).toPoint());
        const QColor want = colourFor(0);
        QVERIFY2(std::abs(c.red() - want.red()) < 12 && std::abs(c.green() - want.green()) < 12 &&
                     std::abs(c.blue() - want.blue()) < 12,
                 qPrintable(c.name() + QStringLiteral(" vs ") + want.name()));
        // the paper's edges are the background, every pixel of them (the sheet is
        // a fraction of a pixel taller than A4's 297 mm at 300 dpi)
        const QRgb paper = job.options.background.rgb();
        for (int x = 0; x < back.width(); ++x)
            for (int y : {0, back.height() - 1})
                QVERIFY2(back.pixel(x, y) == paper, qPrintable(QStringLiteral("(%1, %2) is %3").arg(x).arg(y).arg(back.pixelColor(x, y).name())));
        for (int y = 0; y < back.height(); ++y)
            for (int x : {0, back.width() - 1})
                QVERIFY2(back.pixel(x, y) == paper, qPrintable(QStringLiteral("(%1, %2) is %3").arg(x).arg(y).arg(back.pixelColor(x, y).name())));
    }

    void tiffWithBleed()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 4);
        job.options.paper = Paper::A4;
        job.options.orientation = PageOrientation::Landscape;
        job.options.bleedMm = 3;
        job.options.dpi = 150;
        const PrintExportResult r = exportPrint(job, ExportFormat::Tiff, tmp.filePath(QStringLiteral("out")));
        QVERIFY2(r.ok, qPrintable(r.error));
        QVERIFY(r.output.endsWith(QStringLiteral(".tif")));
        // (297 + 6) x (210 + 6) mm at 150 dpi
        QCOMPARE(QImageReader(r.output).size(), QSize(1789, 1276));
    }

    void pdfReadsBack_data()
    {
        QTest::addColumn<int>("paper");
        QTest::addColumn<int>("orientation");
        QTest::addColumn<int>("fit");
        QTest::addColumn<QSizeF>("points");
        QTest::newRow("A4 portrait fit")
            << int(Paper::A4) << int(PageOrientation::Portrait) << int(CellFit::Fit) << QSizeF(595.3, 841.9);
        QTest::newRow("A3 landscape crop") << int(Paper::A3) << int(PageOrientation::Landscape)
                                           << int(CellFit::Crop) << QSizeF(1190.6, 841.9);
    }
    void pdfReadsBack()
    {
        QFETCH(int, paper);
        QFETCH(int, orientation);
        QFETCH(int, fit);
        QFETCH(QSizeF, points);
        QTemporaryDir tmp;
        const int n = 9;
        PrintJob job = makeJob(tmp.path(), n);
        job.options.paper = Paper(paper);
        job.options.orientation = PageOrientation(orientation);
        job.options.fit = CellFit(fit);
        const PrintExportResult r = exportPrint(job, ExportFormat::Pdf, tmp.filePath(QStringLiteral("out")));
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.images, n);

        QFile f(r.output);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString pdf = QString::fromLatin1(f.readAll());
        // one image XObject per image, at full source resolution (fit) or the
        // full-resolution crop (crop); text as fonts, not pixels
        const auto images = pdf.count(QRegularExpression(QStringLiteral("/Subtype\\s*/Image")));
        QCOMPARE(int(images), n);
        QVERIFY(pdf.contains(QRegularExpression(QStringLiteral("/Type\\s*/Font"))));
        if (CellFit(fit) == CellFit::Fit)
            for (const PrintItem &it : job.items)
                QVERIFY2(pdf.contains(
                             QRegularExpression(QStringLiteral("/Width\\s+%1\\b").arg(it.pixelSize.width()))),
                         qPrintable(QString::number(it.pixelSize.width())));

#ifdef MAGPIE_HAVE_QTPDF
        QPdfDocument doc;
        QCOMPARE(doc.load(r.output), QPdfDocument::Error::None);
        QCOMPARE(doc.pageCount(), 1);
        const QSizeF pt = doc.pagePointSize(0);
        QVERIFY2(std::abs(pt.width() - points.width()) < 1.0 && std::abs(pt.height() - points.height()) < 1.0,
                 qPrintable(QStringLiteral("%1 x %2").arg(pt.width()).arg(pt.height())));
        const QImage page = doc.render(0, (pt * 0.5).toSize());
        QVERIFY(!page.isNull());
        // the rendered page shows image colours, not only background
        int coloured = 0;
        for (int y = 0; y < page.height(); y += 4)
            for (int x = 0; x < page.width(); x += 4)
                if (page.pixelColor(x, y).saturation() > 100)
                    ++coloured;
        QVERIFY(coloured > 100);
#else
        Q_UNUSED(points)
#endif
    }

    void missingSourceGivesPlaceholder()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 4);
        QFile::remove(job.items[2].sourcePath);
        job.items[3].sourcePath = tmp.filePath(QStringLiteral("not-an-image.png"));
        QFile junk(job.items[3].sourcePath);
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("this is not a png");
        junk.close();
        job.options.dpi = 150;
        for (ExportFormat fmt : {ExportFormat::Png, ExportFormat::Pdf, ExportFormat::Folder}) {
            const PrintExportResult r = exportPrint(job, fmt, tmp.filePath(QStringLiteral("out")));
            QVERIFY2(r.ok, qPrintable(r.error));
            if (fmt == ExportFormat::Folder) {
                QCOMPARE(r.placeholders, 1); // the junk file copies fine: it is a file
                QCOMPARE(r.images, 3);
            } else {
                QCOMPARE(r.placeholders, 2);
                QCOMPARE(r.images, 2);
            }
            QVERIFY(r.warnings.join(QLatin1Char('\n')).contains(job.items[2].sourcePath));
        }
        // the placeholder is painted where image 2 goes
        const PrintExportResult r = exportPrint(job, ExportFormat::Png, tmp.filePath(QStringLiteral("out2")));
        const QImage back(r.output);
        const SheetGeometry g = sheetGeometry(job);
        const QRectF area = g.imageRects[2];
        const double pxPerMm = back.width() / g.sheetMm.width();
        const QColor c = back.pixelColor(QPointF((area.left() + area.width() * 0.2) * pxPerMm,
                                                 (area.top() + area.height() * 0.5) * pxPerMm)
                                             .toPoint());
        QCOMPARE(c, QColor(225, 225, 225));
    }

    void folderWithManifest()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 5);
        job.name = QStringLiteral("my set");
        const PrintExportResult r =
            exportPrint(job, ExportFormat::Folder, tmp.filePath(QStringLiteral("out")));
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.output,
                 QDir(tmp.filePath(QStringLiteral("out"))).canonicalPath() + QStringLiteral("/my set"));
        QFile m(r.output + QStringLiteral("/manifest.csv"));
        QVERIFY(m.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(m.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 6);
        QVERIFY(lines[0].startsWith(QStringLiteral("position,row,col,image_id,file")));
        QVERIFY(QFileInfo::exists(r.output + QStringLiteral("/0001_img_0.png")));
    }

    void hostileNamesStayInside_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("dotdot") << QStringLiteral("../../escape");
        QTest::newRow("absolute") << QStringLiteral("/tmp/magpie-escape");
        QTest::newRow("backslash") << QStringLiteral("..\\..\\escape");
        QTest::newRow("dots only") << QStringLiteral("..");
        QTest::newRow("newline") << QStringLiteral("a\nb/../../c");
        QTest::newRow("empty") << QString();
    }
    void hostileNamesStayInside()
    {
        QFETCH(QString, name);
        QTemporaryDir tmp;
        const QString src = tmp.filePath(QStringLiteral("src"));
        QDir().mkpath(src);
        PrintJob job = makeJob(src, 3, name);
        job.name = name;
        job.subtitle = name;
        // a source whose file name is hostile too
        const QString odd = src + QStringLiteral("/..hidden;rm -rf $HOME.png");
        QVERIFY(QFile::copy(job.items[0].sourcePath, odd));
        job.items[0].sourcePath = odd;
        job.items[1].caption = name;
        job.options.dpi = 150;
        const QString out = tmp.filePath(QStringLiteral("deep/out"));
        for (ExportFormat fmt :
             {ExportFormat::Pdf, ExportFormat::Png, ExportFormat::Tiff, ExportFormat::Folder}) {
            const PrintExportResult r = exportPrint(job, fmt, out);
            QVERIFY2(r.ok, qPrintable(r.error));
            for (const QString &f : r.files)
                QVERIFY2(QDir::cleanPath(f).startsWith(QDir(out).canonicalPath() + QLatin1Char('/')),
                         qPrintable(f));
        }
        // nothing appeared anywhere but src/ and deep/out/
        for (const QString &f : allFiles(tmp.path()))
            QVERIFY2(f.startsWith(src) || f.startsWith(tmp.filePath(QStringLiteral("deep"))), qPrintable(f));
        QVERIFY(!QFileInfo::exists(QStringLiteral("/tmp/magpie-escape.pdf")));
        QVERIFY(!QFileInfo::exists(QStringLiteral("/tmp/magpie-escape.png")));
    }

    void symlinkInTheWayIsReplacedNotFollowed()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 2, QStringLiteral("sheet"));
        const QString out = tmp.filePath(QStringLiteral("out"));
        QDir().mkpath(out);
        const QString victim = tmp.filePath(QStringLiteral("victim.txt"));
        QFile v(victim);
        QVERIFY(v.open(QIODevice::WriteOnly));
        v.write("keep me");
        v.close();
        QVERIFY(QFile::link(victim, out + QStringLiteral("/sheet.png")));
        QVERIFY(QFile::link(victim, out + QStringLiteral("/sheet.pdf")));
        job.options.dpi = 150;
        QVERIFY(exportPrint(job, ExportFormat::Png, out).ok);
        QVERIFY(exportPrint(job, ExportFormat::Pdf, out).ok);
        QVERIFY(!QFileInfo(out + QStringLiteral("/sheet.png")).isSymLink());
        QVERIFY(!QFileInfo(out + QStringLiteral("/sheet.pdf")).isSymLink());
        QVERIFY(v.open(QIODevice::ReadOnly));
        QCOMPARE(v.readAll(), QByteArray("keep me"));
    }

    void cancelRemovesPartialOutput()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 8);
        std::atomic<bool> cancel{false};
        int calls = 0;
        const PrintExportResult r = exportPrint(
            job, ExportFormat::Pdf, tmp.filePath(QStringLiteral("out")),
            [&](const ExportProgress &) {
                ++calls;
                cancel = true;
            },
            &cancel);
        QVERIFY(r.cancelled);
        QVERIFY(!r.ok);
        QVERIFY(calls >= 1);
        QVERIFY(!QFileInfo::exists(r.output));
    }

    void previewUsesTheSamePainting()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 4);
        job.options.dpi = 150;
        const PrintExportResult r = exportPrint(job, ExportFormat::Png, tmp.filePath(QStringLiteral("out")));
        QVERIFY(r.ok);
        // a preview at a tenth of the size, images from a provider
        QImage preview(r.pixelSize / 10, QImage::Format_RGB32);
        preview.fill(Qt::black);
        QPainter p(&preview);
        QStringList warnings;
        paintSheet(
            p, job, QRectF(preview.rect()), [&](int i) { return QImage(job.items[i].sourcePath); },
            &warnings);
        p.end();
        QVERIFY(warnings.isEmpty());
        const QImage full =
            QImage(r.output).scaled(preview.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        double diff = 0;
        for (int y = 0; y < preview.height(); ++y)
            for (int x = 0; x < preview.width(); ++x) {
                const QRgb a = preview.pixel(x, y), b = full.pixel(x, y);
                diff += std::abs(qRed(a) - qRed(b)) + std::abs(qGreen(a) - qGreen(b)) +
                        std::abs(qBlue(a) - qBlue(b));
            }
        diff /= 3.0 * preview.width() * preview.height();
        QVERIFY2(diff < 6.0, qPrintable(QString::number(diff)));
    }

    void asyncExportReportsProgress()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 5);
        job.options.dpi = 150;
        QFuture<PrintExportResult> f = exportPrintAsync(job, ExportFormat::Png, tmp.filePath(QStringLiteral("out")));
        f.waitForFinished();
        QCOMPARE(f.resultCount(), 1);
        const PrintExportResult r = f.result();
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.images, 5);
        QCOMPARE(f.progressMaximum(), 5);
        QCOMPARE(f.progressValue(), 5);
    }

    void previewHitTesting()
    {
        PrintJob job;
        job.items.resize(12);
        job.title = QStringLiteral("T");
        const SheetGeometry g = sheetGeometry(job);
        const QRectF target(10, 20, 300, 300); // wider than the sheet: centred horizontally
        const QTransform t = sheetTransform(g, target);
        const QTransform inv = t.inverted();
        for (int cell = 0; cell < g.imageRects.size(); ++cell) {
            const QPointF onScreen = t.map(g.imageRects[cell].center());
            QVERIFY(target.contains(onScreen));
            QCOMPARE(cellAt(g, inv.map(onScreen)), cell);
        }
        QCOMPARE(cellAt(g, g.titleRect.center()), -1);
        QCOMPARE(cellAt(g, QPointF(1, 1)), -1);
        QCOMPARE(t.map(QPointF(0, 0)).y(), 20.0);
    }

    void layoutOrderIsUsed()
    {
        QTemporaryDir tmp;
        PrintJob job = makeJob(tmp.path(), 4);
        GridLayout l;
        l.rows = 2;
        l.cols = 2;
        l.itemAtCell = {3, 2, 1, 0};
        job.applyLayout(l);
        job.options.dpi = 150;
        const PrintExportResult r =
            exportPrint(job, ExportFormat::Folder, tmp.filePath(QStringLiteral("out")));
        QVERIFY(r.ok);
        QVERIFY(QFileInfo::exists(r.output + QStringLiteral("/0001_img_3.png")));
        QVERIFY(QFileInfo::exists(r.output + QStringLiteral("/0004_img_0.png")));
    }
};

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    TestPrintExport t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_printexport.moc"
