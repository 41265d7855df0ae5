// magpie-cli embed | train | score | suggest | answer | eval | similar:
// enough for a person or a program (the benchmarks' simulated curator) to run
// the labelling loop headless.
#include "app/cli/training_commands.h"

#include "app/cli/cli.h"
#include "core/collections.h"
#include "core/importer.h"
#include "core/labelio.h"
#include "core/library.h"
#include "training/service/curator.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QTextStream>

namespace magpie::cli {

const char *const kTrainingUsage =
    "  embed                     embed every image with the backbone (cached, incremental)\n"
    "  train -c CAT [--fast]     train the category's model on its answers (--deep: fine-tune)\n"
    "  score -c CAT              score the archive with the current model\n"
    "  suggest -c CAT            what to show next: --queue harvest|teach|audit|novel|mix|random, -n N\n"
    "  answer -c CAT             record answers: --value yes|no|skip [--class C] IMAGE..., or --csv FILE\n"
    "  eval -c CAT --truth CSV   accuracy of the current model on never-answered images\n"
    "  similar IMAGE             more like this (nearest embeddings)\n"
    "  chain FROM TO             a chain of similar images leading from one image to another\n"
    "  backbone [general|letters] [-c CATEGORY]  show or set the library's backbone, or a category's own\n";

namespace {

using training::Curator;

const QCommandLineOption kCategoryOpt({QStringLiteral("c"), QStringLiteral("category")}, QStringLiteral("Category name."), QStringLiteral("NAME"));
const QCommandLineOption kBackboneOpt(QStringLiteral("backbone"),
    QStringLiteral("general | letters | a file (.mbb, or a TorchScript .pt); default $MAGPIE_BACKBONE, else the "
                   "library's (magpie-cli backbone)."),
    QStringLiteral("NAME|FILE"));

std::optional<Category> category(const Context &c, const Library &lib, const QCommandLineParser &p, int *exit)
{
    const QString name = p.value(kCategoryOpt);
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

// An image id, a path as imported (relative to its import root), or a path
// to the file from here (as `collection add` takes them).
// `why`: on failure, why (an ambiguous number says how to choose).
// `csvDir`: a name read from a CSV file is first taken as a path next to it
// (as labels import does), so a bare name two folders share still resolves.
ImageId resolveImage(const Library &lib, const QString &s, QString *why = nullptr, const QString &csvDir = {})
{
    if (!csvDir.isEmpty() && !s.trimmed().isEmpty() && !s.startsWith(QLatin1String("id:")) && QDir::isRelativePath(s.trimmed()))
        if (const ImageId id = lib.findByPath(QDir(csvDir).absoluteFilePath(s.trimmed()))) return id;
    QStringList unresolved;
    const QVector<ImageId> ids = collections::resolveImages(lib, {s}, &unresolved);
    if (why)
        *why = !unresolved.isEmpty() && unresolved.first() != s.trimmed()
                   ? unresolved.first()
                   : QStringLiteral("%1 is not an image of this library").arg(s);
    return ids.isEmpty() ? 0 : ids.first();
}

// A small CSV reader: header row, commas, double-quoted fields. A line whose
// quote is left open is not a record: it is left out, and listed in `malformed`.
// `lines`: each row's line number in the file (for messages). Comment lines
// (#...) are left out, as labels import does.
QVector<QStringList> readCsv(const QString &path, QString *error, QStringList *malformed = nullptr,
                             QVector<int> *lines = nullptr)
{
    QVector<QStringList> rows;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) {
        *error = QStringLiteral("cannot read %1").arg(path);
        return rows;
    }
    QTextStream in(&f);
    int lineNo = 0;
    while (!in.atEnd()) {
        const QString line = in.readLine();
        ++lineNo;
        if (line.trimmed().isEmpty() || line.startsWith(QLatin1Char('#'))) continue;
        bool unclosed = false;
        const QStringList fields = labelio::parseCsvLine(line, &unclosed);
        if (unclosed) {
            if (malformed) *malformed << QStringLiteral("line %1: a quote is left open").arg(lineNo);
            continue;
        }
        rows.push_back(fields);
        if (lines) lines->push_back(lineNo);
    }
    return rows;
}

// A progress callback that draws the CLI's progress bar with a rate since its creation.
// `stage`, when given, names the stage of a job whose count starts again
// (a deep pass: training, then embedding): the bar is labelled "phase, stage".
training::ProgressFn progressBar(const Context &c, const QString &phase, std::shared_ptr<QString> stage = {})
{
    auto timer = std::make_shared<QElapsedTimer>();
    auto first = std::make_shared<qint64>(-1); // `done` counts what was cached before: the rate starts here
    auto shown = std::make_shared<QString>();
    return [&c, phase, timer, first, stage, shown](qint64 done, qint64 total) {
        if (stage && *stage != *shown) { // a new stage: a new bar, and its own rate
            if (!shown->isEmpty()) c.endProgress();
            *shown = *stage;
            *first = -1;
        }
        if (*first < 0) {
            *first = done;
            timer->start();
        }
        ImportProgress ip;
        ip.done = done;
        ip.total = total;
        ip.phase = stage && !stage->isEmpty() ? QStringLiteral("%1, %2").arg(phase, *stage) : phase;
        ip.perSecond = timer->elapsed() > 0 ? (done - *first) * 1000.0 / timer->elapsed() : 0;
        c.progress(ip);
    };
}

std::unique_ptr<Curator> makeCurator(const Context &c, Library &lib, const QCommandLineParser &p, int *exit)
{
    auto cur = std::make_unique<Curator>(lib, p.value(kBackboneOpt));
    if (cur->backboneVersion().isEmpty()) {
        c.error(cur->lastError());
        *exit = Failed;
        return nullptr;
    }
    return cur;
}

} // namespace

int cmdEmbed(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kBackboneOpt);
    const QCommandLineOption batch(QStringLiteral("batch"), QStringLiteral("Images per batch (default 32; at least 256 on a GPU)."), QStringLiteral("N"), QStringLiteral("32"));
    p.addOption(batch);
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Embeds every image not yet in the embedding cache."), &exit)) return exit;
    auto lib = c.open(false, &exit);
    if (!lib) return exit;
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    training::EmbedReport r;
    const bool ok = cur->embed(&r, progressBar(c, QStringLiteral("embedding")), c.cancel, p.value(batch).toInt());
    c.endProgress();
    if (!ok) {
        c.error(cur->lastError());
        return Failed;
    }
    const double ips = r.seconds > 0 ? r.embedded / r.seconds : 0;
    const qsizetype nb = std::max<qsizetype>(1, r.backbones.size());
    c.print(QStringLiteral("%1 images%9: %2 embedded now, %3 cached, %4 failed \u2014 %5 s (%6 images/s; decode %7 s, network %8 s)")
                .arg(r.images).arg(r.embedded).arg(r.cached).arg(r.failed).arg(r.seconds, 0, 'f', 2)
                .arg(ips, 0, 'f', 1).arg(r.decodeSeconds, 0, 'f', 2).arg(r.networkSeconds, 0, 'f', 2)
                .arg(nb > 1 ? QStringLiteral(" \u00d7 %1 backbones (%2)").arg(nb).arg(r.backbones.join(QStringLiteral(", "))) : QString()));
    if (r.cancelled) // what was embedded is kept: the next run goes on from there
        c.error(QStringLiteral("interrupted: %1 embedded so far are kept; run embed again to go on").arg(r.embedded));
    // The similarity index ("more like this") is brought up to date in the
    // background; wait so that it is saved before the process ends.
    QElapsedTimer ti;
    ti.start();
    if (!cur->waitForSimilarityIndex(c.cancel))
        c.error(QStringLiteral("similarity index not updated: %1 (similar stays exact until the next embed)").arg(cur->lastError()));
    const qint64 indexed = cur->similarityIndexedRows();
    if (indexed > 0)
        c.print(QStringLiteral("similarity index: %1 embeddings indexed (%2 s)").arg(indexed).arg(ti.elapsed() / 1000.0, 0, 'f', 1));
    c.printJson({{QStringLiteral("backbone"), cur->backboneVersion()}, {QStringLiteral("backbones"), QJsonArray::fromStringList(r.backbones)},
                 {QStringLiteral("total"), r.images}, {QStringLiteral("embeddings_total"), r.total},
                 {QStringLiteral("embedded"), r.embedded}, {QStringLiteral("cached"), r.cached},
                 {QStringLiteral("failed"), r.failed}, {QStringLiteral("seconds"), r.seconds},
                 {QStringLiteral("decode_seconds"), r.decodeSeconds}, {QStringLiteral("network_seconds"), r.networkSeconds},
                 {QStringLiteral("images_per_second"), ips}, {QStringLiteral("similarity_indexed"), indexed},
                 {QStringLiteral("cancelled"), r.cancelled}});
    return r.cancelled ? Cancelled : Ok;
}

