#include "app/cli/cli.h"

#include "core/archivemap.h"
#include "core/importer.h"
#include "core/labelio.h"
#include "core/library.h"
#ifdef MAGPIE_HAVE_TRAINING
#include "training/service/curator.h"
#endif

#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QFileInfo>
#include <QJsonArray>

namespace magpie::cli {

QString noSuchCategory(const Library &lib, const QString &name)
{
    QStringList names;
    for (const Category &k : lib.categories())
        names << k.name;
    return QStringLiteral("No category \u201c%1\u201d. Categories: %2")
        .arg(name, names.isEmpty() ? QStringLiteral("none yet (magpie-cli category create)") : names.join(QStringLiteral(", ")));
}

namespace {

// "1 answer", "3 answers"
QString plural(qint64 n, const QString &one, const QString &many)
{
    return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

QJsonArray issuesJson(const QVector<QPair<QString, QString>> &issues, int limit = 1000)
{
    QJsonArray a;
    for (int i = 0; i < issues.size() && i < limit; ++i)
        a.append(QJsonObject{{QStringLiteral("path"), issues[i].first}, {QStringLiteral("reason"), issues[i].second}});
    return a;
}

void printIssues(const Context &c, const QVector<QPair<QString, QString>> &issues, int limit = 20)
{
    for (int i = 0; i < issues.size() && i < limit; ++i)
        c.print(QStringLiteral("  skipped %1: %2").arg(issues[i].first, issues[i].second));
    if (issues.size() > limit)
        c.print(QStringLiteral("  \u2026 and %1 more (`magpie-cli info --issues N` lists them)").arg(issues.size() - limit));
}

QJsonObject importJson(const ImportReport &r)
{
    return QJsonObject{
        {QStringLiteral("listed"), r.listed},       {QStringLiteral("added"), r.added},
        {QStringLiteral("updated"), r.updated},     {QStringLiteral("unchanged"), r.unchanged},
        {QStringLiteral("moved"), r.moved},         {QStringLiteral("duplicates"), r.duplicates},
        {QStringLiteral("unreadable"), r.unreadable}, {QStringLiteral("vanished"), r.vanished},
        {QStringLiteral("cancelled"), r.cancelled}, {QStringLiteral("seconds"), r.seconds},
        {QStringLiteral("images_per_second"), r.seconds > 0 ? (r.added + r.updated + r.moved + r.duplicates + r.unreadable) / r.seconds : 0.0},
        {QStringLiteral("issues"), issuesJson(r.issues)}};
}

QString importSummary(const ImportReport &r)
{
    const qint64 processed = r.added + r.updated + r.moved + r.duplicates + r.unreadable;
    return QStringLiteral("%1 files found: %2 new, %3 changed, %4 unchanged, %5 moved, %6 duplicates, "
                          "%7 unreadable, %8 vanished \u2014 %9 s (%10 images/s)")
        .arg(r.listed).arg(r.added).arg(r.updated).arg(r.unchanged).arg(r.moved).arg(r.duplicates)
        .arg(r.unreadable).arg(r.vanished).arg(r.seconds, 0, 'f', 1)
        .arg(r.seconds > 0 ? int(processed / r.seconds) : 0);
}

std::optional<Category> findCategory(const Context &c, const Library &lib, const QString &name, int *exit)
{
    if (name.isEmpty()) {
        c.error(QStringLiteral("--category NAME is required."));
        *exit = Usage;
        return std::nullopt;
    }
    auto cat = lib.category(name);
    if (!cat) {
        c.error(noSuchCategory(lib, name));
        *exit = Failed;
    }
    return cat;
}

} // namespace

int cmdInit(const Context &c)
{
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("file"), QStringLiteral("The library file to create (default: --library)."));
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Create a new, empty library: one SQLite file and a cache folder beside it."), &exit))
        return exit;
    const QString path = p.positionalArguments().value(0, c.libraryPath);
    QString err;
    LibraryError kind;
    auto lib = Library::create(path, &err, &kind);
    if (!lib) {
        c.error(err);
        c.printJson({{QStringLiteral("error"), err}, {QStringLiteral("kind"), libraryErrorName(kind)}});
        return kind == LibraryError::Exists || kind == LibraryError::ReadOnly ? NoLibrary : Failed;
    }
    c.print(QStringLiteral("Created the library %1 (cache: %2).")
                .arg(QDir::toNativeSeparators(lib->path()), QDir::toNativeSeparators(lib->cacheDir())));
    c.printJson({{QStringLiteral("library"), lib->path()}, {QStringLiteral("cache"), lib->cacheDir()},
                 {QStringLiteral("schema"), lib->schemaVersion()}});
    return Ok;
}

int cmdImport(const Context &c)
{
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("folder"), QStringLiteral("Folders to import."), QStringLiteral("FOLDER..."));
    const QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("Worker threads (default: one per core)."),
                                     QStringLiteral("n"));
    const QCommandLineOption maxMp(QStringLiteral("max-megapixels"),
                                   QStringLiteral("Refuse images larger than this (default 250)."), QStringLiteral("mp"));
    const QCommandLineOption thumb(QStringLiteral("thumbnail-size"), QStringLiteral("Thumbnail long side in px (default 256)."),
                                   QStringLiteral("px"));
    p.addOptions({threads, maxMp, thumb});
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Import image folders recursively. Re-importing reads only new or changed files, "
                                   "marks vanished ones missing and recognises moved files by content."),
                 &exit))
        return exit;
    const QStringList folders = p.positionalArguments();
    if (folders.isEmpty()) {
        c.error(QStringLiteral("import needs at least one folder.\n\n") + c.helpText(p));
        return Usage;
    }
    auto lib = c.open(false, &exit);
    if (!lib)
        return exit;
    ImportOptions opt;
    if (p.isSet(threads))
        opt.threads = p.value(threads).toInt();
    if (p.isSet(maxMp)) {
        bool ok = false;
        const double mp = p.value(maxMp).toDouble(&ok);
        if (!ok || mp <= 0) {
            c.error(QStringLiteral("--max-megapixels wants a number above 0, not \u201c%1\u201d").arg(p.value(maxMp)));
            return Usage;
        }
        setDefaultMaxPixels(qint64(mp * 1e6)); // this process's other decodes too
    }
    opt.limits.maxPixels = defaultMaxPixels();
    if (p.isSet(thumb))
        opt.thumbnailSize = std::clamp(p.value(thumb).toInt(), 32, 2048);
    QJsonArray reports;
    int result = Ok;
    for (const QString &folder : folders) {
        const ImportReport r = importFolder(*lib, folder, opt, [&](const ImportProgress &pr) { c.progress(pr); }, c.cancel);
        c.endProgress();
        QJsonObject j = importJson(r);
        j.insert(QStringLiteral("folder"), folder);
        if (!r.error.isEmpty()) {
            c.error(r.error);
            j.insert(QStringLiteral("error"), r.error);
            result = Failed;
        } else {
            c.print(QDir::toNativeSeparators(folder) + QStringLiteral(": ") + importSummary(r));
            printIssues(c, r.issues);
        }
        reports.append(j);
        if (r.cancelled) {
            c.error(QStringLiteral("Interrupted; everything imported so far is kept. Run the same command to carry on."));
            result = Cancelled;
            break;
        }
    }
    QJsonObject out{{QStringLiteral("imports"), reports}};
    if (result == Failed) { // as every failing command: a top-level error (each folder's is in its report)
        QStringList errors;
        for (const auto &r : reports)
            if (r.toObject().contains(QStringLiteral("error")))
                errors << r.toObject().value(QStringLiteral("error")).toString();
        out.insert(QStringLiteral("error"), errors.join(QStringLiteral("; ")));
    }
    c.printJson(out);
    return result;
}

