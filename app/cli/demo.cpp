#include "app/cli/cli.h"

#include "core/collections.h"
#include "core/importer.h"
#include "core/printexport.h"
#include "core/labelio.h"
#include "core/layout.h"
#include "core/library.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QTextStream>

#ifdef MAGPIE_HAVE_TRAINING
#include "training/service/curator.h"
#endif

namespace magpie::cli {

namespace {

QString findSample()
{
    const QStringList candidates = {
        qEnvironmentVariable("MAGPIE_SAMPLE_DIR"),
        QStringLiteral(MAGPIE_SOURCE_SAMPLE_DIR),
        QCoreApplication::applicationDirPath() + QStringLiteral("/../share/magpie/sample"),
    };
    for (const QString &c : candidates)
        if (!c.isEmpty() && QFileInfo::exists(c + QStringLiteral("/initials/labels.csv")))
            return QDir(c).absolutePath();
    return {};
}

// Reads `file,<col>` pairs from a sample labels.csv.
QVector<QPair<QString, QString>> readColumn(const QString &csv, const QString &column)
{
    QVector<QPair<QString, QString>> out;
    QFile f(csv);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return out;
    QTextStream in(&f);
    const QStringList header = labelio::parseCsvLine(in.readLine());
    const int fc = header.indexOf(QStringLiteral("file"));
    const int lc = header.indexOf(column);
    while (!in.atEnd()) {
        const QStringList cols = labelio::parseCsvLine(in.readLine());
        if (cols.size() > std::max(fc, lc))
            out << qMakePair(cols[fc], cols[lc]);
    }
    return out;
}

} // namespace

int cmdDemo(const Context &c)
{
    QCommandLineParser p;
    const QCommandLineOption out(QStringLiteral("out"), QStringLiteral("Folder for the demo library and exports."),
                                 QStringLiteral("dir"), QStringLiteral("magpie-demo"));
    const QCommandLineOption seeds(QStringLiteral("seeds"), QStringLiteral("Seed answers per letter (default 3)."),
                                   QStringLiteral("n"), QStringLiteral("3"));
    p.addOptions({out, seeds});
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Run Magpie's main job headless on the bundled sample archive: import it, create "
                                   "categories, take seed answers as a curator would, and export the results."),
                 &exit))
        return exit;
    const QString sample = findSample();
    if (sample.isEmpty()) {
        c.error(QStringLiteral("The bundled sample archive was not found (set MAGPIE_SAMPLE_DIR)."));
        return Failed;
    }
    const QString dir = QDir(p.value(out)).absolutePath();
    QDir().mkpath(dir);
    const QString libPath = dir + QStringLiteral("/sample.magpie");
    QString err;
    LibraryError kind;
    bool again = false;
    if (QFileInfo::exists(libPath)) {
        // The demo tells the same story every time: a run starts from a new
        // library. Thumbnails and embeddings (by content) stay in the cache;
        // the old models go. Opening it first keeps a library another
        // process holds from being deleted under it.
        if (!Library::open(libPath, Library::Mode::ReadWrite, &err, &kind)) {
            c.error(err);
            return NoLibrary;
        }
        for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
            QFile::remove(libPath + suffix);
        QDir(libPath + QStringLiteral("-cache/models")).removeRecursively();
        again = true;
    }
    std::unique_ptr<Library> lib = Library::create(libPath, &err, &kind);
    if (!lib) {
        c.error(err);
        return NoLibrary;
    }
    c.print(QStringLiteral("Magpie demo \u2014 library %1%2").arg(QDir::toNativeSeparators(libPath),
        again ? QStringLiteral(" (made anew; the last run's cached thumbnails and embeddings are reused)") : QString()));

    // 1. Import the sample archive (incremental: a second run reads nothing new).
    for (const QString &sub : {QStringLiteral("initials"), QStringLiteral("themes")}) {
        const ImportReport r = importFolder(*lib, sample + QLatin1Char('/') + sub, {},
                                            [&](const ImportProgress &pr) { c.progress(pr); }, c.cancel);
        c.endProgress();
        if (!r.error.isEmpty()) {
            c.error(r.error);
            return Failed;
        }
        c.print(QStringLiteral("1. Imported %1: %2 files, %3 new, %4 unchanged, %5 unreadable (%6 s)")
                    .arg(sub).arg(r.listed).arg(r.added).arg(r.unchanged).arg(r.unreadable).arg(r.seconds, 0, 'f', 2));
    }

    // 2. Categories: a class set of letters and a binary theme.
    const QStringList letters = letterClasses();
    auto initials = lib->category(QStringLiteral("Initials"));
    if (!initials)
        initials = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet, letters);
    auto portraits = lib->category(QStringLiteral("portraits"));
    if (!portraits)
        portraits = lib->createCategory(QStringLiteral("portraits"), CategoryKind::Binary);
    if (!initials || !portraits) {
        c.error(lib->lastError());
        return Failed;
    }
    QString initialsOn;