namespace {
// What a person reads after `train` (every figure is in --json): the held-out
// accuracy, the classes it gets wrong most, the prior's share, what is missing.
QString trainSummary(qint64 version, qint64 answers, double seconds, qint64 missing, const QString &metricsJson,
                     const QString &ownBackbone = {})
{
    const QJsonObject m = QJsonDocument::fromJson(metricsJson.toUtf8()).object();
    QStringList lines;
    const QJsonObject deep = m.value(QStringLiteral("deep")).toObject();
    if (!deep.isEmpty()) {
        // the head takes a fraction of a second; the pass and the re-embedding are the time
        const double pass = deep.value(QStringLiteral("seconds")).toDouble();
        const double reembed = deep.value(QStringLiteral("reembed_seconds")).toDouble();
        const int epochs = deep.value(QStringLiteral("epochs")).toInt();
        lines << QStringLiteral("model version %1 from %2 answers (deep) in %3 s: %4 in %5 s on %6, embedding "
                                "%7 s, head %8 s")
                     .arg(version).arg(answers).arg(pass + reembed + seconds, 0, 'f', 1)
                     .arg(epochs == 1 ? QStringLiteral("1 epoch") : QStringLiteral("%1 epochs").arg(epochs))
                     .arg(pass, 0, 'f', 1)
                     .arg(deep.value(QStringLiteral("device")).toString(QStringLiteral("the CPU")))
                     .arg(reembed, 0, 'f', 1).arg(seconds, 0, 'f', 2);
    } else {
        lines << QStringLiteral("model version %1 from %2 %3 in %4 s (%5)")
                     .arg(version).arg(answers).arg(answers == 1 ? QStringLiteral("answer") : QStringLiteral("answers"))
                     .arg(seconds, 0, 'f', 2)
                     .arg(m.value(QStringLiteral("mode")).toString(QStringLiteral("fast")));
    }
    if (!ownBackbone.isEmpty()) // a category on a backbone of its own: say which
        lines.last() += QStringLiteral(" on the %1 backbone").arg(ownBackbone);
    if (m.contains(QStringLiteral("accuracy")))
        lines << QStringLiteral("held out (%1): %2 % of %3 answers right")
                     .arg(m.value(QStringLiteral("validation")).toString(QStringLiteral("k-fold")))
                     .arg(m.value(QStringLiteral("accuracy")).toDouble() * 100, 0, 'f', 1)
                     .arg(m.value(QStringLiteral("validated_answers")).toInt());
    else if (m.contains(QStringLiteral("temperature_note")))
        lines << QStringLiteral("not validated yet (that needs 6 answers, at least one yes and one no): its scores are kept modest");
    else if (m.contains(QStringLiteral("validation")))
        lines << QStringLiteral("not validated yet: too few answers");
    const QJsonObject per = m.value(QStringLiteral("per_class")).toObject();
    struct Cls { QString name; int right, n; double recall; };
    QVector<Cls> seen;
    QStringList unanswered;
    for (auto it = per.begin(); it != per.end(); ++it) {
        const QJsonObject o = it.value().toObject();
        const int n = o.value(QStringLiteral("support")).toInt();
        const double recall = o.value(QStringLiteral("recall")).toDouble();
        if (n <= 0) unanswered << it.key();
        else seen.push_back({it.key(), int(std::lround(std::max(0.0, recall) * n)), n, recall});
    }
    if (!seen.isEmpty()) {
        std::sort(seen.begin(), seen.end(), [](const Cls &a, const Cls &b) { return a.recall < b.recall; });
        QStringList parts;
        for (const Cls &k : seen.mid(0, per.size() <= 2 ? 2 : 5))
            parts << QStringLiteral("%1 %2 of %3").arg(k.name).arg(k.right).arg(k.n);
        lines << (per.size() <= 2 ? QStringLiteral("held out, right: ") : QStringLiteral("weakest classes held out, right: "))
                     + parts.join(QStringLiteral(", "));
    }
    if (!unanswered.isEmpty())
        lines << QStringLiteral("no answers yet for %1 class(es): %2").arg(unanswered.size())
                     .arg(unanswered.mid(0, 12).join(QStringLiteral(" ")) + (unanswered.size() > 12 ? QStringLiteral(" ...") : QString()));
    const QJsonObject prior = m.value(QStringLiteral("prior")).toObject();
    if (!prior.isEmpty())
        lines << QStringLiteral("blended with the backbone's prior head (weight %1%2)")
                     .arg(prior.value(QStringLiteral("weight")).toDouble(), 0, 'f', 2)
                     .arg(prior.value(QStringLiteral("automatic")).toBool() ? QStringLiteral(", automatic") : QString());
    if (missing > 0)
        lines << (missing == 1 ? QStringLiteral("1 answered image is not embedded yet: run embed, then train again")
                               : QStringLiteral("%1 answered images are not embedded yet: run embed, then train again").arg(missing));
    lines << QStringLiteral("(--json prints every figure)");
    return lines.join(QLatin1Char('\n'));
}
} // namespace