int cmdMap(const Context &c)
{
    QCommandLineParser p;
    const QCommandLineOption out({QStringLiteral("o"), QStringLiteral("out")}, QStringLiteral("The picture to write (PNG)."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption num({QStringLiteral("n"), QStringLiteral("count")},
                                 QStringLiteral("At most this many images (a sample of a larger archive; default 2000)."),
                                 QStringLiteral("N"), QStringLiteral("2000"));
    const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Side of the square picture in pixels (default 3000)."),
                                  QStringLiteral("PX"), QStringLiteral("3000"));
    const QCommandLineOption thumb(QStringLiteral("thumb"), QStringLiteral("Long side of each thumbnail in pixels (default 72)."),
                                   QStringLiteral("PX"), QStringLiteral("72"));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Seed of the sample (default 1)."), QStringLiteral("S"),
                                  QStringLiteral("1"));
    const QCommandLineOption positions(QStringLiteral("positions"),
                                       QStringLiteral("Also write each image's place to this CSV: image,x,y,path (x, y in 0-1)."),
                                       QStringLiteral("FILE.csv"));
    p.addOptions({out, num, size, thumb, seed, positions});
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("A 2-D map of the archive: its images (or a sample) placed by t-SNE of their "
                                   "embeddings (colour and tone before `embed`), so that similar pictures lie near each "
                                   "other and kinds of picture apart. Above 4,000 images: the first two principal "
                                   "components."),
                 &exit))
        return exit;
    bool okN = false, okS = false, okT = false;
    const int n = p.value(num).toInt(&okN), px = p.value(size).toInt(&okS), tpx = p.value(thumb).toInt(&okT);
    if (!p.isSet(out) || !okN || n < 2 || !okS || px < 64 || px > 20000 || !okT || tpx < 4 || tpx > px / 2) {
        c.error(QStringLiteral("map needs --out FILE.png; -n at least 2, --size 64-20000, --thumb 4 to half the size"));
        return Usage;
    }
    auto lib = c.open(true, &exit);
    if (!lib)
        return exit;
    QElapsedTimer t;
    t.start();
    const ArchiveMap map = mapArchive(*lib, n, p.value(seed).toUInt(), c.cancel);
    if (c.cancel && c.cancel->load())
        return Cancelled;
    if (map.ids.size() < 2) {
        c.error(QStringLiteral("the library has fewer than two readable images to map"));
        return Failed;
    }
    const QImage picture = renderArchiveMap(*lib, map, px, tpx);
    if (picture.isNull() || !picture.save(p.value(out), "PNG")) {
        c.error(QStringLiteral("cannot write %1").arg(p.value(out)));
        return Failed;
    }
    if (p.isSet(positions)) {
        QFile f(p.value(positions));
        if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
            c.error(QStringLiteral("cannot write %1").arg(p.value(positions)));
            return Failed;
        }
        QTextStream s(&f);
        s << "image,x,y,path\n";
        for (int i = 0; i < map.ids.size(); ++i) {
            const auto rec = lib->image(map.ids[i]);
            QString path = rec ? rec->absPath : QString();
            if (path.contains(QLatin1Char(',')) || path.contains(QLatin1Char('"')))
                path = QLatin1Char('"') + path.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
            s << map.ids[i] << ',' << map.positions[i].x() << ',' << map.positions[i].y() << ',' << path << '\n';
        }
    }
    const QString source = featureSourceName(map.source);
    c.print(QStringLiteral("wrote %1: %2 of %3 images, %4 of %5 (%6 s)")
                .arg(p.value(out))
                .arg(map.ids.size())
                .arg(map.archiveImages)
                .arg(map.method, source)
                .arg(t.elapsed() / 1000.0, 0, 'f', 1));
    for (const QString &note : map.notes)
        c.print(note);
    c.printJson({{QStringLiteral("file"), p.value(out)},
                 {QStringLiteral("images"), int(map.ids.size())},
                 {QStringLiteral("archive_images"), map.archiveImages},
                 {QStringLiteral("features"), source},
                 {QStringLiteral("method"), map.method},
                 {QStringLiteral("seconds"), t.elapsed() / 1000.0}});
    return Ok;
}

