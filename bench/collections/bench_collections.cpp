// Benchmarks of collection layouts and print export (issue 5). Run through
// bench/collections/run-part.sh (or bench/run.sh collections).
//
//   magpie-bench-collections layout DIR N RUNS [exact|approx|auto]
//       colour/tone features of the first N images of DIR (sorted names), then
//       RUNS layouts: seconds, neighbour distance, random distance, ratio
//   magpie-bench-collections layout-synthetic N RUNS [approx|exact|auto] [DIM]
//       N items drawn from a smooth 2-D manifold in DIM (32) dimensions (sizes
//       and embedding lengths beyond the real data)
//   magpie-bench-collections export DIR N FORMAT PAPER DPI OUTDIR
//       one export of N images of DIR laid out by similarity: seconds and
//       peak RSS of this process (run it once per measurement)
//   magpie-bench-collections make-large DIR N LONGSIDE OUTDIR
//       upscaled JPEG copies of the first N images (camera-size sources)
// Every measurement is one JSON line on stdout.
#include "core/imagedecoder.h"
#include "core/layout.h"
#include "core/printexport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QGuiApplication>
#include <QImageReader>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <algorithm>
#include <cmath>
#include <random>
#include <sys/resource.h>

using namespace magpie;

namespace {

long maxRssKb()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

void emit(const QJsonObject &o)
{
    QTextStream(stdout) << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
}

QStringList images(const QString &dir, int n)
{
    QStringList files =
        QDir(dir).entryList({QStringLiteral("*.jpg"), QStringLiteral("*.png")}, QDir::Files, QDir::Name);
    files = files.mid(0, n);
    for (QString &f : files)
        f = dir + QLatin1Char('/') + f;
    return files;
}

// Colour/tone features straight from the files (no library needed),
// standardised per dimension like collectFeatures() does.
FeatureMatrix featuresOf(const QStringList &files)
{
    FeatureMatrix f;
    f.dim = colourToneDim();
    for (int i = 0; i < files.size(); ++i) {
        QString err;
        const QImage img = decoder::decodeFile(files[i], 96, &err);
        const auto v = colourToneFeature(img);
        f.values.insert(f.values.end(), v.begin(), v.end());
    }
    const int n = f.rows();
    for (int c = 0; c < f.dim; ++c) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; ++i) {
            const double x = f.values[size_t(i) * f.dim + c];
            s += x;
            s2 += x * x;
        }
        const double m = s / n, sd = std::sqrt(std::max(1e-12, s2 / n - m * m));
        for (int i = 0; i < n; ++i)
            f.values[size_t(i) * f.dim + c] = float((f.values[size_t(i) * f.dim + c] - m) / sd);
    }
    return f;
}

FeatureMatrix synthetic(int n, int dim)
{
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    FeatureMatrix f;
    f.dim = dim;
    for (int i = 0; i < n; ++i) {
        const float u = uni(rng), v = uni(rng);
        for (int d = 0; d < dim; ++d)
            f.values.push_back((d % 2 ? std::sin(3 * u + d) : std::cos(2 * v + d)) + noise(rng));
    }
    return f;
}

LayoutOptions::Method methodOf(const QString &s)
{
    if (s == u"exact")
        return LayoutOptions::Method::Exact;
    if (s == u"approx")
        return LayoutOptions::Method::Approximate;
    return LayoutOptions::Method::Auto;
}