int cmdTrain(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kCategoryOpt);
    p.addOption(kBackboneOpt);
    const QCommandLineOption fast(QStringLiteral("fast"), QStringLiteral("A head on cached embeddings (default)."));
    const QCommandLineOption deep(QStringLiteral("deep"), QStringLiteral("Fine-tune blocks 9-10 and a new layer with augmentation, re-embed, then a fast head."));
    const QCommandLineOption epochs(QStringLiteral("epochs"), QStringLiteral("Deep: epochs (default 6)."), QStringLiteral("N"), QStringLiteral("6"));
    const QCommandLineOption timeBox(QStringLiteral("time-box"), QStringLiteral("Deep: stop after the epoch that passes this many seconds (default 300)."), QStringLiteral("S"), QStringLiteral("300"));
    const QCommandLineOption hidden(QStringLiteral("hidden"), QStringLiteral("MLP head with N hidden units (0: logistic)."), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption steps(QStringLiteral("steps"), QStringLiteral("Optimiser steps (default 100)."), QStringLiteral("N"), QStringLiteral("100"));
    const QCommandLineOption l2(QStringLiteral("l2"), QStringLiteral("L2 penalty (default 0.01)."), QStringLiteral("X"), QStringLiteral("0.01"));
    const QCommandLineOption lr(QStringLiteral("lr"), QStringLiteral("Adam learning rate (default 0.03)."), QStringLiteral("X"), QStringLiteral("0.03"));
    const QCommandLineOption noVal(QStringLiteral("no-validate"), QStringLiteral("Skip the 5-fold validation."));
    const QCommandLineOption tuneFrom(QStringLiteral("tune-from"),
                                      QStringLiteral("Deep: fine-tune blocks N..10 (default 9; lower N adapts more, costs more)."),
                                      QStringLiteral("N"), QStringLiteral("9"));
    const QCommandLineOption newBlocks(QStringLiteral("new-blocks"),
                                       QStringLiteral("Deep: add N new inverted-residual blocks on top of the cut, trained from scratch "
                                                      "(they start as the identity; default 0)."),
                                       QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption priorW(QStringLiteral("prior-weight"),
                                    QStringLiteral("Weight of the backbone's prior head where it has one for the class set "
                                                   "(the letters backbone: A-Z + none), 0..1, 0: answers only; default auto: "
                                                   "the prior counts as 20 answers per class, 20 / (20 + yes-answers per class)."),
                                    QStringLiteral("X|auto"), QStringLiteral("auto"));
    const QCommandLineOption unlabeledW(QStringLiteral("unlabeled-weight"),
                                        QStringLiteral("Binary themes: up to 2,000 unanswered images join as weak 'no' examples "
                                                       "weighing X in all relative to the answers (default 0: answers only; "
                                                       "pair with a strong --l2, e.g. --l2 1 --unlabeled-weight 0.1)."),
                                        QStringLiteral("X"), QStringLiteral("0"));
    p.addOptions({fast, deep, epochs, tuneFrom, newBlocks, timeBox, hidden, steps, l2, lr, priorW, unlabeledW, noVal});
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Trains a new model version for a category from its answers."), &exit)) return exit;
    auto lib = c.open(false, &exit);
    if (!lib) return exit;
    const auto cat = category(c, *lib, p, &exit);
    if (!cat) return exit;
    if (p.isSet(fast) && p.isSet(deep)) {
        c.error(QStringLiteral("--fast and --deep: choose one"));
        return Usage;
    }
    if (p.isSet(deep) && p.value(epochs).toInt() < 1) {
        c.error(QStringLiteral("--epochs wants 1 or more, not \u201c%1\u201d").arg(p.value(epochs)));
        return Usage;
    }
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    training::TrainOptions o;
    o.deep = p.isSet(deep);
    o.epochs = p.value(epochs).toInt();
    o.tuneFromBlock = std::clamp(p.value(tuneFrom).toInt(), 1, 10);
    o.timeBoxSeconds = p.value(timeBox).toDouble();
    o.newBlocks = std::clamp(p.value(newBlocks).toInt(), 0, 4);
    o.hidden = p.value(hidden).toInt();
    o.steps = p.value(steps).toInt();
    o.l2 = p.value(l2).toFloat();
    o.lr = p.value(lr).toFloat();
    o.validate = !p.isSet(noVal);
    if (p.value(priorW) != QLatin1String("auto")) {
        bool isNumber = false;
        const double w = p.value(priorW).toDouble(&isNumber);
        if (!isNumber || w < 0 || w > 1) {
            c.error(QStringLiteral("--prior-weight: a number from 0 to 1, or auto"));
            return Usage;
        }
        o.priorWeight = std::clamp(w, 0.0, 1.0);
    }
    {
        bool isNumber = false;
        const double w = p.value(unlabeledW).toDouble(&isNumber);
        if (!isNumber || w < 0) {
            c.error(QStringLiteral("--unlabeled-weight: a number from 0 (answers only) up"));
            return Usage;
        }
        o.unlabeledWeight = std::min(w, 10.0);
    }
    training::TrainReport r;
    auto stage = std::make_shared<QString>();
    o.onStage = [stage](const QString &s) { *stage = s; };
    const bool ok = cur->train(*cat, o, &r, c.cancel, progressBar(c, QStringLiteral("deep pass"), stage));
    c.endProgress();
    if (!ok) {
        const bool interrupted = c.cancel && c.cancel->load();
        c.error(interrupted ? QStringLiteral("Interrupted; the model in use is unchanged.") : cur->lastError());
        return interrupted ? Cancelled : Failed;
    }
    // the backbone it trained on: the one given (--backbone, $MAGPIE_BACKBONE), else the category's
    bool ownBackbone = false;
    QString backbone = Curator::categoryBackbone(*lib, cat->id, &ownBackbone);
    const QString given = p.isSet(kBackboneOpt) ? p.value(kBackboneOpt) : qEnvironmentVariable("MAGPIE_BACKBONE");
    if (!given.isEmpty()) {
        backbone = given;
        ownBackbone = false;
    }
    const QString on = ownBackbone ? backbone : QString();
    if (r.unchanged) {
        // nothing new to learn from: the same model again would be a copy
        const QJsonObject m = QJsonDocument::fromJson(r.metricsJson.toUtf8()).object();
        c.print(QStringLiteral("nothing changed since model version %1 (the same %2 answers, embeddings and options): kept it")
                    .arg(r.modelVersion).arg(r.examples));
        c.print(trainSummary(r.modelVersion, r.examples, m.value(QStringLiteral("train_seconds")).toDouble(),
                             r.missingEmbeddings, r.metricsJson, on));
    } else {
        c.print(trainSummary(r.modelVersion, r.examples, r.trainSeconds, r.missingEmbeddings, r.metricsJson, on));
    }
    if (r.unreadableAnswers > 0)
        c.print(QStringLiteral("%1 answered %2 cannot be read or %3 gone (magpie-cli info --issues) and %3 left out")
                    .arg(r.unreadableAnswers)
                    .arg(r.unreadableAnswers == 1 ? QStringLiteral("image") : QStringLiteral("images"),
                         r.unreadableAnswers == 1 ? QStringLiteral("is") : QStringLiteral("are")));
    {
        // A model from a handful of answers is little better than a guess (a
        // backbone's prior head carries a class set's first answers; not a deep pass's).
        const QJsonObject m = QJsonDocument::fromJson(r.metricsJson.toUtf8()).object();
        const bool deep = m.contains(QStringLiteral("deep"));
        const int few = deep ? 20 : 6;
        if (r.examples < few && (deep || !m.contains(QStringLiteral("prior"))))
            c.error(QStringLiteral("warning: trained on %1 %2 only; %3 wants %4 or more (with yes and no, or several classes) "
                                   "before its order means much")
                        .arg(r.examples).arg(r.examples == 1 ? QStringLiteral("answer") : QStringLiteral("answers"),
                                             deep ? QStringLiteral("a deep pass") : QStringLiteral("a model"))
                        .arg(few));
    }
    c.printJson({{QStringLiteral("model_version"), r.modelVersion}, {QStringLiteral("answers"), r.examples},
                 {QStringLiteral("unchanged"), r.unchanged}, {QStringLiteral("backbone"), backbone},
                 {QStringLiteral("train_seconds"), r.trainSeconds}, {QStringLiteral("missing_embeddings"), r.missingEmbeddings},
                 {QStringLiteral("unreadable_answers"), r.unreadableAnswers},
                 {QStringLiteral("metrics"), QJsonDocument::fromJson(r.metricsJson.toUtf8()).object()}});
    return Ok;
}

int cmdScore(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kCategoryOpt);
    p.addOption(kBackboneOpt);
    const QCommandLineOption out(QStringLiteral("out"), QStringLiteral("Write one row per image to this CSV: the image id, the probability of yes (a theme) or of each class (a class set), then its file."), QStringLiteral("FILE"));
    p.addOption(out);
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Scores every embedded image with the category's current model."), &exit)) return exit;
    auto lib = c.open(true, &exit);
    if (!lib) return exit;
    const auto cat = category(c, *lib, p, &exit);
    if (!cat) return exit;
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    QVector<ImageId> ids;
    QVector<float> probs;
    int C = 0;
    qint64 version = 0;
    QElapsedTimer t;
    t.start();
    if (!cur->scores(*cat, &ids, &probs, &C, &version)) {
        c.error(cur->lastError());
        return Failed;
    }
    const double secs = t.nsecsElapsed() / 1e9;
    if (!cur->lastError().isEmpty()) c.error(cur->lastError());
    int positives = 0;
    for (qsizetype i = 0; i < ids.size(); ++i)
        positives += cat->kind == CategoryKind::Binary ? probs[i * C + 1] >= 0.5f : 0;
    if (p.isSet(out)) {
        QFile f(p.value(out));
        if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
            c.error(QStringLiteral("cannot write %1").arg(p.value(out)));
            return Failed;
        }
        QTextStream s(&f);
        // the file last, quoted as CSV wants (one read of the library, not a query per row)
        QHash<ImageId, QString> paths;
        for (const ImageRecord &rec : lib->images(ImageStatus::Ok)) paths.insert(rec.id, rec.absPath);
        const auto quoted = [](QString v) -> QString { return QLatin1Char('"') + v.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"'); };
        s << "image";
        if (cat->kind == CategoryKind::Binary) s << ",yes";
        else for (const ClassInfo &ci : cat->classes) s << ',' << ci.name;
        s << ",file\n";
        for (qsizetype i = 0; i < ids.size(); ++i) {
            s << ids[i];
            for (int k = cat->kind == CategoryKind::Binary ? 1 : 0; k < C; ++k) s << ',' << probs[i * C + k];
            s << ',' << quoted(paths.value(ids[i])) << '\n';
        }
    }
    const QString model = version > 0 ? QStringLiteral("model version %1").arg(version)
                                      : QStringLiteral("the backbone's prior head (nothing trained yet)");
    c.print(QStringLiteral("%1 scored %2 images in %3 s%4").arg(model).arg(ids.size()).arg(secs, 0, 'f', 3)
                .arg(cat->kind == CategoryKind::Binary ? QStringLiteral("; %1 predicted yes").arg(positives) : QString()));
    c.printJson({{QStringLiteral("model_version"), version}, {QStringLiteral("images"), ids.size()},
                 {QStringLiteral("seconds"), secs}, {QStringLiteral("predicted_yes"), positives}});
    return Ok;
}