int cmdInfo(const Context &c)
{
    QCommandLineParser p;
    const QCommandLineOption issues(QStringLiteral("issues"), QStringLiteral("Also list the newest N import issues."),
                                    QStringLiteral("n"));
    p.addOption(issues);
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Counts per status, per category and per class."), &exit))
        return exit;
    bool issuesOk = true;
    const int issueCount = p.isSet(issues) ? p.value(issues).toInt(&issuesOk) : 0;
    if (p.isSet(issues) && (!issuesOk || issueCount < 1)) {
        c.error(QStringLiteral("--issues wants a number of issues (1 or more), not \u201c%1\u201d").arg(p.value(issues)));
        return Usage;
    }
    auto lib = c.open(true, &exit);
    if (!lib)
        return exit;
    const LibraryCounts n = lib->counts();
    QJsonArray cats;
    c.print(QStringLiteral("Library %1 (schema %2)").arg(QDir::toNativeSeparators(lib->path())).arg(lib->schemaVersion()));
    c.print(QStringLiteral("  images: %1 (ok %2, unreadable %3, missing %4, duplicates %5) in %6 import folder(s)")
                .arg(n.images).arg(n.ok).arg(n.unreadable).arg(n.missing).arg(n.duplicates).arg(n.roots));
    for (const CategoryCounts &cc : n.categories) {
        const bool binary = cc.category.kind == CategoryKind::Binary;
        c.print(QStringLiteral("  %1 \u201c%2\u201d: %3 %4 answered")
                    .arg(binary ? QStringLiteral("theme") : QStringLiteral("class set"), cc.category.name)
                    .arg(cc.answeredImages)
                    .arg(cc.answeredImages == 1 ? QStringLiteral("image") : QStringLiteral("images")));
        QJsonArray classes;
        for (const ClassCount &k : cc.perClass) {
            if (binary)
                c.print(QStringLiteral("      yes %1   no %2   skip %3").arg(k.yes).arg(k.no).arg(k.skip));
            else if (k.yes || k.no || k.skip)
                c.print(QStringLiteral("      %1: yes %2   no %3   skip %4").arg(k.className, -8).arg(k.yes).arg(k.no).arg(k.skip));
            classes.append(QJsonObject{{QStringLiteral("class"), k.className}, {QStringLiteral("yes"), k.yes},
                                       {QStringLiteral("no"), k.no}, {QStringLiteral("skip"), k.skip}});
        }
        cats.append(QJsonObject{{QStringLiteral("name"), cc.category.name},
                                {QStringLiteral("kind"), binary ? QStringLiteral("binary") : QStringLiteral("classes")},
                                {QStringLiteral("answered_images"), cc.answeredImages},
                                {QStringLiteral("classes"), classes}});
    }
    QJsonObject j{{QStringLiteral("library"), lib->path()},
                  {QStringLiteral("schema"), lib->schemaVersion()},
                  {QStringLiteral("images"), n.images},
                  {QStringLiteral("ok"), n.ok},
                  {QStringLiteral("unreadable"), n.unreadable},
                  {QStringLiteral("missing"), n.missing},
                  {QStringLiteral("duplicates"), n.duplicates},
                  {QStringLiteral("roots"), n.roots},
                  {QStringLiteral("decisions"), lib->decisionCount()},
                  {QStringLiteral("categories"), cats}};
    if (p.isSet(issues)) {
        const auto list = lib->importIssues(issueCount);
        c.print(list.isEmpty() ? QStringLiteral("  no import issues") : QStringLiteral("  newest import issues:"));
        for (const auto &i : list)
            c.print(QStringLiteral("    %1: %2").arg(i.first, i.second));
        j.insert(QStringLiteral("issues"), issuesJson(list, 1 << 30));
    }
    c.printJson(j);
    return Ok;
}