#ifdef MAGPIE_HAVE_TRAINING
    // The letters backbone, whose prior head knows A-Z + none (the themes stay on the general one).
    training::Curator::adoptSuggestedBackbone(*lib, *initials);
    initialsOn = qEnvironmentVariable("MAGPIE_BACKBONE", training::Curator::categoryBackbone(*lib, initials->id));
#endif
    c.print(QStringLiteral("2. Categories: class set \u201cInitials\u201d (A\u2013Z + none%1), theme \u201cportraits\u201d")
                .arg(initialsOn.isEmpty() ? QString() : QStringLiteral(", on the %1 backbone").arg(initialsOn)));

    // 3. Seed answers, the way an artist bootstraps: a CSV of a few examples per class.
    const int perClass = std::max(1, p.value(seeds).toInt());
    const QString seedCsv = dir + QStringLiteral("/seed-initials.csv");
    {
        QFile f(seedCsv);
        f.open(QIODevice::WriteOnly | QIODevice::Text);
        QTextStream s(&f);
        s << "file,label\n";
        QHash<QString, int> taken;
        for (const auto &row : readColumn(sample + QStringLiteral("/initials/labels.csv"), QStringLiteral("label")))
            if (taken[row.second]++ < perClass)
                s << sample << "/initials/" << row.first << ',' << row.second << '\n';
    }
    const LabelImportReport li = labelio::importCsv(*lib, *initials, seedCsv);
    if (!li.error.isEmpty()) {
        c.error(li.error);
        return Failed;
    }
    int yes = 0, no = 0;
    QVector<Answer> themeAnswers;
    for (const auto &row : readColumn(sample + QStringLiteral("/themes/labels.csv"), QStringLiteral("portrait"))) {
        const bool isYes = row.second == u"1";
        if ((isYes && yes >= 5) || (!isYes && no >= 5))
            continue;
        Answer a;
        a.imageId = lib->findByPath(sample + QStringLiteral("/themes/") + row.first);
        a.categoryId = portraits->id;
        a.value = isYes ? AnswerValue::Yes : AnswerValue::No;
        a.origin = Origin::Person;
        a.durationMs = 800;
        if (!a.imageId)
            continue;
        if (!lib->answer(a)) {
            c.error(lib->lastError());
            return Failed;
        }
        (isYes ? yes : no)++;
    }
    c.print(QStringLiteral("3. Seed answers: %1 initials from %2 (%3 per class), %4 yes + %5 no for portraits")
                .arg(li.answers).arg(QDir::toNativeSeparators(seedCsv)).arg(perClass).arg(yes).arg(no));

    // 4. What the library holds now.
    const LibraryCounts n = lib->counts();
    c.print(QStringLiteral("4. Library: %1 images (%2 ok, %3 unreadable), %4 decisions logged")
                .arg(n.images).arg(n.ok).arg(n.unreadable).arg(lib->decisionCount()));

    // 5. Exports.
    const QString csvOut = dir + QStringLiteral("/initials-labels.csv");
    const QString jsonlOut = dir + QStringLiteral("/decisions.jsonl");
    const QString treeOut = dir + QStringLiteral("/initials-imagefolder");
    const ExportReport e1 = labelio::exportCsv(*lib, *initials, csvOut);
    const ExportReport e2 = labelio::exportJsonl(*lib, jsonlOut);
    const ExportReport e3 = labelio::exportImageFolder(*lib, *initials, treeOut, false);
    c.print(QStringLiteral("5. Exported: %1 (%2 rows), %3 (%4 decisions), %5 (%6 links)")
                .arg(QDir::toNativeSeparators(csvOut)).arg(e1.written)
                .arg(QDir::toNativeSeparators(jsonlOut)).arg(e2.written)
                .arg(QDir::toNativeSeparators(treeOut)).arg(e3.written));
    // 6-8. The loop: the model proposes, the curator answers, the model learns.
    int step = 6;
    const auto truth = readColumn(sample + QStringLiteral("/themes/labels.csv"), QStringLiteral("portrait"));