int cmdSuggest(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kCategoryOpt);
    p.addOption(kBackboneOpt);
    const QCommandLineOption queue(QStringLiteral("queue"), QStringLiteral("harvest, teach, audit, novel, mix (default) or random."), QStringLiteral("Q"), QStringLiteral("mix"));
    const QCommandLineOption num({QStringLiteral("n"), QStringLiteral("count")}, QStringLiteral("How many (default 10)."), QStringLiteral("N"), QStringLiteral("10"));
    const QCommandLineOption cls(QStringLiteral("class"), QStringLiteral("Only this class of a class set."), QStringLiteral("NAME"));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Seed of the random queues."), QStringLiteral("S"), QStringLiteral("1"));
    p.addOptions({queue, num, cls, seed});
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Proposes images to answer next (never ones already answered in the category; in a class set, "
                                  "one told only \"not this class\" comes again, guessed among the other classes)."), &exit)) return exit;
    auto lib = c.open(true, &exit);
    if (!lib) return exit;
    const auto cat = category(c, *lib, p, &exit);
    if (!cat) return exit;
    const auto q = training::parseQueue(p.value(queue));
    if (!q) {
        c.error(QStringLiteral("unknown queue %1 (choose harvest, teach, audit, novel, mix or random)").arg(p.value(queue)));
        return Usage;
    }
    ClassId classId = 0;
    if (p.isSet(cls)) {
        classId = labelio::classIdOf(*cat, p.value(cls));
        if (!classId) {
            c.error(QStringLiteral("no class %1 in %2").arg(p.value(cls), cat->name));
            return Usage;
        }
    }
    bool numOk = false;
    const int n = p.value(num).toInt(&numOk);
    if (!numOk || n < 1) {
        c.error(QStringLiteral("-n wants a number of images (1 or more), not \u201c%1\u201d").arg(p.value(num)));
        return Usage;
    }
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    const auto list = cur->suggest(*cat, *q, n, classId, p.value(seed).toULongLong());
    bool notEmbedded = false;
    if (list.isEmpty()) {
        // every image answered, or none of the unanswered ones embedded yet
        QSet<ImageId> answered;
        for (const Answer &a : lib->answers(cat->id)) answered.insert(a.imageId);
        qint64 open = 0;
        for (ImageId id : lib->imageIds(ImageStatus::Ok)) open += !answered.contains(id);
        notEmbedded = open > 0;
        if (open > 0)
            c.error(QStringLiteral("nothing to suggest in %1 yet: none of its %2 unanswered images is embedded (run "
                                   "`magpie-cli embed` first)").arg(cat->name).arg(open));
        else
            c.error(QStringLiteral("nothing to suggest in %1: every image is answered there%2")
                        .arg(cat->name, cur->lastError().isEmpty() ? QString() : QStringLiteral(" (%1)").arg(cur->lastError())));
    }
    QJsonArray arr;
    for (const auto &s : list) {
        QJsonArray runnersUp; // a class set's next likeliest classes
        for (const auto &[name, score] : s.runnersUp)
            runnersUp.append(QJsonObject{{QStringLiteral("class"), name}, {QStringLiteral("score"), score}});
        // unscored (no model yet): no score to show, and the order is random
        c.print(QStringLiteral("%1\t%2\t%3\t%4\t%5").arg(s.imageId)
                    .arg(s.scored ? QString::number(s.score, 'f', 4) : QStringLiteral("-"),
                         s.className.isEmpty() ? QStringLiteral("-") : s.className,
                         s.scored ? training::queueName(s.queue) : QStringLiteral("unscored"), s.path));
        arr.append(QJsonObject{{QStringLiteral("image"), s.imageId}, {QStringLiteral("path"), s.path},
                               {QStringLiteral("score"), s.scored ? QJsonValue(s.score) : QJsonValue()},
                               {QStringLiteral("class"), s.className},
                               {QStringLiteral("runners_up"), runnersUp},
                               {QStringLiteral("queue"), s.scored ? training::queueName(s.queue) : QStringLiteral("unscored")}});
    }
    QJsonObject out{{QStringLiteral("suggestions"), arr}, {QStringLiteral("note"), cur->lastError()}};
    if (notEmbedded) {
        out.insert(QStringLiteral("error"), c.lastError);
        out.insert(QStringLiteral("exit"), int(Failed));
    }
    c.printJson(out);
    return notEmbedded ? Failed : Ok; // nothing embedded is a failure; everything answered is not
}