namespace {
// `category SUB ARGS...` whose first argument names a category to change:
// parses exactly `count` positional arguments (`want` says them in the
// error), opens the library for writing and finds the category. Null, with
// *exit set, when any of that fails.
std::unique_ptr<Library> openToChangeCategory(const Context &c, QCommandLineParser &p, const QString &sub,
                                              const QString &about, qsizetype count, const QString &want,
                                              std::optional<Category> *cat, int *exit)
{
    Context sc = c;
    sc.args = QStringList{c.args[0] + QLatin1Char(' ') + sub} + c.args.mid(2);
    if (!sc.parse(p, about, exit))
        return nullptr;
    if (p.positionalArguments().size() != count) {
        c.error(QStringLiteral("category %1 wants %2.\n\n").arg(sub, want) + sc.helpText(p));
        *exit = Usage;
        return nullptr;
    }
    auto lib = c.open(false, exit);
    if (!lib)
        return nullptr;
    *cat = findCategory(c, *lib, p.positionalArguments()[0], exit);
    return *cat ? std::move(lib) : nullptr;
}
} // namespace

int cmdCategory(const Context &c)
{
    const QString sub = c.args.value(1);
    if (sub == u"create") {
        Context sc = c;
        sc.args = QStringList{c.args[0] + QStringLiteral(" create")} + c.args.mid(2);
        QCommandLineParser p;
        p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Category name, e.g. \"very sad girls\"."));
        const QCommandLineOption classes(QStringLiteral("classes"),
                                         QStringLiteral("Make a class set with these comma-separated classes."),
                                         QStringLiteral("A,B,..."));
        const QCommandLineOption letters(QStringLiteral("letters"), QStringLiteral("Make a class set A-Z plus none."));
        const QCommandLineOption backboneOpt(QStringLiteral("backbone"),
                                             QStringLiteral("The backbone it trains on: general, letters, or library (follow the "
                                                            "library's; the default, except for a class set of letters, which "
                                                            "gets letters)."),
                                             QStringLiteral("NAME"));
        p.addOptions({classes, letters, backboneOpt});
        int exit = Ok;
        if (!sc.parse(p, QStringLiteral("Create a binary theme (yes/no), or a class set with --classes or --letters."), &exit))
            return exit;
        const QString name = p.positionalArguments().value(0);
        if (name.isEmpty()) {
            c.error(QStringLiteral("category create needs a name.\n\n") + sc.helpText(p));
            return Usage;
        }
        auto lib = c.open(false, &exit);
        if (!lib)
            return exit;
        QStringList cls;
        if (p.isSet(letters))
            cls = letterClasses();
        else if (p.isSet(classes))
            cls = p.value(classes).split(QLatin1Char(','), Qt::SkipEmptyParts);
        const CategoryKind kind = cls.isEmpty() ? CategoryKind::Binary : CategoryKind::ClassSet;
        QString backbone = p.value(backboneOpt);