int runLayouts(const FeatureMatrix &f, int runs, LayoutOptions::Method method, const QString &data,
               double featureSeconds)
{
    std::vector<double> secs;
    GridLayout last;
    for (int r = 0; r < runs; ++r) {
        LayoutOptions o;
        o.method = method;
        o.seed = 1;
        last = layoutGrid(f, o);
        secs.push_back(last.seconds);
        emit({{QStringLiteral("bench"), QStringLiteral("layout")},
              {QStringLiteral("data"), data},
              {QStringLiteral("n"), f.rows()},
              {QStringLiteral("run"), r + 1},
              {QStringLiteral("grid"), QStringLiteral("%1x%2").arg(last.rows).arg(last.cols)},
              {QStringLiteral("method"), last.method},
              {QStringLiteral("seconds"), last.seconds},
              {QStringLiteral("feature_seconds"), featureSeconds},
              {QStringLiteral("neighbour_distance"), last.neighbourDistance},
              {QStringLiteral("random_distance"), last.randomDistance},
              {QStringLiteral("quality_ratio"), last.qualityRatio()}});
    }
    std::sort(secs.begin(), secs.end());
    emit({{QStringLiteral("bench"), QStringLiteral("layout-summary")},
          {QStringLiteral("data"), data},
          {QStringLiteral("n"), f.rows()},
          {QStringLiteral("runs"), runs},
          {QStringLiteral("method"), last.method},
          {QStringLiteral("median_seconds"), secs[secs.size() / 2]},
          {QStringLiteral("feature_seconds"), featureSeconds},
          {QStringLiteral("quality_ratio"), last.qualityRatio()},
          {QStringLiteral("neighbour_distance"), last.neighbourDistance},
          {QStringLiteral("random_distance"), last.randomDistance}});
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen"); // export paints text: QGuiApplication, no display
    QGuiApplication app(argc, argv);
    // as magpie-cli does; MAGPIE_BENCH_DEFAULT_MALLOC=1 measures without it
    const bool tuned =
        qEnvironmentVariableIsEmpty("MAGPIE_BENCH_DEFAULT_MALLOC") && tuneAllocatorForLargeImages();
    const QStringList a = QCoreApplication::arguments();
    const QString cmd = a.value(1);
    if (cmd == u"layout" && a.size() >= 5) {
        const QStringList files = images(a[2], a[3].toInt());
        QElapsedTimer t;
        t.start();
        const FeatureMatrix f = featuresOf(files);
        const double fs = t.nsecsElapsed() / 1e9;
        return runLayouts(f, a[4].toInt(), methodOf(a.value(5)), QStringLiteral("themes colour-tone"), fs);
    }
    if (cmd == u"layout-synthetic" && a.size() >= 4) {
        const int dim = a.value(5, QStringLiteral("32")).toInt();
        const FeatureMatrix f = synthetic(a[2].toInt(), dim);
        return runLayouts(f, a[3].toInt(), methodOf(a.value(4, QStringLiteral("approx"))),
                          QStringLiteral("synthetic %1-d manifold").arg(dim), 0);
    }
    if (cmd == u"export" && a.size() >= 8) {
        const QStringList files = images(a[2], a[3].toInt());
        const auto fmt = parseExportFormat(a[4]);
        const auto paper = parsePaper(a[5]);
        if (!fmt || !paper) {
            QTextStream(stderr) << "bad format or paper\n";
            return 2;
        }
        QElapsedTimer total;
        total.start();
        const FeatureMatrix f = featuresOf(files);
        PrintJob job;
        job.title = QStringLiteral("%1 images from the themes archive").arg(files.size());
        job.subtitle = QStringLiteral("magpie-bench-collections");
        job.name = QStringLiteral("bench-%1-%2dpi").arg(a[5]).arg(a[6]);
        job.options.paper = *paper;
        job.options.dpi = a[6].toInt();
        for (int i = 0; i < files.size(); ++i) {
            PrintItem it;
            it.id = i + 1;
            it.sourcePath = files[i];
            it.caption = QFileInfo(files[i]).fileName();
            it.pixelSize = QImageReader(files[i]).size(); // what the library stores (header only)
            job.items << it;
        }
        const SheetGeometry g0 = sheetGeometry(job);
        LayoutOptions lo;
        lo.rows = g0.rows;
        lo.cols = g0.cols;
        const GridLayout layout = layoutGrid(f, lo);
        job.applyLayout(layout);
        const double prepSeconds = total.nsecsElapsed() / 1e9;
        const PrintExportResult r = exportPrint(job, *fmt, a[7]);
        emit({{QStringLiteral("bench"), QStringLiteral("export")},
              {QStringLiteral("n"), int(files.size())},
              {QStringLiteral("format"), exportFormatName(*fmt)},
              {QStringLiteral("paper"), paperName(*paper)},
              {QStringLiteral("dpi"), job.options.dpi},
              {QStringLiteral("ok"), r.ok},
              {QStringLiteral("error"), r.error},
              {QStringLiteral("export_seconds"), r.seconds},
              {QStringLiteral("write_seconds"), r.writeSeconds},
              {QStringLiteral("prepare_seconds"), prepSeconds},
              {QStringLiteral("width_px"), r.pixelSize.width()},
              {QStringLiteral("height_px"), r.pixelSize.height()},
              {QStringLiteral("bytes"), r.output.isEmpty() ? 0 : QFileInfo(r.output).size()},
              {QStringLiteral("images"), r.images},
              {QStringLiteral("placeholders"), r.placeholders},
              {QStringLiteral("max_rss_kb"), qint64(maxRssKb())},
              {QStringLiteral("malloc_tuned"), tuned}});
        return r.ok ? 0 : 1;
    }
    if (cmd == u"make-large" && a.size() >= 6) {
        // Upscaled copies of the first N images, long side L, JPEG quality 90:
        // stand-ins for camera-size sources (the themes images are <= 200 px).
        const QStringList files = images(a[2], a[3].toInt());
        const int longSide = a[4].toInt();
        QDir().mkpath(a[5]);
        for (const QString &f : files) {
            QString err;
            const QImage img = decoder::decodeFile(f, 0, &err);
            const QImage big = img.width() >= img.height()
                                   ? img.scaledToWidth(longSide, Qt::SmoothTransformation)
                                   : img.scaledToHeight(longSide, Qt::SmoothTransformation);
            big.save(a[5] + QLatin1Char('/') + QFileInfo(f).completeBaseName() + QStringLiteral(".jpg"),
                     "JPEG", 90);
        }
        return 0;
    }
    QTextStream(stderr) << "usage: magpie-bench-collections layout DIR N RUNS [exact|approx|auto] | "
                           "layout-synthetic N RUNS [approx|exact] | export DIR N FORMAT PAPER DPI OUTDIR\n";
    return 2;
}