int cmdAnswer(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kCategoryOpt);
    const QCommandLineOption value(QStringLiteral("value"), QStringLiteral("yes, no or skip."), QStringLiteral("V"));
    const QCommandLineOption cls(QStringLiteral("class"), QStringLiteral("The class (class sets)."), QStringLiteral("NAME"));
    const QCommandLineOption csv(QStringLiteral("csv"), QStringLiteral("CSV with columns file (or image), value, and class for class sets; or file,label (a class set: label is the class answered yes; a theme: yes or no)."), QStringLiteral("FILE"));
    const QCommandLineOption ms(QStringLiteral("duration-ms"), QStringLiteral("How long the answer took."), QStringLiteral("MS"), QStringLiteral("-1"));
    p.addOptions({value, cls, csv, ms});
    p.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image ids or paths."), QStringLiteral("[IMAGE...]"));
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Records answers as a person would (origin \"person\")."), &exit)) return exit;
    auto lib = c.open(false, &exit);
    if (!lib) return exit;
    const auto cat = category(c, *lib, p, &exit);
    if (!cat) return exit;
    auto classOf = [&](const QString &name) -> ClassId {
        const ClassId id = labelio::classIdOf(*cat, name);
        return id ? id : -1;
    };
    struct Row { QString image, value, cls; };
    QVector<Row> rows;
    QStringList malformed; // lines that are not records: each skipped, and said
    if (p.isSet(csv)) {
        QString err;
        QVector<int> lineNo;
        const auto table = readCsv(p.value(csv), &err, &malformed, &lineNo);
        if (table.isEmpty()) {
            c.error(err.isEmpty() ? QStringLiteral("empty CSV") : err);
            return Failed;
        }
        const QStringList h = table[0];
        const int fi = std::max(h.indexOf(QStringLiteral("file")), h.indexOf(QStringLiteral("image")));
        const int vi = std::max(h.indexOf(QStringLiteral("value")), h.indexOf(QStringLiteral("answer")));
        const int ci = std::max(h.indexOf(QStringLiteral("class")), vi < 0 ? h.indexOf(QStringLiteral("label")) : -1);
        // file,label as labels import and eval take it: in a class set each row
        // is a yes for its class; in a theme the label is the answer
        const bool labelOnly = vi < 0 && ci >= 0;
        if (fi < 0 || (vi < 0 && ci < 0)) {
            c.error(QStringLiteral("the CSV needs columns file (or image) and value (or answer), or file and label; "
                                   "it has %1").arg(h.join(QStringLiteral(", "))));
            return Usage;
        }
        const int need = std::max(fi, labelOnly ? ci : vi); // the columns a row cannot do without
        for (qsizetype i = 1; i < table.size(); ++i) {
            if (table[i].size() <= need) {
                malformed << QStringLiteral("line %1: too few columns for %2").arg(lineNo.value(i)).arg(h.join(QLatin1Char(',')));
                continue;
            }
            if (labelOnly && cat->kind == CategoryKind::Binary)
                rows.push_back({table[i].value(fi), table[i].value(ci), QString()});
            else
                rows.push_back({table[i].value(fi), labelOnly ? QStringLiteral("yes") : table[i].value(vi),
                                ci >= 0 ? table[i].value(ci) : p.value(cls)});
        }
    } else {
        if (!p.positionalArguments().isEmpty() && !parseAnswer(p.value(value))) {
            c.error(p.isSet(value) ? QStringLiteral("--value wants yes, no or skip, not \u201c%1\u201d").arg(p.value(value))
                                   : QStringLiteral("give the answer with --value yes, no or skip"));
            return Usage;
        }
        for (const QString &im : p.positionalArguments()) rows.push_back({im, p.value(value), p.value(cls)});
    }
    int bad = 0;
    for (const QString &m : malformed) {
        c.error(QStringLiteral("skipped %1").arg(m));
        ++bad;
    }
    if (rows.isEmpty()) {
        c.error(bad ? QStringLiteral("nothing to answer: no line of the CSV is a whole record")
                    : QStringLiteral("nothing to answer: give IMAGE... with --value, or --csv FILE"));
        return bad ? int(Failed) : int(Usage);
    }
    QVector<Answer> answers;
    bool classWarned = false;
    for (const Row &r : rows) {
        Answer a;
        a.categoryId = cat->id;
        QString unresolved;
        a.imageId = resolveImage(*lib, r.image, &unresolved,
                                 p.isSet(csv) ? QFileInfo(p.value(csv)).absolutePath() : QString());
        // a duplicate's answer goes to the image it duplicates, as labels import does
        if (const auto rec = a.imageId ? lib->image(a.imageId) : std::nullopt;
            rec && rec->status == ImageStatus::Duplicate && rec->duplicateOf)
            a.imageId = rec->duplicateOf;
        const auto v = parseAnswer(r.value);
        a.classId = cat->kind == CategoryKind::Binary ? 0 : classOf(r.cls);
        const QString why = !a.imageId ? (unresolved.contains(QLatin1String("ambiguous")) ? unresolved
                                                                                           : QStringLiteral("not an image of this library"))
                            : !v ? QStringLiteral("the answer \u201c%1\u201d is not yes, no or skip").arg(r.value)
                            : a.classId < 0 ? (r.cls.isEmpty() ? QStringLiteral("%1 is a class set: give --class").arg(cat->name)
                                                               : QStringLiteral("\u201c%1\u201d is not a class of %2").arg(r.cls, cat->name))
                                            : QString();
        if (why.isEmpty() && cat->kind == CategoryKind::Binary && !r.cls.isEmpty() && !classWarned) {
            c.error(QStringLiteral("note: %1 is a theme (yes or no); the class \u201c%2\u201d is ignored").arg(cat->name, r.cls));
            classWarned = true;
        }
        if (!why.isEmpty()) {
            c.error(QStringLiteral("skipped %1: %2").arg(r.image, why));
            ++bad;
            continue;
        }
        a.value = *v;
        a.origin = Origin::Person;
        a.durationMs = p.value(ms).toInt();
        answers.push_back(a);
    }
    const int written = lib->answerBatch(answers);
    c.print(QStringLiteral("%1 %2 recorded, %3 skipped").arg(written).arg(written == 1 ? QStringLiteral("answer") : QStringLiteral("answers")).arg(bad));
    c.printJson({{QStringLiteral("recorded"), written}, {QStringLiteral("skipped"), bad}});
    return written == answers.size() && bad == 0 ? Ok : Failed;
}