#ifdef MAGPIE_HAVE_TRAINING
        if (!backbone.isEmpty() && backbone != u"library" && !training::Curator::backboneNames().contains(backbone)) {
            c.error(QStringLiteral("unknown backbone %1 (choose %2, or library)")
                        .arg(backbone, training::Curator::backboneNames().join(QStringLiteral(", "))));
            return Usage;
        }
        if (!p.isSet(backboneOpt)) {
            // the suggestion; the library's own backbone needs no setting (it follows the library's)
            backbone = training::Curator::suggestedBackbone(kind, cls);
            if (backbone == training::Curator::libraryBackbone(*lib)) backbone.clear();
        }
#else
        backbone.clear();
#endif
        auto cat = lib->createCategory(name, kind, cls);
        if (!cat) {
            c.error(lib->lastError());
            return Failed;
        }
        QString on;
#ifdef MAGPIE_HAVE_TRAINING
        if (!backbone.isEmpty() && backbone != u"library") {
            QString err;
            if (!training::Curator::setCategoryBackbone(*lib, cat->id, backbone, &err))
                c.error(QStringLiteral("the category stays on the library's backbone: %1").arg(err));
            else
                on = backbone;
        }
        const QString onText = on.isEmpty() ? QString()
                               : on == training::Curator::libraryBackbone(*lib)
                                   ? QStringLiteral(" It stays on the %1 backbone if the library's changes.").arg(on)
                                   : QStringLiteral(" It uses the %1 backbone (its own; embed embeds the archive with it "
                                                    "too; magpie-cli backbone library -c \"%2\" undoes it).").arg(on, cat->name);
#else
        const QString onText;