#ifdef MAGPIE_HAVE_TRAINING
    {
        training::Curator curator(*lib);
        if (curator.backboneVersion().isEmpty()) {
            c.print(QStringLiteral("6. No classifier: %1").arg(curator.lastError()));
        } else {
            training::EmbedReport er;
            curator.embed(&er, [&](qint64 done, qint64 total) {
                c.progress(ImportProgress{done, total, 0, -1, QStringLiteral("embedding")});
            }, c.cancel);
            c.endProgress();
            c.print(QStringLiteral("%1. Embedded %2 images with the %3 backbone%4 (%5 img/s)")
                        .arg(step++).arg(er.images)
                        .arg(er.backbones.join(QStringLiteral(" and the ")),
                             er.backbones.size() > 1 ? QStringLiteral("s") : QString())
                        .arg(er.seconds > 0 ? int(er.embedded / er.seconds) : 0));
            QHash<ImageId, bool> isPortrait;
            for (const auto &row : truth)
                if (const ImageId id = lib->findByPath(sample + QStringLiteral("/themes/") + row.first))
                    isPortrait.insert(id, row.second == u"1");
            for (int round = 1; round <= 3; ++round) {
                training::TrainReport tr;
                if (!curator.train(*portraits, {}, &tr)) {
                    c.print(QStringLiteral("   training failed: %1").arg(curator.lastError()));
                    break;
                }
                const auto proposals = curator.suggest(*portraits, training::Queue::Harvest, 10);
                int hits = 0, shown = 0;
                for (const training::Suggestion &s : proposals) {
                    if (!isPortrait.contains(s.imageId))
                        continue; // an initial: not part of this theme's ground truth
                    Answer a;
                    a.imageId = s.imageId;
                    a.categoryId = portraits->id;
                    a.value = isPortrait.value(s.imageId) ? AnswerValue::Yes : AnswerValue::No;
                    a.modelVersion = tr.modelVersion;
                    a.durationMs = 700;
                    lib->answer(a); // the curator answers, as a person would
                    hits += a.value == AnswerValue::Yes;
                    ++shown;
                }
                c.print(QStringLiteral("%1. Round %2: model v%3 trained on %4 answers in %5 s; its 10 best guesses held "
                                       "%6 portraits out of %7 themed pictures, answered and folded in")
                            .arg(step++).arg(round).arg(tr.modelVersion).arg(tr.examples)
                            .arg(tr.trainSeconds, 0, 'f', 2).arg(hits).arg(shown));
            }
            // The class set: its seed answers blended with the letters backbone's prior,
            // scored against the sample's other initials.
            training::TrainReport ti;
            if (curator.train(*initials, {}, &ti)) {
                QSet<QString> seeded;
                for (const auto &row : readColumn(seedCsv, QStringLiteral("file"))) seeded.insert(row.second);
                QVector<QPair<ImageId, ClassId>> truthInitials;
                for (const auto &row : readColumn(sample + QStringLiteral("/initials/labels.csv"), QStringLiteral("label"))) {
                    const QString file = sample + QStringLiteral("/initials/") + row.first;
                    const ImageId id = lib->findByPath(file);
                    const ClassId k = labelio::classIdOf(*initials, row.second);
                    if (id && k && !seeded.contains(file)) truthInitials.append({id, k});
                }
                training::EvalReport ev;
                if (curator.evaluate(*initials, truthInitials, &ev))
                    c.print(QStringLiteral("%1. Initials: model v%2 from %3 answers on the %4 backbone in %5 s; it names %6 % of the "
                                           "other %7 sample initials right (always the commonest: %8 %)")
                                .arg(step++).arg(ti.modelVersion).arg(ti.examples).arg(initialsOn.isEmpty() ? QStringLiteral("library's") : initialsOn)
                                .arg(ti.trainSeconds, 0, 'f', 2).arg(100 * ev.accuracy, 0, 'f', 0).arg(ev.evaluated)
                                .arg(100 * ev.baseline, 0, 'f', 0));
            } else {
                c.print(QStringLiteral("   training the initials failed: %1").arg(curator.lastError()));
            }
        }
    }
#else
    c.print(QStringLiteral("6. This build has no training engine (LibTorch); the classifier steps are skipped."));
    ++step;
#endif

    // Finally a collection of the portraits found, laid out and printed.
    const QVector<ImageId> found = collections::yesImages(*lib, *portraits);
    QString printed;
    if (!found.isEmpty()) {
        auto existing = collections::find(*lib, QStringLiteral("portraits"));
        const qint64 colId = existing ? existing->id
                                      : lib->createCollection(QStringLiteral("portraits"), QStringLiteral("Portraits"),
                                                              QStringLiteral("found with Magpie"));
        lib->setCollectionItems(colId, found);
        PrintOptions o;
        o.dpi = 150;
        PrintJob job = printJobFromCollection(*lib, *collections::find(*lib, QStringLiteral("portraits")), o);
        QString source;
        const GridLayout g = arrangeBySimilarity(*lib, job, 1, false, c.cancel, &source);
        const PrintExportResult pr = exportPrint(job, ExportFormat::Png, dir + QStringLiteral("/prints"));
        if (pr.ok) {
            printed = pr.output;
            c.print(QStringLiteral("%1. Collection “Portraits”: %2 images on a %3 × %4 grid (similar ones together by %5), "
                                   "printed to %6")
                        .arg(step++).arg(found.size()).arg(g.rows).arg(g.cols).arg(source, QDir::toNativeSeparators(pr.output)));
        } else {
            c.print(QStringLiteral("%1. The print failed: %2").arg(step++).arg(pr.error));
        }
    }

    c.print(QStringLiteral("\nNext: magpie-cli --library %1 info   (or open it in the GUI: magpie %1)")
                .arg(QDir::toNativeSeparators(libPath)));
    c.printJson({{QStringLiteral("library"), libPath}, {QStringLiteral("images"), n.images},
                 {QStringLiteral("seed_answers"), li.answers + yes + no},
                 {QStringLiteral("exports"), QJsonArray{csvOut, jsonlOut, treeOut, printed}}});
    return e1.error.isEmpty() && e2.error.isEmpty() && e3.error.isEmpty() ? Ok : Failed;
}

} // namespace magpie::cli