int cmdEval(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kCategoryOpt);
    p.addOption(kBackboneOpt);
    const QCommandLineOption truth(QStringLiteral("truth"), QStringLiteral("Ground-truth CSV."), QStringLiteral("FILE"));
    const QCommandLineOption fileCol(QStringLiteral("file-column"), QStringLiteral("Column with the file (default file)."), QStringLiteral("COL"), QStringLiteral("file"));
    const QCommandLineOption labelCol(QStringLiteral("label-column"), QStringLiteral("Column with the class name or yes/no (default label)."), QStringLiteral("COL"), QStringLiteral("label"));
    p.addOptions({truth, fileCol, labelCol});
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Accuracy of the current model on ground-truth images never answered in the category."), &exit)) return exit;
    auto lib = c.open(true, &exit);
    if (!lib) return exit;
    const auto cat = category(c, *lib, p, &exit);
    if (!cat) return exit;
    QString err;
    QStringList malformed;
    QVector<int> lineNo;
    const auto table = readCsv(p.value(truth), &err, &malformed, &lineNo);
    if (table.isEmpty()) {
        c.error(err.isEmpty() ? QStringLiteral("--truth CSV is empty or missing") : err);
        return Usage;
    }
    const int fi = table[0].indexOf(p.value(fileCol)), li = table[0].indexOf(p.value(labelCol));
    if (fi < 0 || li < 0) {
        c.error(QStringLiteral("columns %1 / %2 not in the CSV (it has %3; --file-column, --label-column)")
                    .arg(p.value(fileCol), p.value(labelCol), table[0].join(QStringLiteral(", "))));
        return Usage;
    }
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    QVector<QPair<ImageId, ClassId>> gt;
    int unknown = 0, badLabel = 0;
    QStringList badLabels, unknownWhy;
    const QString truthDir = QFileInfo(p.value(truth)).absolutePath();
    for (qsizetype i = 1; i < table.size(); ++i) {
        if (table[i].size() <= std::max(fi, li)) {
            malformed << QStringLiteral("line %1: too few columns").arg(lineNo.value(i));
            continue;
        }
        QString why;
        const ImageId id = resolveImage(*lib, table[i].value(fi), &why, truthDir);
        if (!id && unknownWhy.size() < 3) unknownWhy << why;
        const QString label = table[i].value(li).trimmed();
        ClassId cls = -1;
        if (cat->kind == CategoryKind::Binary) {
            if (const auto v = parseAnswer(label); v && *v != AnswerValue::Skip) cls = *v == AnswerValue::Yes ? 1 : 0;
        } else if (const ClassId k = labelio::classIdOf(*cat, label)) {
            cls = k;
        }
        if (!id) { ++unknown; continue; }
        if (cls < 0) {
            ++badLabel;
            if (badLabels.size() < 5 && !badLabels.contains(label)) badLabels << label;
            continue;
        }
        gt.push_back({id, cls});
    }
    training::EvalReport r;
    if (!cur->evaluate(*cat, gt, &r)) {
        c.error(cur->lastError());
        return Failed;
    }
    r.unknown += unknown;
    QJsonObject per;
    for (const auto &[name, acc] : r.perClassAccuracy) per.insert(name, acc);
    c.print(QStringLiteral("accuracy %1 on %2 never-answered images (%3 answered skipped, %4 not in this library)")
                .arg(r.accuracy, 0, 'f', 4).arg(r.evaluated).arg(r.skippedAnswered).arg(r.unknown));
    if (!malformed.isEmpty())
        c.error(QStringLiteral("warning: %1 lines of the truth CSV are not records and are not counted: %2")
                    .arg(malformed.size()).arg(malformed.mid(0, 3).join(QStringLiteral("; "))));
    if (unknown > 0) // said on stderr too: a figure on part of the truth is easy to misread
        c.error(QStringLiteral("warning: %1 of the truth CSV's %2 rows name no image of this library, so they are not "
                               "counted: %3%4")
                    .arg(unknown).arg(table.size() - 1).arg(unknownWhy.join(QStringLiteral("; ")),
                                                             unknown > unknownWhy.size() ? QStringLiteral("; ...") : QString()));
    if (badLabel > 0)
        c.error(QStringLiteral("warning: %1 rows skipped: their label is not %2 (%3)")
                    .arg(badLabel)
                    .arg(cat->kind == CategoryKind::Binary ? QStringLiteral("yes or no") : QStringLiteral("a class of ") + cat->name,
                         badLabels.join(QStringLiteral(", "))));
    if (r.evaluated > 0)
        c.print(QStringLiteral("always \u201c%1\u201d would score %2").arg(r.baselineClass).arg(r.baseline, 0, 'f', 4));
    QJsonObject json{{QStringLiteral("accuracy"), r.accuracy}, {QStringLiteral("evaluated"), r.evaluated},
                     {QStringLiteral("skipped_answered"), r.skippedAnswered}, {QStringLiteral("unknown"), r.unknown},
                     {QStringLiteral("unknown_label"), badLabel}, {QStringLiteral("malformed"), int(malformed.size())},
                     {QStringLiteral("per_class_accuracy"), per}, {QStringLiteral("baseline"), r.baseline},
                     {QStringLiteral("baseline_class"), r.baselineClass}};
    if (cat->kind == CategoryKind::Binary && r.evaluated > 0) {
        // a rare theme: accuracy hides a model that finds few of the yes images
        const double precision = r.yesCalled ? double(r.yesRight) / r.yesCalled : 0;
        const double recall = r.yesTrue ? double(r.yesRight) / r.yesTrue : 0;
        c.print(QStringLiteral("yes: precision %1 (%2 of %3 called yes), recall %4 (%2 of %5 found)")
                    .arg(precision, 0, 'f', 4).arg(r.yesRight).arg(r.yesCalled).arg(recall, 0, 'f', 4).arg(r.yesTrue));
        json.insert(QStringLiteral("yes_precision"), precision);
        json.insert(QStringLiteral("yes_recall"), recall);
    }
    c.printJson(json);
    if (r.evaluated == 0) {
        c.error(QStringLiteral("nothing to evaluate: every image of the truth CSV is answered in %1 or unknown here")
                    .arg(cat->name));
        return Failed;
    }
    return Ok;
}