#endif
        c.print(QStringLiteral("Created %1 \u201c%2\u201d%3.%4")
                    .arg(cls.isEmpty() ? QStringLiteral("the theme") : QStringLiteral("the class set"), cat->name,
                         cls.isEmpty() ? QString() : QStringLiteral(" with %1 classes").arg(cls.size()),
                         onText));
        c.printJson({{QStringLiteral("id"), cat->id}, {QStringLiteral("name"), cat->name},
                     {QStringLiteral("kind"), cls.isEmpty() ? QStringLiteral("binary") : QStringLiteral("classes")},
                     {QStringLiteral("classes"), QJsonArray::fromStringList(cls)},
                     {QStringLiteral("backbone"), on.isEmpty() ? QJsonValue() : QJsonValue(on)}});
        return Ok;
    }
    if (sub == u"rename") {
        QCommandLineParser p;
        p.addPositionalArgument(QStringLiteral("OLD"), QStringLiteral("The category's name now."));
        p.addPositionalArgument(QStringLiteral("NEW"), QStringLiteral("Its new name."));
        int exit = Ok;
        std::optional<Category> cat;
        auto lib = openToChangeCategory(c, p, QStringLiteral("rename"),
                                        QStringLiteral("Renames a category; its answers, models and backbone stay."),
                                        2, QStringLiteral("OLD and NEW"), &cat, &exit);
        if (!lib)
            return exit;
        if (!lib->renameCategory(cat->id, p.positionalArguments()[1])) {
            c.error(lib->lastError());
            c.printJson({{QStringLiteral("error"), lib->lastError()}});
            return Failed;
        }
        const QString now = p.positionalArguments()[1].trimmed();
        c.print(QStringLiteral("Renamed \u201c%1\u201d to \u201c%2\u201d.").arg(cat->name, now));
        c.printJson({{QStringLiteral("id"), cat->id}, {QStringLiteral("name"), now}, {QStringLiteral("was"), cat->name}});
        return Ok;
    }
    if (sub == u"delete") {
        QCommandLineParser p;
        p.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The category to delete."));
        int exit = Ok;
        std::optional<Category> cat;
        auto lib = openToChangeCategory(c, p, QStringLiteral("delete"),
                                        QStringLiteral("Deletes a category with its answers and models; the images stay. Its "
                                                       "answers are saved to a CSV in the library's cache first (labels "
                                                       "import --csv reads it back)."),
                                        1, QStringLiteral("one NAME"), &cat, &exit);
        if (!lib)
            return exit;
        const qsizetype answers = lib->answers(cat->id).size();
        const qsizetype models = lib->modelVersions(cat->id).size();
        QString saved, err;
        if (!labelio::removeCategorySavingAnswers(*lib, *cat, &saved, &err)) {
            c.error(err);
            c.printJson({{QStringLiteral("error"), err}});
            return Failed;
        }
        QStringList cls;
        for (const ClassInfo &ci : cat->classes)
            cls << ci.name;
        // for a POSIX shell: in single quotes nothing is expanded
        const auto shell = [](const QString &t) -> QString {
            return QLatin1Char('\'') + QString(t).replace(QLatin1Char('\''), QStringLiteral("'\\''")) + QLatin1Char('\'');
        };
        const QString quoted = shell(cat->name);
        const QString recreate = cls.isEmpty() ? QStringLiteral("magpie-cli category create %1").arg(quoted)
                                               : QStringLiteral("magpie-cli category create %1 --classes %2")
                                                     .arg(quoted, shell(cls.join(QLatin1Char(','))));
        c.print(QStringLiteral("Deleted \u201c%1\u201d: %2%3; the images stay.")
                    .arg(cat->name, plural(answers, QStringLiteral("answer"), QStringLiteral("answers")),
                         models ? QStringLiteral(", ") + plural(models, QStringLiteral("model version"),
                                                                QStringLiteral("model versions"))
                                : QString()));
        if (!saved.isEmpty())
            c.print(QStringLiteral("Its answers are saved in %1 (its decision log beside it, .jsonl)\n"
                                   "To bring them back: %2 && magpie-cli labels import -c %3 --csv %4")
                        .arg(QDir::toNativeSeparators(saved), recreate, quoted, shell(QDir::toNativeSeparators(saved))));
        c.printJson({{QStringLiteral("id"), cat->id}, {QStringLiteral("name"), cat->name},
                     {QStringLiteral("answers"), answers}, {QStringLiteral("model_versions"), models},
                     {QStringLiteral("saved_answers"), saved.isEmpty() ? QJsonValue() : QJsonValue(saved)}});
        return Ok;
    }
    if (sub == u"list") {
        Context sc = c;
        sc.args = QStringList{c.args[0] + QStringLiteral(" list")} + c.args.mid(2);
        QCommandLineParser p;
        int exit = Ok;
        if (!sc.parse(p, QStringLiteral("Lists the categories: themes (yes/no) and class sets with their classes."), &exit))
            return exit;
        auto lib = c.open(true, &exit);
        if (!lib)
            return exit;
        QJsonArray arr;
        for (const Category &k : lib->categories()) {
            QStringList cls;
            for (const ClassInfo &ci : k.classes)
                cls << ci.name;
            QString own;
#ifdef MAGPIE_HAVE_TRAINING
            bool isOwn = false;
            const QString b = training::Curator::categoryBackbone(*lib, k.id, &isOwn);
            if (isOwn) own = b;
#endif
            c.print((k.kind == CategoryKind::Binary ? QStringLiteral("%1 (theme: yes/no)").arg(k.name)
                                                    : QStringLiteral("%1 (class set: %2)").arg(k.name, cls.join(QLatin1Char(' '))))
                    + (own.isEmpty() ? QString() : QStringLiteral(", on the %1 backbone").arg(own)));
            arr.append(QJsonObject{{QStringLiteral("id"), k.id}, {QStringLiteral("name"), k.name},
                                   {QStringLiteral("kind"), k.kind == CategoryKind::Binary ? QStringLiteral("binary") : QStringLiteral("classes")},
                                   {QStringLiteral("classes"), QJsonArray::fromStringList(cls)},
                                   {QStringLiteral("backbone"), own.isEmpty() ? QJsonValue() : QJsonValue(own)}});
        }
        c.printJson({{QStringLiteral("categories"), arr}});
        return Ok;
    }
    QTextStream(sub == u"--help" || sub == u"-h" ? stdout : stderr)
        << "Usage: magpie-cli category create NAME [--classes A,B,... | --letters] [--backbone general|letters|library]\n"
           "       magpie-cli category list\n"
           "       magpie-cli category rename OLD NEW\n"
           "       magpie-cli category delete NAME   (its answers are saved to a CSV first)\n"
           "A binary theme takes yes/no answers; a class set takes one class per image.\n";
    return sub == u"--help" || sub == u"-h" ? Ok : Usage;
}

