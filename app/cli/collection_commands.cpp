// magpie-cli collection: make collections and print them.
#include "app/cli/collection_commands.h"

#include "app/cli/cli.h"
#include "core/collections.h"
#include "core/embeddingcache.h"
#include "core/layout.h"
#include "core/labelio.h"
#include "core/library.h"
#include "core/printexport.h"

#include <QCommandLineParser>
#include <QFile>
#include <QGuiApplication>
#include <QJsonArray>
#include <QSet>
#include <QJsonObject>
#include <QTextStream>

#include <cstring>
#include <unistd.h>

namespace magpie::cli {

std::unique_ptr<QCoreApplication> makeApplication(int &argc, char **argv)
{
    // The command is the first argument that is not a global option (or its value).
    bool collection = false;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (std::strcmp(a, "-L") == 0 || std::strcmp(a, "--library") == 0) {
            ++i;
            continue;
        }
        if (a[0] == '-')
            continue;
        // only `collection export` paints; create/add/list stay plain QCoreApplication
        collection =
            (std::strcmp(a, "collection") == 0 && i + 1 < argc && std::strcmp(argv[i + 1], "export") == 0)
            || std::strcmp(a, "demo") == 0; // the demo ends with a print
        break;
    }
    if (!collection)
        return std::make_unique<QCoreApplication>(argc, argv);
    qputenv("QT_QPA_PLATFORM", "offscreen"); // text needs fonts, fonts need a platform; never a window
    // The offscreen platform complains about XDG_RUNTIME_DIR, which a headless tool never uses.
    static QtMessageHandler previous = nullptr;
    previous = qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &ctx, const QString &msg) {
        if (type == QtWarningMsg && msg.startsWith(QLatin1String("QStandardPaths: ")))
            return;
        if (previous)
            previous(type, ctx, msg);
        else
            QTextStream(stderr) << msg << '\n';
    });
    tuneAllocatorForLargeImages(); // a short-lived tool: reuse big image buffers (see printexport.h)
    return std::make_unique<QGuiApplication>(argc, argv);
}

namespace {

Context subContext(const Context &c, const QString &sub)
{
    Context sc = c;
    sc.args = QStringList{c.args[0] + QLatin1Char(' ') + sub} + c.args.mid(2);
    return sc;
}

// Reads ids or paths, one per line ('#' starts a comment), from a file or "-" (stdin).
bool readSelection(const Context &c, const QString &file, QStringList *tokens)
{
    QFile f;
    if (file == u"-") {
        if (!f.open(stdin, QIODevice::ReadOnly)) {
            c.error(QStringLiteral("Cannot read standard input."));
            return false;
        }
    } else {
        f.setFileName(file);
        if (!f.open(QIODevice::ReadOnly)) {
            c.error(QStringLiteral("Cannot read %1: %2").arg(file, f.errorString()));
            return false;
        }
    }
    QTextStream in(&f);
    while (!in.atEnd()) {
        const QString line = in.readLine().trimmed();
        if (!line.isEmpty() && !line.startsWith(QLatin1Char('#')))
            *tokens << line;
    }
    return true;
}

struct SourceOptions
{
    QCommandLineOption category{QStringLiteral("from-category"),
                                QStringLiteral("The images answered Yes in this category."),
                                QStringLiteral("NAME")};
    QCommandLineOption cls{QStringLiteral("class"),
                           QStringLiteral("With --from-category on a class set: only this class."),
                           QStringLiteral("CLASS")};
    QCommandLineOption selection{
        QStringLiteral("from-file"),
        QStringLiteral("Ids or paths listed one per line in FILE (- for stdin): a "
                       "selection saved by the app or a script."),
        QStringLiteral("FILE")};
    QCommandLineOption like{
        QStringLiteral("like"),
        QStringLiteral("More like this: the image (id or path) and its nearest neighbours in "
                       "the embedding cache (--limit in all, default 36)."),
        QStringLiteral("IMAGE")};
    QCommandLineOption limit{QStringLiteral("limit"), QStringLiteral("At most N images."),
                             QStringLiteral("N")};