int cmdSimilar(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kBackboneOpt);
    const QCommandLineOption num({QStringLiteral("n"), QStringLiteral("count")}, QStringLiteral("How many (default 10)."), QStringLiteral("N"), QStringLiteral("10"));
    p.addOption(num);
    p.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image id or path."));
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("More like this: the nearest images by embedding (cosine)."), &exit)) return exit;
    bool numOk = false;
    const int n = p.value(num).toInt(&numOk);
    if (!numOk || n < 1) {
        c.error(QStringLiteral("-n wants a number of images (1 or more), not \u201c%1\u201d").arg(p.value(num)));
        return Usage;
    }
    auto lib = c.open(true, &exit);
    if (!lib) return exit;
    if (p.positionalArguments().size() != 1) {
        c.error(QStringLiteral("give one IMAGE"));
        return Usage;
    }
    QString why;
    const ImageId id = resolveImage(*lib, p.positionalArguments().first(), &why);
    if (!id) {
        c.error(why);
        return Failed;
    }
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    QElapsedTimer t;
    t.start();
    const auto list = cur->similar(id, n);
    const double ms = t.nsecsElapsed() / 1e6;
    if (list.isEmpty() && !cur->lastError().isEmpty()) {
        c.error(cur->lastError());
        return Failed;
    }
    QJsonArray arr;
    for (const auto &[img, sim] : list) {
        const auto rec = lib->image(img);
        const QString path = rec ? rec->absPath : QString();
        c.print(QStringLiteral("%1\t%2\t%3").arg(img).arg(sim, 0, 'f', 4).arg(path));
        arr.append(QJsonObject{{QStringLiteral("image"), img}, {QStringLiteral("cosine"), sim}, {QStringLiteral("path"), path}});
    }
    c.printJson({{QStringLiteral("similar"), arr}, {QStringLiteral("milliseconds"), ms}});
    return Ok;
}