int cmdLabels(const Context &c)
{
    const QString sub = c.args.value(1);
    Context sc = c;
    sc.args = QStringList{c.args[0] + QLatin1Char(' ') + sub} + c.args.mid(2);
    QCommandLineParser p;
    const QCommandLineOption category({QStringLiteral("c"), QStringLiteral("category")}, QStringLiteral("The category."),
                                      QStringLiteral("name"));
    p.addOption(category);
    int exit = Ok;
    if (sub == u"import") {
        const QCommandLineOption folders(QStringLiteral("folders"),
                                         QStringLiteral("A folder with one subfolder per class (A/ B/ ... or yes/ no/)."),
                                         QStringLiteral("dir"));
        const QCommandLineOption csv(QStringLiteral("csv"), QStringLiteral("A CSV of file,label rows (a header may name them "
                                                                            "image/path/filename and class/choice; a value column, yes/no/skip, "
                                                                            "as labels export --every-answer writes it, is read too)."),
                                      QStringLiteral("file"));
        const QCommandLineOption create(QStringLiteral("create-classes"),
                                        QStringLiteral("Add unknown class names to a class set (always on for --folders)."));
        p.addOptions({folders, csv, create});
        if (!sc.parse(p, QStringLiteral("Import answers from class folders or a CSV."), &exit))
            return exit;
        if (p.isSet(folders) == p.isSet(csv)) {
            c.error(QStringLiteral("labels import needs exactly one of --folders DIR or --csv FILE.\n\n") + sc.helpText(p));
            return Usage;
        }
        auto lib = c.open(false, &exit);
        if (!lib)
            return exit;
        auto cat = findCategory(c, *lib, p.value(category), &exit);
        if (!cat)
            return exit;
        LabelImportReport r;
        if (p.isSet(folders)) {
            r = labelio::importFolders(*lib, *cat, p.value(folders), true, {},
                                       [&](const ImportProgress &pr) { c.progress(pr); }, c.cancel);
            c.endProgress();
        } else {
            r = labelio::importCsv(*lib, *cat, p.value(csv), p.isSet(create));
        }
        if (!r.error.isEmpty()) {
            c.error(r.error);
            c.printJson({{QStringLiteral("error"), r.error}});
            return r.import.cancelled ? int(Cancelled) : int(Failed);
        }
        c.print(QStringLiteral("%1 %2 written to \u201c%3\u201d; %4 %5 matched no image, %6 had a label that "
                               "is not in the category.")
                    .arg(r.answers)
                    .arg(r.answers == 1 ? QStringLiteral("answer") : QStringLiteral("answers"), cat->name)
                    .arg(r.unmatched)
                    .arg(r.unmatched == 1 ? QStringLiteral("row") : QStringLiteral("rows"))
                    .arg(r.invalid));
        if (r.malformed > 0)
            c.print(QStringLiteral("%1 %2 not file,label (see below) and %3 skipped.")
                        .arg(r.malformed)
                        .arg(r.malformed == 1 ? QStringLiteral("line was") : QStringLiteral("lines were"),
                             r.malformed == 1 ? QStringLiteral("was") : QStringLiteral("were")));
        if (!r.createdClasses.isEmpty())
            c.print(QStringLiteral("New classes: ") + r.createdClasses.join(QLatin1Char(' ')));
        printIssues(c, r.issues, 10);
        QJsonObject out{{QStringLiteral("answers"), r.answers}, {QStringLiteral("unmatched"), r.unmatched},
                        {QStringLiteral("invalid"), r.invalid}, {QStringLiteral("malformed"), r.malformed},
                        {QStringLiteral("created_classes"), QJsonArray::fromStringList(r.createdClasses)},
                        {QStringLiteral("issues"), issuesJson(r.issues)}};
        if (r.answers == 0) {
            c.error(QStringLiteral("nothing was written: no row named both an image of this library and a class of %1")
                        .arg(cat->name));
            out.insert(QStringLiteral("error"), c.lastError);
            out.insert(QStringLiteral("exit"), int(Failed));
        }
        c.printJson(out);
        return r.answers == 0 ? Failed : Ok;
    }
    if (sub == u"export") {
        const QCommandLineOption format(QStringLiteral("format"), QStringLiteral("csv, jsonl (the decision log) or imagefolder."),
                                        QStringLiteral("fmt"), QStringLiteral("csv"));
        const QCommandLineOption out(QStringLiteral("out"), QStringLiteral("Output file (csv, jsonl) or folder (imagefolder)."),
                                     QStringLiteral("path"));
        const QCommandLineOption copy(QStringLiteral("copy"), QStringLiteral("imagefolder: copy files instead of linking."));
        const QCommandLineOption every(QStringLiteral("every-answer"),
                                       QStringLiteral("csv: a value column (yes, no, skip) and a class set's \u201cnot this "
                                                      "class\u201d answers too; labels import reads them back."));
        p.addOptions({format, out, copy, every});
        if (!sc.parse(p, QStringLiteral("Export answers as CSV, the decision log as JSONL, or an ImageFolder tree."), &exit))
            return exit;
        if (!p.isSet(out)) {
            c.error(QStringLiteral("labels export needs --out PATH.\n\n") + sc.helpText(p));
            return Usage;
        }
        auto lib = c.open(true, &exit);
        if (!lib)
            return exit;
        const QString fmt = p.value(format).toLower();
        if (p.isSet(every) && fmt != u"csv") {
            c.error(QStringLiteral("--every-answer is for --format csv (jsonl has every decision already)"));
            return Usage;
        }
        ExportReport r;
        if (fmt == u"jsonl") { // the decision log: of one category, or of all when none is named
            CategoryId only = 0;
            if (p.isSet(category)) {
                auto cat = findCategory(c, *lib, p.value(category), &exit);
                if (!cat)
                    return exit;
                only = cat->id;
            }
            r = labelio::exportJsonl(*lib, p.value(out), only);
        } else if (fmt == u"csv" || fmt == u"imagefolder") {
            auto cat = findCategory(c, *lib, p.value(category), &exit);
            if (!cat)
                return exit;
            r = fmt == u"csv" ? labelio::exportCsv(*lib, *cat, p.value(out), p.isSet(every))
                              : labelio::exportImageFolder(*lib, *cat, p.value(out), p.isSet(copy));
        } else {
            c.error(QStringLiteral("Unknown format \u201c%1\u201d: use csv, jsonl or imagefolder.").arg(fmt));
            return Usage;
        }
        if (!r.error.isEmpty()) {
            c.error(r.error);
            return Failed;
        }
        c.print(QStringLiteral("Wrote %1 to %2%3.")
                    .arg(fmt == u"imagefolder" ? plural(r.written, QStringLiteral("file"), QStringLiteral("files"))
                                               : plural(r.written, QStringLiteral("row"), QStringLiteral("rows")),
                         QDir::toNativeSeparators(QFileInfo(p.value(out)).absoluteFilePath()),
                         r.skipped ? QStringLiteral(" (%1 skipped)").arg(r.skipped) : QString()));
        printIssues(c, r.issues, 10);
        c.printJson({{QStringLiteral("written"), r.written}, {QStringLiteral("skipped"), r.skipped},
                     {QStringLiteral("out"), QFileInfo(p.value(out)).absoluteFilePath()},
                     {QStringLiteral("issues"), issuesJson(r.issues)}});
        return Ok;
    }
    QTextStream(sub == u"--help" || sub == u"-h" ? stdout : stderr)
        << "Usage: magpie-cli labels import --category NAME (--folders DIR | --csv FILE) [--create-classes]\n"
           "       magpie-cli labels export --category NAME --format csv|jsonl|imagefolder --out PATH [--copy] [--every-answer]\n"
           "       (jsonl without --category: the decisions of every category)\n";
    return sub == u"--help" || sub == u"-h" ? Ok : Usage;
}

} // namespace magpie::cli