    void addTo(QCommandLineParser &p) { p.addOptions({category, cls, selection, like, limit}); }
};

// Collects the ids named by the source options and positional arguments.
// Returns false (with *exit set) on a usage or lookup error.
bool gatherIds(const Context &c, const Library &lib, QCommandLineParser &p, const SourceOptions &so,
               const QStringList &positional, QVector<ImageId> *ids, QStringList *unresolved, int *exit)
{
    if (p.isSet(so.category)) {
        const auto cat = lib.category(p.value(so.category));
        if (!cat) {
            c.error(noSuchCategory(lib, p.value(so.category)));
            *exit = Failed;
            return false;
        }
        ClassId classId = 0;
        if (p.isSet(so.cls)) {
            classId = labelio::classIdOf(*cat, p.value(so.cls));
            if (!classId) {
                c.error(QStringLiteral("Category \u201c%1\u201d has no class \u201c%2\u201d.")
                            .arg(cat->name, p.value(so.cls)));
                *exit = Failed;
                return false;
            }
        }
        *ids += collections::yesImages(lib, *cat, classId);
        if (cat->kind == CategoryKind::ClassSet && !classId)
            c.error(QStringLiteral("Note: \u201c%1\u201d is a class set; this takes the yes-answers of all its %2 classes "
                                   "(--class NAME for one).").arg(cat->name).arg(cat->classes.size()));
    }
    if (p.isSet(so.like)) {
        QStringList missing;
        const QVector<ImageId> seed = collections::resolveImages(lib, {p.value(so.like)}, &missing);
        if (seed.isEmpty()) {
            c.error(QStringLiteral("No image matches \u201c%1\u201d.").arg(p.value(so.like)));
            *exit = Failed;
            return false;
        }
        const int k = p.isSet(so.limit) ? std::max(0, p.value(so.limit).toInt() - 1) : 35;
        QString why;
        const QVector<ImageId> near = nearestInEmbeddingCache(lib.cacheDir(), seed.first(), k, &why);
        if (near.isEmpty()) {
            c.error(why + QStringLiteral(" (--like needs embeddings: magpie-cli embed)"));
            *exit = Failed;
            return false;
        }
        *ids << seed.first() << near;
    }
    QStringList tokens = positional;
    if (p.isSet(so.selection) && !readSelection(c, p.value(so.selection), &tokens)) {
        *exit = Failed;
        return false;
    }
    // An image that cannot be shown (unreadable, missing, a duplicate) would
    // only print as a placeholder: it is named and left out.
    for (const ImageId id : collections::resolveImages(lib, tokens, unresolved)) {
        const auto rec = lib.image(id);
        if (rec && rec->status != ImageStatus::Ok) {
            c.error(QStringLiteral("%1 is %2 (%3); skipped").arg(rec->relPath, statusName(rec->status), rec->reason));
            continue;
        }
        *ids << id;
    }
    if (p.isSet(so.limit)) {
        bool ok = false;
        const int n = p.value(so.limit).toInt(&ok);
        if (!ok || n < 0) {
            c.error(QStringLiteral("--limit needs a number."));
            *exit = Usage;
            return false;
        }
        if (ids->size() > n)
            ids->resize(n);
    }
    return true;
}

void reportUnresolved(const Context &c, const QStringList &unresolved)
{
    for (int i = 0; i < unresolved.size() && i < 20; ++i)
        c.error(QStringLiteral("no image matches \u201c%1\u201d; skipped").arg(unresolved[i]));
    if (unresolved.size() > 20)
        c.error(QStringLiteral("\u2026 and %1 more unmatched").arg(unresolved.size() - 20));
}

std::optional<CollectionInfo> findCollection(const Context &c, const Library &lib, const QString &name,
                                             int *exit)
{
    if (name.isEmpty()) {
        c.error(QStringLiteral("Name a collection (magpie-cli collection list shows them)."));
        *exit = Usage;
        return std::nullopt;
    }
    auto col = collections::find(lib, name);
    if (!col) {
        c.error(QStringLiteral("No collection \u201c%1\u201d.").arg(name));
        *exit = Failed;
    }
    return col;
}

int create(const Context &c)
{
    const Context sc = subContext(c, QStringLiteral("create"));
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Collection name (unique)."));
    p.addPositionalArgument(QStringLiteral("image"), QStringLiteral("Image ids or paths to put in it."),
                            QStringLiteral("[image...]"));
    const QCommandLineOption title(QStringLiteral("title"), QStringLiteral("Title printed on the sheet."),
                                   QStringLiteral("TEXT"));
    const QCommandLineOption subtitle(QStringLiteral("subtitle"),
                                      QStringLiteral("Subtitle printed under it."), QStringLiteral("TEXT"));
    p.addOptions({title, subtitle});
    SourceOptions so;
    so.addTo(p);
    int exit = Ok;
    if (!sc.parse(p,
                  QStringLiteral("Create a collection from a category's yes-answers, a selection file, or "
                                 "ids and paths."),
                  &exit))
        return exit;
    const QString name = p.positionalArguments().value(0).trimmed();
    if (name.isEmpty()) {
        c.error(QStringLiteral("collection create needs a name.\n\n") + sc.helpText(p));
        return Usage;
    }
    auto lib = c.open(false, &exit);
    if (!lib)
        return exit;
    if (collections::find(*lib, name)) {
        c.error(
            QStringLiteral("A collection \u201c%1\u201d exists already; use `collection add`.").arg(name));
        return Failed;
    }
    QVector<ImageId> ids;
    QStringList unresolved;
    if (!gatherIds(c, *lib, p, so, p.positionalArguments().mid(1), &ids, &unresolved, &exit))
        return exit;
    const qint64 id = lib->createCollection(name, p.value(title), p.value(subtitle));
    if (!id) {
        c.error(lib->lastError());
        return Failed;
    }
    const int added = collections::add(*lib, id, ids);
    if (added < 0) {
        c.error(lib->lastError());
        return Failed;
    }
    if (p.isSet(so.like)) // a ranking: printed in that order unless --order similar
        collections::setKeepsOwnOrder(*lib, id, true);
    reportUnresolved(c, unresolved);
    c.print(QStringLiteral("Created collection \u201c%1\u201d with %2 images.").arg(name).arg(added));
    c.printJson({{QStringLiteral("id"), id},
                 {QStringLiteral("name"), name},
                 {QStringLiteral("added"), added},
                 {QStringLiteral("unmatched"), QJsonArray::fromStringList(unresolved)}});
    return Ok;
}

int addOrRemove(const Context &c, bool add)
{
    const Context sc = subContext(c, add ? QStringLiteral("add") : QStringLiteral("remove"));
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The collection."));
    p.addPositionalArgument(QStringLiteral("image"), QStringLiteral("Image ids or paths."),
                            QStringLiteral("[image...]"));
    SourceOptions so;
    so.addTo(p);
    int exit = Ok;
    if (!sc.parse(
            p,
            add ? QStringLiteral("Append images (a category's yes-answers, a selection file, ids or paths); "
                                 "images already in the collection stay where they are.")
                : QStringLiteral("Remove images from a collection."),
            &exit))
        return exit;
    auto lib = c.open(false, &exit);
    if (!lib)
        return exit;
    const auto col = findCollection(c, *lib, p.positionalArguments().value(0), &exit);
    if (!col)
        return exit;
    QVector<ImageId> ids;
    QStringList unresolved;
    if (!gatherIds(c, *lib, p, so, p.positionalArguments().mid(1), &ids, &unresolved, &exit))
        return exit;
    const int n = add ? collections::add(*lib, col->id, ids) : collections::remove(*lib, col->id, ids);
    if (n < 0) {
        c.error(lib->lastError());
        return Failed;
    }
    reportUnresolved(c, unresolved);
    c.print(QStringLiteral("%1 %2 %3; \u201c%4\u201d now has %5.")
                .arg(add ? QStringLiteral("Added") : QStringLiteral("Removed"))
                .arg(n)
                .arg(n == 1 ? QStringLiteral("image") : QStringLiteral("images"))
                .arg(col->name)
                .arg(lib->collectionItems(col->id).size()));
    const int notIn = add ? 0 : int(QSet<ImageId>(ids.begin(), ids.end()).size()) - n;
    if (notIn > 0)
        c.error(QStringLiteral("warning: %1 of the images named %2 not in \u201c%3\u201d")
                    .arg(notIn).arg(notIn == 1 ? QStringLiteral("was") : QStringLiteral("were"), col->name));
    c.printJson({{add ? QStringLiteral("added") : QStringLiteral("removed"), n},
                 {QStringLiteral("unmatched"), QJsonArray::fromStringList(unresolved)},
                 {QStringLiteral("exit"), unresolved.isEmpty() ? int(Ok) : int(Failed)}});
    // as `answer` does: a name that matches no image fails the command (the rest is done)
    return unresolved.isEmpty() ? Ok : Failed;
}

int list(const Context &c)
{
    const Context sc = subContext(c, QStringLiteral("list"));
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Show this collection's items."),
                            QStringLiteral("[name]"));
    int exit = Ok;
    if (!sc.parse(p, QStringLiteral("List collections, or the items of one."), &exit))
        return exit;
    auto lib = c.open(true, &exit);
    if (!lib)
        return exit;
    const QString name = p.positionalArguments().value(0);
    if (name.isEmpty()) {
        QJsonArray arr;
        for (const CollectionInfo &ci : lib->collections()) {
            c.print(QStringLiteral("%1\t%2 images\t%3").arg(ci.name).arg(ci.itemCount).arg(ci.title));
            arr.append(QJsonObject{{QStringLiteral("id"), ci.id},
                                   {QStringLiteral("name"), ci.name},
                                   {QStringLiteral("title"), ci.title},
                                   {QStringLiteral("subtitle"), ci.subtitle},
                                   {QStringLiteral("items"), ci.itemCount}});
        }
        if (arr.isEmpty())
            c.print(QStringLiteral("No collections yet (magpie-cli collection create)."));
        c.printJson({{QStringLiteral("collections"), arr}});
        return Ok;
    }
    const auto col = findCollection(c, *lib, name, &exit);
    if (!col)
        return exit;
    QJsonArray arr;
    int pos = 0;
    for (const CollectionItem &it : lib->collectionEntries(col->id)) {
        const auto rec = lib->image(it.imageId);
        const QString path = rec ? rec->absPath : QString();
        const QString cap = collections::caption(*lib, it);
        c.print(QStringLiteral("%1\t%2\t%3\t%4").arg(pos).arg(it.imageId).arg(path, cap));
        arr.append(QJsonObject{{QStringLiteral("position"), pos},
                               {QStringLiteral("id"), it.imageId},
                               {QStringLiteral("path"), path},
                               {QStringLiteral("caption"), cap}});
        ++pos;
    }
    c.printJson({{QStringLiteral("name"), col->name},
                 {QStringLiteral("title"), col->title},
                 {QStringLiteral("subtitle"), col->subtitle},
                 {QStringLiteral("items"), arr}});
    return Ok;
}