int cmdBackbone(const Context &c)
{
    QCommandLineParser p;
    p.addPositionalArgument(QStringLiteral("NAME"),
                            QStringLiteral("general | letters: the backbone this library embeds with (omit to show)."));
    const QCommandLineOption exportTs(QStringLiteral("export-torchscript"),
                                      QStringLiteral("Write backbone NAME (general, letters or an .mbb file; default general) as a "
                                                     "TorchScript module (N x 3 x H x W float RGB in [0,1] -> N x D features), "
                                                     "usable as --backbone FILE.pt here or in PyTorch. No library needed."),
                                      QStringLiteral("FILE.pt"));
    p.addOption(exportTs);
    const QCommandLineOption forCategory({QStringLiteral("c"), QStringLiteral("category")},
                                         QStringLiteral("Show or set this category's own backbone instead (NAME \u201clibrary\u201d: "
                                                        "follow the library's again)."),
                                         QStringLiteral("CATEGORY"));
    p.addOption(forCategory);
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("Shows or sets the library's backbone, or with --category one category's. \u201cgeneral\u201d "
                                   "is MobileNetV2 (ImageNet) cut after block 10; \u201cletters\u201d is the same network tuned "
                                   "on synthetic decorative initials, for class sets of letters (a letters class set gets it when "
                                   "made). Changing it embeds the archive again (a separate cache); a category on a backbone of "
                                   "its own makes embed embed with both."),
                 &exit))
        return exit;
    if (p.isSet(exportTs)) {
        const QString name = p.positionalArguments().value(0, QStringLiteral("general"));
        QString err;
        if (!Curator::exportTorchScript(name, p.value(exportTs), &err)) {
            c.error(err);
            return Failed;
        }
        c.print(QStringLiteral("wrote %1 (backbone %2 as TorchScript)").arg(p.value(exportTs), name));
        c.printJson({{QStringLiteral("file"), p.value(exportTs)}, {QStringLiteral("backbone"), name}});
        return Ok;
    }
    const bool set = !p.positionalArguments().isEmpty();
    auto lib = c.open(!set, &exit);
    if (!lib) return exit;
    const QString wanted = p.positionalArguments().value(0);
    std::optional<Category> cat;
    if (p.isSet(kCategoryOpt) && !(cat = category(c, *lib, p, &exit))) return exit;
    if (set) {
        QString err;
        const bool ok = cat ? Curator::setCategoryBackbone(*lib, cat->id, wanted, &err)
                            : Curator::setLibraryBackbone(*lib, wanted, &err);
        if (!ok) {
            c.error(err);
            return Curator::backboneNames().contains(wanted) || (cat && wanted == u"library") ? Failed : Usage;
        }
    }
    QJsonObject names;
    for (const QString &n : Curator::backboneNames()) names.insert(n, Curator::resolveBackbone(n));
    const auto shown = [](const QString &file) { return file.isEmpty() ? QStringLiteral("(not installed)") : file; };
    if (cat) {
        bool own = false;
        const QString name = Curator::categoryBackbone(*lib, cat->id, &own);
        const QString file = Curator::resolveBackbone(name);
        c.print(QStringLiteral("%1\t%2\t%3").arg(cat->name, own ? name : name + QStringLiteral(" (the library's)"), shown(file)));
        c.printJson({{QStringLiteral("category"), cat->name}, {QStringLiteral("backbone"), name},
                     {QStringLiteral("own"), own}, {QStringLiteral("file"), file}, {QStringLiteral("available"), names}});
        return Ok;
    }
    const QString name = Curator::libraryBackbone(*lib);
    const QString file = Curator::resolveBackbone(name);
    c.print(QStringLiteral("%1\t%2").arg(name, shown(file)));
    // Categories on a backbone of their own: they are embedded with it too.
    QJsonObject own;
    for (const Category &k : lib->categories()) {
        bool isOwn = false;
        const QString n = Curator::categoryBackbone(*lib, k.id, &isOwn);
        if (!isOwn) continue;
        c.print(QStringLiteral("  %1: %2").arg(k.name, n));
        own.insert(k.name, n);
    }
    c.printJson({{QStringLiteral("backbone"), name}, {QStringLiteral("file"), file}, {QStringLiteral("available"), names},
                 {QStringLiteral("categories"), own}});
    return Ok;
}

} // namespace magpie::cli


namespace magpie::cli {

int cmdChain(const Context &c)
{
    QCommandLineParser p;
    p.addOption(kBackboneOpt);
    const QCommandLineOption num({QStringLiteral("n"), QStringLiteral("count")},
                                 QStringLiteral("Images between the two (default 8, at most 64)."), QStringLiteral("N"), QStringLiteral("8"));
    const QCommandLineOption save(QStringLiteral("collection"),
                                  QStringLiteral("Also keep the chain as a collection of this name (in the chain's order)."),
                                  QStringLiteral("NAME"));
    p.addOptions({num, save});
    p.addPositionalArgument(QStringLiteral("FROM"), QStringLiteral("Image id or path where the chain starts."));
    p.addPositionalArgument(QStringLiteral("TO"), QStringLiteral("Image id or path where it ends."));
    int exit = Ok;
    if (!c.parse(p, QStringLiteral("A chain of similar images that leads from one image to another: among the "
                                   "images nearest the line between their embeddings, the path whose weakest step "
                                   "is most alike."),
                 &exit))
        return exit;
    bool numOk = false;
    const int n = p.value(num).toInt(&numOk);
    if (!numOk || n < 1 || n > 64) {
        c.error(QStringLiteral("-n wants a number of images between 1 and 64, not \u201c%1\u201d").arg(p.value(num)));
        return Usage;
    }
    if (p.positionalArguments().size() != 2) {
        c.error(QStringLiteral("give two images, FROM and TO"));
        return Usage;
    }
    auto lib = c.open(!p.isSet(save), &exit);
    if (!lib) return exit;
    ImageId ends[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
        QString why;
        ends[k] = resolveImage(*lib, p.positionalArguments()[k], &why);
        if (!ends[k]) {
            c.error(why);
            return Failed;
        }
    }
    if (ends[0] == ends[1]) {
        c.error(QStringLiteral("FROM and TO are the same image"));
        return Usage;
    }
    if (p.isSet(save) && collections::find(*lib, p.value(save))) {
        c.error(QStringLiteral("A collection \u201c%1\u201d exists already.").arg(p.value(save)));
        return Failed;
    }
    auto cur = makeCurator(c, *lib, p, &exit);
    if (!cur) return exit;
    const auto list = cur->chain(ends[0], ends[1], n);
    if (list.isEmpty()) {
        c.error(cur->lastError());
        return Failed;
    }
    QJsonArray arr;
    QVector<ImageId> ids;
    for (const auto &[img, sim] : list) {
        const auto rec = lib->image(img);
        const QString path = rec ? rec->absPath : QString();
        ids << img;
        c.print(QStringLiteral("%1\t%2\t%3").arg(img).arg(sim, 0, 'f', 4).arg(path));
        arr.append(QJsonObject{{QStringLiteral("image"), img}, {QStringLiteral("cosine_to_previous"), sim},
                               {QStringLiteral("path"), path}});
    }
    QJsonObject j{{QStringLiteral("chain"), arr}};
    if (p.isSet(save)) {
        const qint64 id = lib->createCollection(p.value(save), p.value(save));
        if (!id || collections::add(*lib, id, ids) < 0 || !collections::setKeepsOwnOrder(*lib, id, true)) {
            c.error(lib->lastError());
            return Failed;
        }
        c.print(QStringLiteral("Kept as the collection \u201c%1\u201d (%2 images, in the chain's order).").arg(p.value(save)).arg(ids.size()));
        j.insert(QStringLiteral("collection"), id);
    }
    c.printJson(j);
    return Ok;
}

} // namespace magpie::cli