int exportCollection(const Context &c)
{
    const Context sc = subContext(c, QStringLiteral("export"));
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The collection."));
    auto opt = [](const char *name, const char *help, const char *value = nullptr) {
        return value ? QCommandLineOption(QString::fromLatin1(name), QString::fromLatin1(help),
                                          QString::fromLatin1(value))
                     : QCommandLineOption(QString::fromLatin1(name), QString::fromLatin1(help));
    };
    const auto out = opt("out", "Export folder (created; nothing is written outside it). Required.", "DIR");
    const auto format = opt("format", "pdf (default), png, tiff or folder (files + manifest.csv).", "FORMAT");
    const auto paper = opt("paper", "A4 (default), A3, A2, Letter or custom (with --size).", "PAPER");
    const auto size = opt("size", "Custom paper size in mm, width x height as given, e.g. 500x700 (implies --paper custom).", "WxH");
    const auto landscape = opt("landscape", "Landscape orientation.");
    const auto dpi = opt("dpi", "Raster resolution for png/tiff, 150-600 (default 300).", "DPI");
    const auto margin = opt("margin", "Margin in mm (default 12).", "MM");
    const auto bleed = opt("bleed", "Bleed in mm outside the trim (default 0).", "MM");
    const auto gutter = opt("gutter", "Space between cells in mm (default 3).", "MM");
    const auto fit = opt("fit", "fit (default), crop or original.", "MODE");
    const auto background = opt("background", "Background colour, e.g. white, #202020.", "COLOUR");
    const auto noCaptions = opt("no-captions", "No captions under the images.");
    const auto noTitle = opt("no-title", "No title block.");
    const auto captionFrom =
        opt("caption", "Caption source when an item has none: file (default), path, source, root.", "FROM");
    const auto rows = opt("rows", "Grid rows (default: chosen for the number of images and the paper).", "N");
    const auto cols = opt("cols", "Grid columns.", "N");
    const auto order =
        opt("order", "similar (similar images together) or collection (stored order); default: the collection's own "
                 "(the stored order for a --like ranking or one arranged in the app, else similar).", "ORDER");
    const auto seed = opt("seed", "Layout seed (default 1).", "N");
    const auto saveOrder = opt("save-order", "Store the similarity order back into the collection.");
    const auto features =
        opt("features",
            "auto (default: the training engine's embedding cache when it covers every image, "
            "else colour and tone), embeddings (fail without them) or colour.",
            "FROM");
    p.addOptions({out,   format, paper, size,       landscape,  dpi,     margin,
                  bleed, gutter, fit,   background, noCaptions, noTitle, captionFrom,
                  rows,  cols,   order, seed,       saveOrder,  features});
    int exit = Ok;
    if (!sc.parse(
            p, QStringLiteral("Lay a collection out on a sheet and export it as PDF, PNG, TIFF or a folder."),
            &exit))
        return exit;
    auto usage = [&](const QString &msg) {
        c.error(msg);
        return int(Usage);
    };
    if (!p.isSet(out))
        return usage(QStringLiteral("collection export needs --out DIR."));

    PrintOptions o;
    ExportFormat fmt = ExportFormat::Pdf;
    if (p.isSet(format)) {
        const auto f = parseExportFormat(p.value(format));
        if (!f)
            return usage(
                QStringLiteral("Unknown --format %1 (pdf, png, tiff, folder).").arg(p.value(format)));
        fmt = *f;
    }
    if (p.isSet(paper)) {
        const auto pp = parsePaper(p.value(paper));
        if (!pp)
            return usage(
                QStringLiteral("Unknown --paper %1 (A4, A3, A2, Letter, custom).").arg(p.value(paper)));
        o.paper = *pp;
    }
    if (p.isSet(size)) {
        const QStringList wh = p.value(size).toLower().split(QLatin1Char('x'));
        bool ok1 = false, ok2 = false;
        const double w = wh.value(0).toDouble(&ok1), h = wh.value(1).toDouble(&ok2);
        if (wh.size() != 2 || !ok1 || !ok2 || w < 10 || h < 10)
            return usage(QStringLiteral("--size wants WxH in millimetres, e.g. 500x700."));
        if (p.isSet(paper) && o.paper != Paper::Custom)
            return usage(QStringLiteral("--size is for --paper custom, not %1.").arg(p.value(paper)));
        o.paper = Paper::Custom;
        o.customSizeMm = QSizeF(w, h);
    } else if (o.paper == Paper::Custom) {
        return usage(QStringLiteral("--paper custom needs --size WxH in millimetres, e.g. --size 500x700."));
    }
    // A custom size is the sheet as given (300x200 is landscape); --landscape
    // turns a named paper, or a custom one given upright.
    o.orientation = p.isSet(landscape) || (o.paper == Paper::Custom && o.customSizeMm.width() > o.customSizeMm.height())
                        ? PageOrientation::Landscape
                        : PageOrientation::Portrait;
    auto number = [&](const QCommandLineOption &opt, double lo, double hi, double *v) {
        if (!p.isSet(opt))
            return true;
        bool ok = false;
        const double x = p.value(opt).toDouble(&ok);
        if (!ok || x < lo || x > hi)
            return false;
        *v = x;
        return true;
    };
    double dpiV = o.dpi, rowsV = 0, colsV = 0, seedV = 1;
    if (!number(dpi, 150, 600, &dpiV))
        return usage(QStringLiteral("--dpi must be between 150 and 600."));
    if (!number(margin, 0, 200, &o.marginMm) || !number(bleed, 0, 50, &o.bleedMm) ||
        !number(gutter, 0, 100, &o.gutterMm))
        return usage(QStringLiteral("--margin, --bleed and --gutter take millimetres (0-200, 0-50, 0-100)."));
    if (!number(rows, 1, 1000, &rowsV) || !number(cols, 1, 1000, &colsV) ||
        !number(seed, 0, 4294967295.0, &seedV))
        return usage(QStringLiteral("--rows, --cols and --seed take positive numbers."));
    o.dpi = int(dpiV);
    o.rows = int(rowsV);
    o.cols = int(colsV);
    if (p.isSet(fit)) {
        const auto f = parseCellFit(p.value(fit));
        if (!f)
            return usage(QStringLiteral("Unknown --fit %1 (fit, crop, original).").arg(p.value(fit)));
        o.fit = *f;
    }
    if (p.isSet(background)) {
        const QColor col = QColor::fromString(p.value(background));
        if (!col.isValid())
            return usage(QStringLiteral("Unknown colour %1.").arg(p.value(background)));
        o.background = col;
        if (col.lightnessF() < 0.5)
            o.textColour = QColor(235, 235, 235);
    }
    o.captions = !p.isSet(noCaptions);
    o.titleBlock = !p.isSet(noTitle);
    collections::CaptionSource capSrc = collections::CaptionSource::FileName;
    if (p.isSet(captionFrom)) {
        const QString v = p.value(captionFrom);
        if (v == u"file")
            capSrc = collections::CaptionSource::FileName;
        else if (v == u"path")
            capSrc = collections::CaptionSource::RelPath;
        else if (v == u"source")
            capSrc = collections::CaptionSource::SourcePath;
        else if (v == u"root")
            capSrc = collections::CaptionSource::RootAndPath;
        else
            return usage(QStringLiteral("Unknown --caption %1 (file, path, source, root).").arg(v));
    }
    const QString featuresV = p.value(features).isEmpty() ? QStringLiteral("auto") : p.value(features);
    if (featuresV != u"auto" && featuresV != u"embeddings" && featuresV != u"colour")
        return usage(QStringLiteral("--features is auto, embeddings or colour."));
    if (p.isSet(order) && p.value(order) != u"similar" && p.value(order) != u"collection")
        return usage(QStringLiteral("--order is similar or collection."));

    auto lib = c.open(!p.isSet(saveOrder), &exit);
    if (!lib)
        return exit;
    const auto col = findCollection(c, *lib, p.positionalArguments().value(0), &exit);
    if (!col)
        return exit;
    const QString orderV = p.isSet(order)                              ? p.value(order)
                           : collections::keepsOwnOrder(*lib, col->id) ? QStringLiteral("collection")
                                                                       : QStringLiteral("similar");
    PrintJob job = printJobFromCollection(*lib, *col, o, capSrc);
    if (job.items.isEmpty()) {
        c.error(QStringLiteral("Collection \u201c%1\u201d is empty.").arg(col->name));
        return Failed;
    }

    QJsonObject layoutJson;
    if (orderV == u"similar") {
        QString source, note;
        const GridLayout layout = arrangeBySimilarity(*lib, job, quint32(seedV), featuresV == u"colour", c.cancel,
                                                      &source, &note);
        if (featuresV != u"colour" && !note.isEmpty())
            c.print(note);
        if (featuresV == u"embeddings" && source != featureSourceName(FeatureMatrix::Source::Embeddings)) {
            c.error(note + QStringLiteral(" Compute embeddings first (magpie-cli embed), or use --features colour."));
            return Failed;
        }
        c.print(QStringLiteral("Layout %1 x %2 by %3, %4: neighbour distance %5 vs %6 random (ratio %7).")
                    .arg(layout.rows)
                    .arg(layout.cols)
                    .arg(source, layout.method)
                    .arg(layout.neighbourDistance, 0, 'f', 3)
                    .arg(layout.randomDistance, 0, 'f', 3)
                    .arg(layout.qualityRatio(), 0, 'f', 3));
        layoutJson = QJsonObject{{QStringLiteral("rows"), layout.rows},
                                 {QStringLiteral("cols"), layout.cols},
                                 {QStringLiteral("features"), source},
                                 {QStringLiteral("method"), layout.method},
                                 {QStringLiteral("neighbour_distance"), layout.neighbourDistance},
                                 {QStringLiteral("random_distance"), layout.randomDistance},
                                 {QStringLiteral("quality_ratio"), layout.qualityRatio()},
                                 {QStringLiteral("seconds"), layout.seconds}};
        if (p.isSet(saveOrder)) {
            const QVector<CollectionItem> entries = lib->collectionEntries(col->id);
            QVector<int> perm;
            for (int item : layout.readingOrder())
                perm << item;
            if (entries.size() == perm.size() && collections::reorder(*lib, col->id, perm))
                c.print(QStringLiteral("Stored the layout order in the collection."));
            else
                c.error(QStringLiteral("Could not store the layout order: %1").arg(lib->lastError()));
        }
    }

    const bool tty = !c.quiet && isatty(fileno(stderr));
    const PrintExportResult r = exportPrint(
        job, fmt, p.value(out),
        [&](const ExportProgress &pr) {
            if (tty)
                QTextStream(stderr) << "\r" << pr.phase << ' ' << pr.done << '/' << pr.total << "   "
                                    << Qt::flush;
        },
        c.cancel);
    if (tty)
        QTextStream(stderr) << '\n';
    for (const QString &w : r.warnings)
        c.error(QStringLiteral("warning: ") + w);
    QJsonObject result{{QStringLiteral("ok"), r.ok},
                       {QStringLiteral("cancelled"), r.cancelled},
                       {QStringLiteral("error"), r.error},
                       {QStringLiteral("output"), r.output},
                       {QStringLiteral("format"), exportFormatName(fmt)},
                       {QStringLiteral("images"), r.images},
                       {QStringLiteral("placeholders"), r.placeholders},
                       {QStringLiteral("seconds"), r.seconds},
                       {QStringLiteral("warnings"), QJsonArray::fromStringList(r.warnings)},
                       {QStringLiteral("layout"), layoutJson}};
    if (r.pixelSize.isValid()) {
        result.insert(QStringLiteral("width_px"), r.pixelSize.width());
        result.insert(QStringLiteral("height_px"), r.pixelSize.height());
    }
    c.printJson(result);
    if (r.cancelled)
        return Cancelled;
    if (!r.ok) {
        c.error(r.error);
        return Failed;
    }
    c.print(QStringLiteral("Wrote %1 (%2 images, %3 placeholders, %4 s).")
                .arg(r.output)
                .arg(r.images)
                .arg(r.placeholders)
                .arg(r.seconds, 0, 'f', 2));
    return Ok;
}

const char *const kCollectionUsage =
    "Usage: magpie-cli collection <create|add|remove|list|export> [options]\n"
    "\n"
    "  create NAME [IMAGE...]    new collection from --from-category, --from-file or ids/paths\n"
    "  add NAME [IMAGE...]       append images (same sources as create)\n"
    "  remove NAME IMAGE...      take images out\n"
    "  list [NAME]               collections, or one collection's items\n"
    "  export NAME --out DIR     lay out (similar images together) and export PDF, PNG, TIFF or a folder\n"
    "\n"
    "`magpie-cli collection <command> --help` shows a command's options.\n";

} // namespace

int cmdCollection(const Context &c)
{
    const QString sub = c.args.value(1);
    if (sub == u"create")
        return create(c);
    if (sub == u"add")
        return addOrRemove(c, true);
    if (sub == u"remove")
        return addOrRemove(c, false);
    if (sub == u"list")
        return list(c);
    if (sub == u"export")
        return exportCollection(c);
    const bool help = sub == u"--help" || sub == u"-h";
    QTextStream(help ? stdout : stderr) << kCollectionUsage;
    return help ? int(Ok) : int(Usage);
}

} // namespace magpie::cli
