#include "training/service/curator.h"

#include "core/embeddingcache.h"
#include "core/imagedecoder.h"
#include "core/library.h"
#include "core/similarityindex.h"
#include "training/backbone.h"
#include "training/embeddingstore.h"
#include "training/engine.h"
#include "training/finetune.h"
#include "training/head.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>
#include <QSet>
#include <QtConcurrent/QtConcurrentMap>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <utility>
#include <random>

namespace magpie::training {

std::optional<Queue> parseQueue(const QString &name)
{
    const QString n = name.toLower();
    if (n == u"harvest") return Queue::Harvest;
    if (n == u"teach") return Queue::Teach;
    if (n == u"audit") return Queue::Audit;
    if (n == u"novel") return Queue::Novel;
    if (n == u"mix" || n.isEmpty()) return Queue::Mix;
    if (n == u"random") return Queue::Random;
    return std::nullopt;
}

QList<Queue> mixPattern()
{
    return {Queue::Harvest, Queue::Teach, Queue::Harvest, Queue::Novel, Queue::Harvest,
            Queue::Teach,   Queue::Harvest, Queue::Audit, Queue::Harvest, Queue::Teach};
}

QString queueName(Queue q)
{
    switch (q) {
    case Queue::Harvest: return QStringLiteral("harvest");
    case Queue::Teach: return QStringLiteral("teach");
    case Queue::Audit: return QStringLiteral("audit");
    case Queue::Novel: return QStringLiteral("novel");
    case Queue::Mix: return QStringLiteral("mix");
    case Queue::Random: return QStringLiteral("random");
    }
    return {};
}

namespace {

// Decoded, resized RGB of one image, or empty on failure.
// How images are fitted to the backbone's square input: "stretch" (default,
// as nsfwjs does) or "letterbox" (keep the aspect, pad with the corner colour).
// Part of the embedding cache's name when not the default.
QString fitMode()
{
    static const QString mode = qEnvironmentVariable("MAGPIE_FIT", QStringLiteral("stretch"));
    return mode;
}

std::vector<std::uint8_t> loadRgb(const QString &thumb, const QString &file, int size)
{
    QString err;
    QImage img;
    if (!thumb.isEmpty() && QFileInfo::exists(thumb))
        img = decoder::decodeFile(thumb, 0, &err);
    if (img.isNull())
        img = decoder::decodeFile(file, 2 * size, &err);
    if (img.isNull())
        return {};
    img = img.convertToFormat(QImage::Format_RGB888);
    if (fitMode() == u"letterbox") {
        const QImage inner = img.scaled(size, size, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        QImage square(size, size, QImage::Format_RGB888);
        square.fill(img.pixelColor(0, 0));
        QPainter p(&square);
        p.drawImage((size - inner.width()) / 2, (size - inner.height()) / 2, inner);
        p.end();
        img = square;
    } else {
        img = img.scaled(size, size, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    }
    std::vector<std::uint8_t> out(static_cast<std::size_t>(size * size * 3));
    for (int y = 0; y < size; ++y)
        std::memcpy(out.data() + static_cast<std::size_t>(y * size * 3), img.constScanLine(y), static_cast<std::size_t>(size * 3));
    return out;
}

QString classNameOf(const Category &c, ClassId id)
{
    for (const ClassInfo &ci : c.classes)
        if (ci.id == id) return ci.name;
    return {};
}

} // namespace

struct Curator::Impl
{
    Library &lib;
    QString backbonePath;
    QString error;
    // A backbone was given (argument or $MAGPIE_BACKBONE): every category uses it.
    bool pinned = false;
    // The Curators of the categories that use a backbone of their own, by its file.
    std::map<QString, std::unique_ptr<Curator>> others;
    // The Curator that serves category `c`: null for this one, else the one on
    // the category's own backbone. Null with `error` set and *failed when that
    // backbone is not installed.
    Curator *curatorFor(const Category &c, bool *failed)
    {
        *failed = false;
        if (pinned) return nullptr;
        bool own = false;
        const QString name = categoryBackbone(lib, c.id, &own);
        if (!own) return nullptr;
        const QString file = resolveBackbone(name);
        if (file.isEmpty()) {
            error = QStringLiteral("the %1 backbone that %2 uses is not installed (Model \u203a Backbone \u203a Same as the library, "
                                   "or magpie-cli backbone library -c \"%2\", makes it use the library's)").arg(name, c.name);
            *failed = true;
            return nullptr;
        }
        if (file == backbonePath) return nullptr;
        std::unique_ptr<Curator> &o = others[file];
        if (!o) o = std::make_unique<Curator>(lib, file);
        return o.get();
    }
    // A category job: run by the Curator on the category's own backbone when
    // that is another one (its result, with its error), failed when that
    // backbone is missing (a default result, with the error), else nullopt:
    // this Curator does it.
    template <typename F>
    auto viaOwnBackbone(const Category &c, F &&job) -> std::optional<decltype(job(std::declval<Curator &>()))>
    {
        bool failed = false;
        Curator *other = curatorFor(c, &failed);
        if (failed) return decltype(job(std::declval<Curator &>())){};
        if (!other) return std::nullopt;
        auto result = job(*other);
        error = other->lastError();
        return result;
    }
    // The Curators of every other backbone some category uses (in the order of the categories).
    QVector<Curator *> categoryCurators()
    {
        const QString keep = error; // a backbone that is not installed fails its category's jobs, not embed()
        QVector<Curator *> out;
        for (const Category &c : lib.categories()) {
            bool failed = false;
            Curator *o = curatorFor(c, &failed);
            if (o && !out.contains(o)) out.push_back(o);
        }
        error = keep;
        return out;
    }
    std::unique_ptr<Backbone> backbone;
    std::unique_ptr<EmbeddingStore> store;
    // Backbones fine-tuned by deep training, by file, with their embeddings.
    std::map<QString, std::pair<std::unique_ptr<Backbone>, std::unique_ptr<EmbeddingStore>>> tuned;
    EmbeddingStore *lastStore = nullptr; // the store the last currentHead() scores
    // "More like this" over `store`: exact below 50,000 rows, FAISS beyond,
    // persisted next to the cache (embeddings-<version>.sim). Declared after
    // `store`, so it is destroyed first (it cancels and joins its background update).
    std::unique_ptr<SimilarityIndex> similarity;

    // The backbone's prior head, if one ships beside it (<file>.prior and
    // <file>.prior.txt, e.g. the letters backbone's A-Z + none head trained on
    // its synthetic initials). Loaded once; null when there is none or it does
    // not fit this backbone.
    std::unique_ptr<Head> prior;
    QStringList priorClasses;
    QString priorFile;
    bool priorTried = false;
    const Head *priorHead()
    {
        if (priorTried || !backbone) return prior.get();
        priorTried = true;
        QString base = backbonePath;
        if (base.endsWith(QLatin1String(".mbb"))) base.chop(4);
        QFile meta(base + QStringLiteral(".prior.txt"));
        if (!meta.open(QIODevice::ReadOnly | QIODevice::Text)) return nullptr;
        QString version;
        for (const QString &line : QString::fromUtf8(meta.readAll()).split(QLatin1Char('\n'))) {
            const QStringList f = line.simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
            if (f.size() >= 2 && f[0] == QLatin1String("backbone")) version = f[1];
            if (f.size() >= 2 && f[0] == QLatin1String("classes")) priorClasses = f.mid(1);
        }
        std::string err;
        auto h = Head::load(QString(base + QStringLiteral(".prior")).toStdString(), &err);
        if (!h || version != QString::fromStdString(backbone->info().version) || !h->isLogistic() ||
            h->dim() != backbone->info().featureDim || h->numClasses() != priorClasses.size()) {
            qWarning("magpie: ignoring the prior head beside %s: %s", qPrintable(backbonePath),
                     h ? "it was made for another backbone" : err.c_str());
            priorClasses.clear();
            return nullptr;
        }
        prior = std::move(h);
        priorFile = base + QStringLiteral(".prior");
        return prior.get();
    }
    // For a class set whose every class the prior knows (by name, ignoring
    // case): the prior's row of each class; else empty.
    std::vector<int> priorRowsFor(const Category &c)
    {
        if (c.kind != CategoryKind::ClassSet || !priorHead()) return {};
        std::vector<int> rowsOf;
        for (const ClassInfo &k : c.classes) {
            int found = -1;
            for (int i = 0; i < priorClasses.size(); ++i)
                if (priorClasses[i].compare(k.name, Qt::CaseInsensitive) == 0) found = i;
            if (found < 0) return {};
            rowsOf.push_back(found);
        }
        return rowsOf;
    }

    explicit Impl(Library &l) : lib(l) {}

    // Softens a two-class head until no image of a sample of the archive (up
    // to 4,096 rows spread over it) is scored above `most`; returns the
    // temperature (1 when nothing needed it).
    static double capConfidence(Head &head, const EmbeddingStore &st, double most)
    {
        const std::int64_t n = st.count();
        const std::int64_t m = std::min<std::int64_t>(n, 4096);
        if (m < 1 || head.numClasses() != 2) return 1;
        std::vector<std::int64_t> rows(static_cast<std::size_t>(m));
        for (std::int64_t i = 0; i < m; ++i) rows[static_cast<std::size_t>(i)] = i * n / m;
        const std::vector<float> x = st.gatherFloat(rows);
        std::vector<float> p(static_cast<std::size_t>(2 * m));
        const double limit = std::log(most / (1 - most));
        double total = 1;
        for (int round = 0; round < 8; ++round) { // saturated floats hide how far: repeat until it holds
            head.scoreFloat(x.data(), m, p.data());
            double widest = 0;
            for (std::int64_t i = 0; i < m; ++i) {
                const double q = std::clamp(static_cast<double>(p[static_cast<std::size_t>(2 * i + 1)]), 1e-12, 1 - 1e-12);
                widest = std::max(widest, std::abs(std::log(q / (1 - q))));
            }
            if (widest <= limit * 1.001) break;
            const double t = widest / limit;
            head.soften(t);
            total *= t;
        }
        return total;
    }

    bool embedInto(const Backbone &bb, EmbeddingStore &st, EmbedReport *r, const ProgressFn &progress,
                   const std::atomic<bool> *cancel, int batchSize, qint64 maxImages = 0);
    // Images that could not be decoded for embedding: not tried again by this
    // Curator (a run in parts would otherwise meet them in every part).
    QSet<ImageId> undecodable;
    // A run in parts (embedInto with maxImages): the images the scan found
    // still to embed beyond this part, for the next part. Scanned again when
    // used up, for another store, or when the library gained or lost images.
    QVector<ImageRecord> pending;
    // In a run in parts (embed() with maxImages): the store was found complete
    // while the library held this many images (-1: not known), with this total.
    qint64 completeAtImages = -1, completeTotal = 0;
    // Images done per backbone (the library's, then each category's own) as
    // last reported, kept across the parts of a run: progress is their sum, so
    // the bar never goes back when the next backbone's share starts.
    std::vector<qint64> embedDone;
    const EmbeddingStore *pendingStore = nullptr;
    qint64 pendingImages = -1, pendingTotal = 0;
    // Backbone and embeddings of a fine-tuned model (embedded on first use;
    // `maxImages` > 0: at most that many more now, answered images first, the
    // rest on a later call).
    EmbeddingStore *tunedStore(const QString &file, QString *problem, const std::atomic<bool> *cancel = nullptr,
                               const ProgressFn &progress = {}, qint64 maxImages = 0)
    {
        auto it = tuned.find(file);
        if (it == tuned.end()) {
            std::string err;
            auto bb = Backbone::load(file.toStdString(), &err);
            std::unique_ptr<EmbeddingStore> st;
            if (bb)
                st = EmbeddingStore::open(lib.cacheDir().toStdString(), bb->info().version, bb->info().featureDim, &err);
            if (!bb || !st) {
                *problem = QString::fromStdString(err);
                return nullptr;
            }
            it = tuned.emplace(file, std::make_pair(std::move(bb), std::move(st))).first;
        }
        EmbedReport r;
        if (!embedInto(*it->second.first, *it->second.second, &r, progress, cancel, 32, maxImages) || r.cancelled) {
            *problem = r.cancelled ? QStringLiteral("cancelled") : error;
            return nullptr;
        }
        return it->second.second.get();
    }

    // Whether a deep pass that validates at `accuracy` may replace the model in
    // use: not when it is clearly worse (more than 5 points). If not, it is
    // dropped: the error says so and the embeddings made for its backbone are removed (they would
    // grow with the archive for every rejected pass); the backbone file stays.
    bool keepOrDropDeepPass(const Category &c, double accuracy, const QString &tunedFile)
    {
        const auto versions = lib.modelVersions(c.id);
        if (versions.isEmpty()) return true;
        const QJsonObject before = QJsonDocument::fromJson(versions.last().metricsJson.toUtf8()).object();
        const double was = before.value(QStringLiteral("accuracy")).toDouble(-1);
        if (was < 0 || accuracy >= was - 0.05) return true;
        error = QStringLiteral("the deep pass validated at %1 % against %2 % for model v%3, so model v%3 stays "
                               "(a deep pass needs more answers; its backbone is kept in %4)")
                    .arg(accuracy * 100, 0, 'f', 0).arg(was * 100, 0, 'f', 0).arg(versions.last().id)
                    .arg(QDir::toNativeSeparators(tunedFile));
        auto it = tuned.find(tunedFile);
        if (it != tuned.end()) {
            QString data = QString::fromStdString(it->second.second->dataPath());
            if (pendingStore == it->second.second.get()) {
                pending.clear();
                pendingStore = nullptr;
            }
            tuned.erase(it); // closes the store's files
            if (data.endsWith(QLatin1String(".f16"))) {
                data.chop(4);
                for (const char *ext : {".f16", ".ids", ".key", ".sim"}) QFile::remove(data + QLatin1String(ext));
            }
        }
        return false;
    }

    bool ensureBackbone()
    {
        if (backbone) return true;
        initRuntime();
        if (backbonePath.isEmpty()) {
            if (error.isEmpty())
                error = QStringLiteral("no backbone: build target magpie_backbone (needs npm) or set MAGPIE_BACKBONE");
            return false;
        }
        std::string err;
        backbone = Backbone::load(backbonePath.toStdString(), &err);
        if (!backbone) {
            error = QString::fromStdString(err);
            return false;
        }
        return true;
    }
    SimilarityIndex *similarityIndex()
    {
        if (!similarity && store) {
            std::string path = store->dataPath();
            path.replace(path.size() - 4, 4, ".sim"); // "...f16" -> "...sim"
            SimilarityIndexOptions options;
            bool set = false; // $MAGPIE_SIMILARITY_EXACT_BELOW: another threshold (tests, tuning)
            const int below = qEnvironmentVariableIntValue("MAGPIE_SIMILARITY_EXACT_BELOW", &set);
            if (set) options.exactBelow = below;
            similarity = std::make_unique<SimilarityIndex>(QString::fromStdString(path), options);
        }
        return similarity.get();
    }
    static HalfRows rowsOf(const EmbeddingStore &st) { return {st.halfRows(), st.count(), st.dim(), st.mapping()}; }
    // The name of the backbone's embedding cache: its version, and the fit when not the default.
    std::string cacheVersion() const
    {
        const std::string fit = fitMode() == u"stretch" ? std::string() : "-" + fitMode().toStdString();
        return backbone->info().version + fit;
    }
    bool ensureStore()
    {
        if (store) return true;
        if (!ensureBackbone()) return false;
        QDir().mkpath(lib.cacheDir());
        std::string err;
        store = EmbeddingStore::open(lib.cacheDir().toStdString(), cacheVersion(), backbone->info().featureDim, &err);
        if (!store) error = QString::fromStdString(err);
        return store != nullptr;
    }
    // Class index layout of a category's head: binary [no, yes]; class set in position order.
    static int classCount(const Category &c) { return c.kind == CategoryKind::Binary ? 2 : static_cast<int>(c.classes.size()); }
    static int classIndex(const Category &c, ClassId id)
    {
        for (int i = 0; i < c.classes.size(); ++i)
            if (c.classes[i].id == id) return i;
        return -1;
    }
    // A class set's "not this class" answers, by image: the class indexes
    // ruled out. Its guess is then among the other classes.
    static QHash<ImageId, QVector<int>> ruledOut(const Category &c, const QVector<Answer> &answers)
    {
        QHash<ImageId, QVector<int>> out;
        if (c.kind != CategoryKind::ClassSet) return out;
        for (const Answer &a : answers)
            if (a.value == AnswerValue::No && a.classId) {
                const int k = classIndex(c, a.classId);
                if (k >= 0) out[a.imageId].push_back(k);
            }
        return out;
    }
    // p over C classes, given that the classes in `out` it is not: they go to
    // 0 and the rest is scaled to sum to 1. False when every class is ruled out.
    static bool ruleOut(float *p, int C, const QVector<int> &out)
    {
        float before = 0;
        for (int k = 0; k < C; ++k) before += p[k];
        if (before <= 0) return true; // not scored (no embedding for this model): nothing to rule out
        for (int k : out) p[k] = 0.0f;
        float sum = 0;
        for (int k = 0; k < C; ++k) sum += p[k];
        if (sum <= 0) return false;
        for (int k = 0; k < C; ++k) p[k] /= sum;
        return true;
    }
    // The guess a head's probabilities `p` (classCount(c) of them) make for an
    // image: P(yes) in a theme; in a class set the best class, or class index
    // `want` when one is asked for (>= 0).
    static void guess(const Category &c, const float *p, int want, Suggestion *s)
    {
        s->scored = true;
        if (c.kind == CategoryKind::Binary) {
            s->score = p[1];
            return;
        }
        const int cls = want >= 0 ? want : static_cast<int>(std::max_element(p, p + classCount(c)) - p);
        s->score = p[cls];
        s->classId = c.classes[cls].id;
        s->className = c.classes[cls].name;
        s->runnersUp.clear();
        std::vector<int> rest;
        for (int i = 0; i < classCount(c); ++i)
            if (i != cls && p[i] >= Suggestion::kRunnerUpMin) rest.push_back(i);
        std::sort(rest.begin(), rest.end(), [p](int a, int b) { return p[a] > p[b]; });
        for (std::size_t i = 0; i < rest.size() && static_cast<int>(i) < Suggestion::kRunnersUp; ++i)
            s->runnersUp.append({c.classes[rest[i]].name, p[rest[i]]});
    }
    std::unique_ptr<Head> currentHead(const Category &c, qint64 *version)
    {
        QVector<ModelVersion> versions = lib.modelVersions(c.id);
        std::sort(versions.begin(), versions.end(), [](const ModelVersion &a, const ModelVersion &b) { return a.id > b.id; });
        QStringList problems;
        const QString base = QString::fromStdString(backbone->info().version);
        for (const ModelVersion &m : versions) {
            EmbeddingStore *st = store.get();
            if (m.backbone != base) {
                const QString file = QJsonDocument::fromJson(m.metricsJson.toUtf8()).object().value(QStringLiteral("backbone_file")).toString();
                if (file.isEmpty()) continue; // made with another backbone
                QString problem;
                st = tunedStore(file, &problem);
                if (!st) {
                    problems << QStringLiteral("model version %1 unusable (%2)").arg(m.id).arg(problem);
                    continue;
                }
            }
            std::string err;
            auto h = Head::load(m.checkpointPath.toStdString(), &err);
            if (h && h->numClasses() == classCount(c) && h->dim() == st->dim()) {
                if (!problems.isEmpty())
                    error = problems.join(QStringLiteral("; ")) + QStringLiteral("; using model version %1").arg(m.id);
                *version = m.id;
                lastStore = st;
                return h;
            }
            problems << QStringLiteral("model version %1 unusable (%2)").arg(m.id).arg(err.empty() ? QStringLiteral("wrong shape") : QString::fromStdString(err));
        }
        // Nothing trained yet (or nothing usable): a class set the backbone's
        // prior head knows is scored by the prior alone, so the queues make
        // sense before the first answer (model version 0).
        if (problems.isEmpty()) {
            const std::vector<int> rowsOf = priorRowsFor(c);
            if (!rowsOf.empty() && prior->dim() == store->dim()) {
                if (auto h = Head::fromPrior(*prior, rowsOf)) {
                    *version = 0;
                    lastStore = store.get();
                    return h;
                }
            }
        }
        error = problems.isEmpty() ? QStringLiteral("no model trained for this category yet") : problems.join(QStringLiteral("; "));
        return nullptr;
    }
};

Curator::Curator(Library &library, const QString &backbone) : d(std::make_unique<Impl>(library))
{
    QString choice = backbone;
    if (choice.isEmpty()) choice = qEnvironmentVariable("MAGPIE_BACKBONE");
    d->pinned = !choice.isEmpty();
    if (choice.isEmpty()) choice = libraryBackbone(library);
    d->backbonePath = resolveBackbone(choice);
    if (d->backbonePath.isEmpty() && !choice.isEmpty())
        d->error = backboneNames().contains(choice)
                       ? QStringLiteral("the %1 backbone is not installed").arg(choice)
                       : QStringLiteral("no backbone file %1").arg(choice);
}
Curator::~Curator() = default;
QString Curator::lastError() const { return d->error; }

namespace {
// An installed backbone file: next to the executable (../share/magpie/backbones),
// then `inTree` (the build or source tree), then ~/.cache/magpie/backbones.
QString findBackboneFile(const QString &fileName, const QString &inTree)
{
    QStringList candidates;
    if (QCoreApplication::instance())
        candidates << QCoreApplication::applicationDirPath() + QStringLiteral("/../share/magpie/backbones/") + fileName;
    if (!inTree.isEmpty()) candidates << inTree;
    candidates << QDir::homePath() + QStringLiteral("/.cache/magpie/backbones/") + fileName;
    for (const QString &c : candidates)
        if (QFileInfo::exists(c)) return QFileInfo(c).absoluteFilePath();
    return {};
}
} // namespace

QString Curator::defaultBackbonePath()
{
    const QString env = qEnvironmentVariable("MAGPIE_BACKBONE");
    if (!env.isEmpty()) return env;
#ifdef MAGPIE_BUILD_BACKBONE_FILE
    return findBackboneFile(QStringLiteral("mnv2-b10.mbb"), QStringLiteral(MAGPIE_BUILD_BACKBONE_FILE));
#else
    return findBackboneFile(QStringLiteral("mnv2-b10.mbb"), {});
#endif
}

QStringList Curator::backboneNames() { return {QStringLiteral("general"), QStringLiteral("letters")}; }

bool Curator::exportTorchScript(const QString &nameOrPath, const QString &outFile, QString *error)
{
    const QString file = resolveBackbone(nameOrPath);
    std::string err;
    auto b = file.isEmpty() ? nullptr : Backbone::load(file.toStdString(), &err);
    if (!b) {
        if (error) *error = file.isEmpty() ? QStringLiteral("no backbone called %1").arg(nameOrPath) : QString::fromStdString(err);
        return false;
    }
    if (!b->exportTorchScript(outFile.toStdString(), &err)) {
        if (error) *error = QString::fromStdString(err);
        return false;
    }
    return true;
}

QString Curator::resolveBackbone(const QString &nameOrPath)
{
    if (nameOrPath.isEmpty() || nameOrPath == u"general" || nameOrPath == u"default") return defaultBackbonePath();
    if (nameOrPath == u"letters") {
#ifdef MAGPIE_SOURCE_BACKBONE_DIR
        return findBackboneFile(QStringLiteral("letters.mbb"), QStringLiteral(MAGPIE_SOURCE_BACKBONE_DIR "/letters.mbb"));
#else
        return findBackboneFile(QStringLiteral("letters.mbb"), {});
#endif
    }
    return QFileInfo::exists(nameOrPath) ? QFileInfo(nameOrPath).absoluteFilePath() : QString();
}

QString Curator::libraryBackbone(const Library &library)
{
    return library.meta(QStringLiteral("backbone"), QStringLiteral("general"));
}

bool Curator::setLibraryBackbone(Library &library, const QString &name, QString *error)
{
    if (!backboneNames().contains(name)) {
        if (error) *error = QStringLiteral("unknown backbone %1 (choose %2)").arg(name, backboneNames().join(QStringLiteral(", ")));
        return false;
    }
    if (resolveBackbone(name).isEmpty()) {
        if (error) *error = QStringLiteral("the %1 backbone is not installed").arg(name);
        return false;
    }
    if (!library.setMeta(QStringLiteral("backbone"), name)) {
        if (error) *error = library.lastError();
        return false;
    }
    return true;
}

namespace {
QString categoryBackboneKey(CategoryId category) { return QStringLiteral("backbone/category/%1").arg(category); }
} // namespace

QString Curator::categoryBackbone(const Library &library, CategoryId category, bool *own)
{
    const QString name = library.meta(categoryBackboneKey(category));
    if (own) *own = !name.isEmpty();
    return name.isEmpty() ? libraryBackbone(library) : name;
}

bool Curator::setCategoryBackbone(Library &library, CategoryId category, const QString &name, QString *error)
{
    const bool follow = name.isEmpty() || name == u"library";
    if (!follow && !backboneNames().contains(name)) {
        if (error) *error = QStringLiteral("unknown backbone %1 (choose %2, or library)").arg(name, backboneNames().join(QStringLiteral(", ")));
        return false;
    }
    if (!follow && resolveBackbone(name).isEmpty()) {
        if (error) *error = QStringLiteral("the %1 backbone is not installed").arg(name);
        return false;
    }
    if (!library.category(category)) {
        if (error) *error = QStringLiteral("no category %1").arg(category);
        return false;
    }
    if (!library.setMeta(categoryBackboneKey(category), follow ? QString() : name)) {
        if (error) *error = library.lastError();
        return false;
    }
    return true;
}

QString Curator::suggestedBackbone(CategoryKind kind, const QStringList &classes)
{
    if (kind != CategoryKind::ClassSet || classes.isEmpty()) return {};
    const QString file = resolveBackbone(QStringLiteral("letters"));
    if (file.isEmpty()) return {};
    QString base = file;
    base.chop(4); // .mbb
    QFile meta(base + QStringLiteral(".prior.txt"));
    if (!meta.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
    QStringList known;
    for (const QString &line : QString::fromUtf8(meta.readAll()).split(QLatin1Char('\n'))) {
        const QStringList f = line.simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
        if (f.size() >= 2 && f[0] == QLatin1String("classes")) known = f.mid(1);
    }
    for (const QString &c : classes)
        if (!known.contains(c, Qt::CaseInsensitive)) return {};
    return QStringLiteral("letters");
}

QString Curator::adoptSuggestedBackbone(Library &library, const Category &category)
{
    QStringList names;
    for (const ClassInfo &k : category.classes) names << k.name;
    const QString want = suggestedBackbone(category.kind, names);
    if (want.isEmpty() || want == libraryBackbone(library)) return {};
    return setCategoryBackbone(library, category.id, want, nullptr) ? want : QString();
}

QString Curator::backbonePath() const { return d->backbonePath; }

QString Curator::backboneVersion()
{
    return d->ensureBackbone() ? QString::fromStdString(d->backbone->info().version) : QString();
}

int Curator::embeddingBackbones() { return 1 + int(d->categoryCurators().size()); }

bool Curator::embed(EmbedReport *r, const ProgressFn &progress, const std::atomic<bool> *cancel, int batchSize,
                    qint64 maxImages)
{
    EmbedReport local;
    if (!r) r = &local;
    *r = {};
    if (!d->ensureStore()) return false;
    const QVector<Curator *> others = d->categoryCurators();
    const qint64 parts = 1 + others.size();
    // Progress over every backbone: each embeds the same images.
    if (static_cast<qint64>(d->embedDone.size()) != parts) d->embedDone.assign(static_cast<std::size_t>(parts), 0);
    const auto sumDone = [this] {
        qint64 s = 0;
        for (qint64 v : d->embedDone) s += v;
        return s;
    };
    const auto stage = [&](qint64 k) -> ProgressFn {
        if (!progress) return {};
        return [this, &progress, &sumDone, k, parts](qint64 done, qint64 total) {
            d->embedDone[static_cast<std::size_t>(k)] = std::min(done, total);
            progress(std::min(sumDone(), parts * total), parts * total);
        };
    };
    const auto name = [](const QString &file) {
        for (const QString &n : backboneNames())
            if (resolveBackbone(n) == file) return n;
        return QFileInfo(file).fileName();
    };
    const qint64 imageCount = d->lib.imageCount();
    // One backbone's share of this part. In a run in parts every backbone
    // gets a share of each part, so that a category on its own backbone gets
    // its answered images embedded (they go first) without waiting for the
    // whole archive on the library's; a backbone found complete earlier in the
    // run is not scanned again while the library holds the same images.
    const auto embedOne = [&](Impl &x, qint64 budget, qint64 k, EmbedReport *out) {
        if (maxImages > 0 && x.completeAtImages == imageCount) {
            out->total = out->cached = x.completeTotal;
            d->embedDone[static_cast<std::size_t>(k)] = x.completeTotal;
            return true;
        }
        if (!x.embedInto(*x.backbone, *x.store, out, stage(k), cancel, batchSize, budget)) return false;
        if (!out->cancelled && out->remaining == 0) {
            x.completeAtImages = imageCount;
            x.completeTotal = out->total;
        }
        return true;
    };
    const qint64 share = maxImages > 0 ? std::max<qint64>(1, maxImages / parts) : 0;
    if (!embedOne(*d, share, 0, r)) return false;
    r->images = r->total;
    r->libraryEmbedded = r->embedded;
    r->backbones << name(d->backbonePath);
    if (!d->pinned) {
        // Name the library backbone's cache, for core's readers (maps, layouts)
        // when other caches sit beside it.
        QFile named(libraryEmbeddingVersionFile(d->lib.cacheDir()));
        const QByteArray version = d->cacheVersion().c_str();
        if (!named.open(QIODevice::ReadOnly) || named.readAll().trimmed() != version) {
            named.close();
            if (named.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) named.write(version + '\n');
        }
    }
    // Bring the similarity index up to date with the new rows, in the background
    // (the library's backbone only: "more like this" and the map use it).
    SimilarityIndex *index = d->similarityIndex();
    if (!r->cancelled && r->remaining == 0 && !index->isCurrent(d->store->count()))
        index->updateInBackground(Impl::rowsOf(*d->store));
    // Then the backbones that categories use on their own, in what is left of this part.
    for (qint64 k = 0; k < others.size(); ++k) {
        Curator *o = others[k];
        r->backbones << name(o->d->backbonePath);
        if (r->cancelled) continue;
        if (!o->d->ensureStore()) {
            d->error = o->d->error;
            return false;
        }
        EmbedReport x;
        const qint64 left = maxImages > 0 ? std::max<qint64>(share, (maxImages - r->embedded) / (others.size() - k)) : 0;
        if (!embedOne(*o->d, left, k + 1, &x)) {
            d->error = o->d->error;
            return false;
        }
        r->total += x.total;
        r->cached += x.cached;
        r->embedded += x.embedded;
        r->failed = std::max(r->failed, x.failed); // the same undecodable images
        r->remaining += x.remaining;
        r->seconds += x.seconds;
        r->decodeSeconds += x.decodeSeconds;
        r->networkSeconds += x.networkSeconds;
        r->cancelled = r->cancelled || x.cancelled;
    }
    if (r->remaining == 0 && !r->cancelled) { // the run is over: the next one scans for what changed
        d->completeAtImages = -1;
        for (Curator *o : others) o->d->completeAtImages = -1;
    }
    return true;
}

bool Curator::waitForSimilarityIndex(const std::atomic<bool> *cancel)
{
    QString err;
    if (d->similarity && !d->similarity->waitForBackground(&err, cancel)) {
        d->error = err;
        return false;
    }
    return true;
}

qint64 Curator::similarityIndexedRows()
{
    return d->ensureStore() ? d->similarityIndex()->indexedRows() : 0;
}

bool Curator::Impl::embedInto(const Backbone &bb, EmbeddingStore &st, EmbedReport *r, const ProgressFn &progress,
                              const std::atomic<bool> *cancel, int batchSize, qint64 maxImages)
{
    Impl *d = this;
    QElapsedTimer total;
    total.start();
    QVector<ImageRecord> todo;
    std::vector<std::pair<std::int64_t, std::uint64_t>> adopt;
    const qint64 imageCount = d->lib.imageCount();
    if (&st == pendingStore && imageCount == pendingImages && !pending.isEmpty()) {
        // The next part of a run in parts: what the first part's scan left,
        // not another scan of the whole library (a million rows per part).
        todo = std::move(pending);
        r->total = pendingTotal;
        r->cached = r->total - todo.size(); // embedded before (or found undecodable)
    } else {
        const QVector<ImageRecord> images = d->lib.images(ImageStatus::Ok);
        r->total = images.size();
        // Cached = a row for the image made from the same content: a file changed
        // in place and re-imported keeps its image id but gets a new hash, so it is
        // embedded again (its newest row wins). Rows from before content keys are
        // adopted with the image's current hash.
        for (const ImageRecord &im : images) {
            const std::int64_t row = st.rowOf(im.id);
            const std::uint64_t key = EmbeddingStore::contentKey(im.hash.toStdString());
            if (row >= 0 && st.rowKey(row) == 0)
                adopt.emplace_back(row, key);
            if (row >= 0 && (st.rowKey(row) == key || st.rowKey(row) == 0)) ++r->cached;
            else if (undecodable.contains(im.id)) ++r->failed;
            else todo.push_back(im);
        }
    }
    pending.clear();
    const qint64 before = r->total - todo.size(); // done before this run: cached, or failed before
    if (progress && r->total > 0) progress(before, r->total); // where it starts, before the first batch
    if (maxImages > 0 && todo.size() > maxImages) {
        // Answered images first (answered since the scan too): the next model
        // waits for them, not for the archive.
        const QVector<ImageId> answeredIds = d->lib.answeredImageIds();
        const QSet<ImageId> answered(answeredIds.begin(), answeredIds.end());
        std::stable_partition(todo.begin(), todo.end(), [&](const ImageRecord &im) { return answered.contains(im.id); });
        pending = todo.mid(maxImages);
        pendingStore = &st;
        pendingImages = imageCount;
        pendingTotal = r->total;
        r->remaining = pending.size();
        todo.resize(maxImages);
    }
    if (!adopt.empty()) {
        std::string err;
        if (!st.adoptKeys(adopt, &err)) {
            d->error = QString::fromStdString(err);
            return false;
        }
    }
    const int S = bb.info().inputSize;
    const int D = bb.info().featureDim;
    const std::size_t imgBytes = static_cast<std::size_t>(S * S * 3);
    // On a GPU the next batch is decoded (on the thread pool) while this one
    // goes through the network, which takes a few milliseconds per batch and
    // would otherwise wait for the decoder every time; a GPU also gets larger
    // batches. On the CPU the decoder's threads would take cores from the
    // network (2 cores: 185 instead of 233 img/s), so there it waits.
    // MAGPIE_EMBED_OVERLAP=1 or 0 decides instead (tests take the GPU's path
    // on the CPU).
    const QByteArray overlapEnv = qgetenv("MAGPIE_EMBED_OVERLAP");
    const bool overlap = overlapEnv.isEmpty() ? useCuda() : overlapEnv == "1";
    if (useCuda()) batchSize = std::max(batchSize, 256);
    const Library &lib = d->lib;
    const auto decodeBatch = [&lib, S](QVector<ImageRecord> batch) {
        return QtConcurrent::mapped(std::move(batch), [&lib, S](const ImageRecord &im) {
            return loadRgb(lib.thumbnailPath(im.hash), im.absPath, S);
        });
    };
    QFuture<std::vector<std::uint8_t>> next;
    if (overlap && !todo.isEmpty()) next = decodeBatch(todo.mid(0, batchSize));
    const auto dropNext = [&next] { next.cancel(); next.waitForFinished(); };
    for (qsizetype s = 0; s < todo.size(); s += batchSize) {
        if (cancel && cancel->load()) {
            dropNext();
            r->cancelled = true;
            pending = todo.mid(s) + pending; // the next run starts with what this one did not reach
            pendingStore = &st;
            pendingImages = imageCount;
            pendingTotal = r->total;
            break;
        }
        const QVector<ImageRecord> batch = todo.mid(s, batchSize);
        QElapsedTimer t;
        t.start();
        if (!overlap) next = decodeBatch(batch);
        next.waitForFinished();
        const QList<std::vector<std::uint8_t>> pixels = next.results();
        r->decodeSeconds += t.nsecsElapsed() / 1e9; // time spent waiting for the decoder
        next = overlap && s + batchSize < todo.size() ? decodeBatch(todo.mid(s + batchSize, batchSize)) : QFuture<std::vector<std::uint8_t>>();
        std::vector<std::uint8_t> buf;
        std::vector<std::int64_t> ids;
        std::vector<std::uint64_t> keys;
        for (qsizetype i = 0; i < batch.size(); ++i) {
            if (i >= pixels.size() || pixels[i].size() != imgBytes) {
                ++r->failed;
                undecodable.insert(batch[i].id);
                continue;
            }
            buf.insert(buf.end(), pixels[i].begin(), pixels[i].end());
            ids.push_back(batch[i].id);
            keys.push_back(EmbeddingStore::contentKey(batch[i].hash.toStdString()));
        }
        if (!ids.empty()) {
            t.restart();
            std::vector<float> feats(ids.size() * static_cast<std::size_t>(D));
            std::string err;
            if (!bb.embed(buf.data(), static_cast<int>(ids.size()), feats.data(), &err)
                || !st.append(ids, keys, feats.data(), &err)) {
                dropNext();
                d->error = QString::fromStdString(err);
                return false;
            }
            r->networkSeconds += t.nsecsElapsed() / 1e9;
            r->embedded += static_cast<qint64>(ids.size());
        }
        if (progress) progress(before + s + batch.size(), r->total);
    }
    r->seconds = total.nsecsElapsed() / 1e9;
    return true;
}

bool Curator::train(const Category &c, const TrainOptions &o, TrainReport *r, const std::atomic<bool> *cancel,
                    const ProgressFn &progress)
{
    if (auto done = d->viaOwnBackbone(c, [&](Curator &x) { return x.train(c, o, r, cancel, progress); })) return *done;
    TrainReport local;
    if (!r) r = &local;
    *r = {};
    if (!d->ensureStore()) return false;
    const int C = Impl::classCount(c);
    if (C < 2) {
        d->error = QStringLiteral("category %1 has fewer than two classes").arg(c.name);
        return false;
    }
    EmbeddingStore *st = d->store.get();
    QString backboneVersion = QString::fromStdString(d->backbone->info().version);
    QJsonObject deepMetrics;
    QString tunedFile;
    if (o.deep) {
        // Fine-tune on the answered images (binary: yes/no; class set: the Yes answers).
        QVector<ImageRecord> recs;
        std::vector<int> labels;
        for (const Answer &a : d->lib.answers(c.id)) {
            if (a.value == AnswerValue::Skip) continue;
            int cls = c.kind == CategoryKind::Binary ? (a.value == AnswerValue::Yes ? 1 : 0)
                                                     : (a.value == AnswerValue::Yes ? Impl::classIndex(c, a.classId) : -1);
            const auto rec = d->lib.image(a.imageId);
            if (cls < 0 || !rec) continue;
            recs.push_back(*rec);
            labels.push_back(cls);
        }
        const int S = d->backbone->info().inputSize;
        const Library &lib = d->lib;
        // Decoded straight into one buffer (41,000 images at 224 px are 6 GB: a
        // second, per-image copy would double the peak).
        const std::size_t one = static_cast<std::size_t>(S) * S * 3;
        std::vector<std::uint8_t> buf(static_cast<std::size_t>(recs.size()) * one);
        std::vector<char> ok(static_cast<std::size_t>(recs.size()), 0);
        std::vector<int> idx(static_cast<std::size_t>(recs.size()));
        std::iota(idx.begin(), idx.end(), 0);
        QtConcurrent::blockingMap(idx, [&](int i) {
            const ImageRecord &im = recs[i];
            const std::vector<std::uint8_t> px = loadRgb(lib.thumbnailPath(im.hash), im.absPath, S);
            if (px.size() != one) return;
            std::copy(px.begin(), px.end(), buf.begin() + static_cast<std::ptrdiff_t>(i * one));
            ok[static_cast<std::size_t>(i)] = 1;
        });
        // Compact over the images that could not be read (in order, in place).
        std::vector<int> y;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < ok.size(); ++i) {
            if (!ok[i]) continue;
            if (kept != i)
                std::copy_n(buf.begin() + static_cast<std::ptrdiff_t>(i * one), one, buf.begin() + static_cast<std::ptrdiff_t>(kept * one));
            y.push_back(labels[i]);
            ++kept;
        }
        buf.resize(kept * one);
        FineTuneConfig fc;
        fc.numClasses = C;
        fc.epochs = o.epochs;
        fc.firstBlock = o.tuneFromBlock;
        fc.newBlocks = o.newBlocks;
        if (progress) fc.progress = [&progress](std::int64_t done, std::int64_t total) { progress(done, total); };
        if (o.onStage) o.onStage(QStringLiteral("training"));
        fc.timeBoxSeconds = o.timeBoxSeconds;
        fc.horizontalFlip = c.kind == CategoryKind::Binary; // never flip letters
        const QString dir = d->lib.cacheDir() + QStringLiteral("/models");
        QDir().mkpath(dir);
        tunedFile = dir + QStringLiteral("/cat%1-%2.mbb").arg(c.id).arg(QDateTime::currentMSecsSinceEpoch());
        FineTuneReport fr;
        std::string ferr;
        if (!fineTune(d->backbonePath.toStdString(), buf.data(), static_cast<int>(y.size()), y, fc, tunedFile.toStdString(),
                      &fr, &ferr, cancel)) {
            d->error = QString::fromStdString(ferr);
            return false;
        }
        if (fr.cancelled) {
            QFile::remove(tunedFile);
            d->error = QStringLiteral("cancelled");
            return false;
        }
        // Embed the answered images first: the head and its validation need only
        // them, and a pass that validates worse than the model in use is dropped
        // before the archive is embedded for it (below). A binary theme with
        // unanswered images as weak "no" examples needs the archive now.
        QElapsedTimer te;
        te.start();
        const qint64 first = c.kind == CategoryKind::Binary && o.unlabeledWeight > 0
                                 ? 0
                                 : std::max<qint64>(1, d->lib.answeredImageIds().size());
        QString problem;
        if (o.onStage) o.onStage(first > 0 ? QStringLiteral("embedding the answered images") : QStringLiteral("embedding the archive"));
        st = d->tunedStore(tunedFile, &problem, cancel, progress, first);
        if (!st) {
            d->error = problem;
            return false;
        }
        backboneVersion = QString::fromStdString(d->tuned[tunedFile].first->info().version);
        deepMetrics = QJsonObject{{QStringLiteral("images"), static_cast<int>(y.size())},
                                  {QStringLiteral("epochs"), fr.epochs},
                                  {QStringLiteral("seconds"), fr.seconds},
                                  {QStringLiteral("timed_out"), fr.timedOut},
                                  {QStringLiteral("last_epoch_loss"), fr.lastEpochLoss},
                                  {QStringLiteral("augmented_train_accuracy"), fr.trainAccuracy},
                                  {QStringLiteral("reembed_seconds"), te.nsecsElapsed() / 1e9},
                                  {QStringLiteral("tune_from_block"), o.tuneFromBlock},
                                  {QStringLiteral("new_blocks"), o.newBlocks},
                                  {QStringLiteral("from_backbone"), QFileInfo(d->backbonePath).fileName()},
                                  {QStringLiteral("device"), QString::fromStdString(deviceName())}};
    }
    std::vector<std::int64_t> rows;
    std::vector<Example> ex;
    QHash<std::int64_t, int> local_;
    QSet<ImageId> unreadable, unembedded; // images, not answers (a class set's image may have several)
    for (const Answer &a : d->lib.answers(c.id)) {
        if (a.value == AnswerValue::Skip) continue;
        const std::int64_t row = st->rowOf(a.imageId);
        if (row < 0) {
            const auto rec = d->lib.image(a.imageId);
            if (!rec || rec->status != ImageStatus::Ok)
                unreadable.insert(a.imageId); // embed can never help: say so apart
            else
                unembedded.insert(a.imageId);
            continue;
        }
        int cls;
        bool positive = true;
        if (c.kind == CategoryKind::Binary) {
            cls = a.value == AnswerValue::Yes ? 1 : 0;
        } else {
            cls = Impl::classIndex(c, a.classId);
            positive = a.value == AnswerValue::Yes;
            if (cls < 0) continue;
        }
        auto it = local_.find(row);
        int li;
        if (it == local_.end()) {
            li = static_cast<int>(rows.size());
            local_.insert(row, li);
            rows.push_back(row);
        } else {
            li = it.value();
        }
        ex.push_back({li, cls, positive});
    }
    r->unreadableAnswers = int(unreadable.size());
    r->missingEmbeddings = int(unembedded.size());
    r->examples = static_cast<int>(ex.size());
    if (ex.empty()) {
        d->error = r->missingEmbeddings > 0
                       ? QStringLiteral("none of the %1 answered images in %2 has an embedding yet (run embed first)")
                             .arg(r->missingEmbeddings).arg(c.name)
                   : r->unreadableAnswers > 0
                       ? QStringLiteral("the %1 answered images in %2 cannot be read (magpie-cli info --issues): answer "
                                        "some readable ones").arg(r->unreadableAnswers).arg(c.name)
                       : QStringLiteral("no yes/no answers in %1 yet: answer a few images first").arg(c.name);
        return false;
    }
    // Binary themes: unanswered images as weak "no" examples (TrainOptions::unlabeledWeight).
    int unlabeled = 0;
    float unlabeledEach = 0;
    if (c.kind == CategoryKind::Binary && o.unlabeledWeight > 0) {
        const std::int64_t N = st->count();
        const auto &ids = st->ids();
        const std::int64_t want = std::min<std::int64_t>(TrainOptions::kUnlabeledSample, N);
        std::mt19937_64 rng(0x6d61677069650000ULL + static_cast<std::uint64_t>(c.id));
        auto take = [&](std::int64_t row) {
            if (local_.contains(row) || st->rowOf(ids[static_cast<std::size_t>(row)]) != row) return;
            local_.insert(row, static_cast<int>(rows.size()));
            ex.push_back({static_cast<int>(rows.size()), 0, true, true});
            rows.push_back(row);
            ++unlabeled;
        };
        if (N <= 4 * want) {
            // small library: a shuffled pass over every row
            std::vector<std::int64_t> all(static_cast<std::size_t>(N));
            std::iota(all.begin(), all.end(), 0);
            std::shuffle(all.begin(), all.end(), rng);
            for (std::int64_t row : all) {
                if (unlabeled >= want) break;
                take(row);
            }
        } else {
            std::uniform_int_distribution<std::int64_t> pick(0, N - 1);
            for (std::int64_t tries = 0; unlabeled < want && tries < 4 * want; ++tries)
                take(pick(rng));
        }
        if (unlabeled > 0)
            unlabeledEach = static_cast<float>(o.unlabeledWeight * r->examples / unlabeled);
    }
    // What the head is made from. A fast head with nothing changed since the
    // newest model would be that model again (training is deterministic): keep it.
    QByteArray inputs;
    {
        QCryptographicHash h(QCryptographicHash::Sha1);
        const auto add = [&h](const auto &v) { h.addData(QByteArrayView(reinterpret_cast<const char *>(&v), sizeof v)); };
        h.addData("magpie fast head 1"); // bump when training, validation or softening change
        h.addData(backboneVersion.toUtf8());
        h.addData(fitMode().toUtf8());
        // a theme's head is softened against (and may sample) the archive: new images count
        if (c.kind == CategoryKind::Binary) add(st->count());
        for (const ClassInfo &k : c.classes) add(k.id);
        for (std::int64_t row : rows) add(row);
        for (const Example &e : ex) {
            add(e.row);
            add(e.cls);
            add(e.positive);
            add(e.unlabeled);
        }
        add(o.hidden);
        add(o.steps);
        add(o.l2);
        add(o.lr);
        add(o.priorWeight);
        add(o.unlabeledWeight);
        add(o.validate);
        if (d->priorHead()) h.addData(d->priorFile.toUtf8());
        inputs = h.result().toHex();
    }
    if (!o.deep) {
        const QVector<ModelVersion> versions = d->lib.modelVersions(c.id);
        if (!versions.isEmpty()) {
            const ModelVersion &last = versions.last();
            const QJsonObject m = QJsonDocument::fromJson(last.metricsJson.toUtf8()).object();
            std::string loadErr;
            if (last.backbone == backboneVersion && m.value(QStringLiteral("inputs")).toString().toLatin1() == inputs
                && Head::load(last.checkpointPath.toStdString(), &loadErr)) { // a corrupt one is made again
                r->modelVersion = last.id;
                r->categoryId = c.id;
                r->metricsJson = last.metricsJson;
                r->unchanged = true;
                return true;
            }
        }
    }
    const std::vector<float> x = st->gatherFloat(rows);
    const int D = st->dim();
    HeadConfig cfg;
    cfg.numClasses = C;
    cfg.hidden = o.hidden;
    cfg.steps = o.steps;
    cfg.l2 = o.l2;
    cfg.lr = o.lr;
    cfg.unlabeledWeight = unlabeledEach;
    // A class set whose every class the backbone's prior head knows (by name,
    // case-insensitive) is blended with it; not after a deep pass (other features).
    // Automatic weight: the prior counts as kPriorAnswers answers per class, so
    // the first answers refine it instead of outvoting it (on the initials'
    // held-out fonts 5 answers per letter gave 63 % blended 0.5, 69 % with the
    // prior alone; docs/training.md).
    QString priorUsed;
    double priorWeight = o.priorWeight;
    if (priorWeight < 0) {
        const auto yes = std::count_if(ex.begin(), ex.end(), [](const Example &e) { return e.positive && !e.unlabeled; });
        const double perClass = static_cast<double>(yes) / std::max(1, C);
        priorWeight = TrainOptions::kPriorAnswers / (TrainOptions::kPriorAnswers + perClass);
    }
    if (!o.deep && o.hidden == 0 && priorWeight > 0) {
        const std::vector<int> rowsOf = d->priorRowsFor(c);
        if (static_cast<int>(rowsOf.size()) == C) {
            cfg.prior = d->prior.get();
            cfg.priorClassRows = rowsOf;
            cfg.priorWeight = static_cast<float>(std::min(1.0, priorWeight));
            priorUsed = d->priorFile;
        }
    }
    QElapsedTimer t;
    t.start();
    std::string err;
    auto head = Head::train(x.data(), static_cast<int>(rows.size()), D, ex, cfg, &err);
    r->trainSeconds = t.nsecsElapsed() / 1e9;
    if (!head) {
        d->error = QString::fromStdString(err);
        return false;
    }
    QJsonObject metrics{{QStringLiteral("mode"), o.deep ? QStringLiteral("deep") : QStringLiteral("fast")},
                        {QStringLiteral("head"), o.hidden > 0 ? QStringLiteral("mlp%1").arg(o.hidden) : QStringLiteral("logistic")},
                        {QStringLiteral("answers"), r->examples},
                        {QStringLiteral("train_seconds"), r->trainSeconds},
                        {QStringLiteral("inputs"), QString::fromLatin1(inputs)}};
    if (unlabeled > 0)
        metrics.insert(QStringLiteral("unlabeled"), QJsonObject{{QStringLiteral("images"), unlabeled},
                                                                {QStringLiteral("weight"), o.unlabeledWeight}});
    if (head->blendedWithPrior())
        metrics.insert(QStringLiteral("prior"), QJsonObject{{QStringLiteral("file"), priorUsed},
                                                            {QStringLiteral("weight"), cfg.priorWeight},
                                                            {QStringLiteral("automatic"), o.priorWeight < 0}});
    if (o.deep) {
        metrics.insert(QStringLiteral("deep"), deepMetrics);
        metrics.insert(QStringLiteral("backbone_file"), tunedFile);
        metrics.insert(QStringLiteral("validation_note"),
                       QStringLiteral("k-fold of the head only: the fine-tuned blocks saw every answered image, so this "
                                      "accuracy is optimistic; eval on never-answered images is the honest figure"));
    }
    if (o.validate) {
        const HeadMetrics m = Head::crossValidate(x.data(), static_cast<int>(rows.size()), D, ex, cfg, 5);
        metrics.insert(QStringLiteral("validation"), QString::fromStdString(m.method));
        if (m.accuracy >= 0) {
            metrics.insert(QStringLiteral("accuracy"), m.accuracy);
            metrics.insert(QStringLiteral("validated_answers"), m.examples);
            QJsonObject per;
            for (int i = 0; i < C; ++i) {
                const QString name = c.kind == CategoryKind::Binary ? (i ? QStringLiteral("yes") : QStringLiteral("no"))
                                                                    : c.classes[i].name;
                per.insert(name, QJsonObject{{QStringLiteral("precision"), m.precision[static_cast<std::size_t>(i)]},
                                             {QStringLiteral("recall"), m.recall[static_cast<std::size_t>(i)]},
                                             {QStringLiteral("support"), m.support[static_cast<std::size_t>(i)]}});
            }
            metrics.insert(QStringLiteral("per_class"), per);
            // A deep pass on a few answers can overfit: one that validates
            // clearly worse than the model in use (its own figure is optimistic
            // at that) does not replace it. Its backbone file stays; the
            // embeddings made for it are dropped.
            if (o.deep && !d->keepOrDropDeepPass(c, m.accuracy, tunedFile)) return false;
            // honest probabilities: a head that separates a few answers
            // perfectly would say "100 %" of everything
            head->soften(m.temperature);
            metrics.insert(QStringLiteral("temperature"), m.temperature);
        }
    }
    if (o.deep) {
        // The pass is kept: now the rest of the archive.
        QElapsedTimer te;
        te.start();
        QString problem;
        if (o.onStage) o.onStage(QStringLiteral("embedding the archive"));
        st = d->tunedStore(tunedFile, &problem, cancel, progress);
        if (!st) {
            d->error = problem;
            return false;
        }
        deepMetrics.insert(QStringLiteral("reembed_seconds"),
                           deepMetrics.value(QStringLiteral("reembed_seconds")).toDouble() + te.nsecsElapsed() / 1e9);
        metrics.insert(QStringLiteral("deep"), deepMetrics);
    }
    if (o.validate && !metrics.contains(QStringLiteral("accuracy"))) {
        if (c.kind == CategoryKind::Binary) {
            // Nothing held out says how often it is right (too few answers, or
            // only "no" so far): its order of images is still worth showing,
            // but no image gets more than 90 %.
            const double t = Impl::capConfidence(*head, *st, 0.9);
            metrics.insert(QStringLiteral("temperature"), t);
            metrics.insert(QStringLiteral("temperature_note"),
                           QStringLiteral("not validated: softened so that no image gets more than 90 %"));
        }
    }
    const QString dir = d->lib.cacheDir() + QStringLiteral("/models");
    QDir().mkpath(dir);
    const QString path = dir + QStringLiteral("/cat%1-%2.head").arg(c.id).arg(QDateTime::currentMSecsSinceEpoch());
    if (!head->save(path.toStdString(), &err)) {
        d->error = QString::fromStdString(err);
        return false;
    }
    ModelVersion mv;
    mv.categoryId = c.id;
    mv.backbone = backboneVersion;
    mv.metricsJson = QString::fromUtf8(QJsonDocument(metrics).toJson(QJsonDocument::Compact));
    mv.checkpointPath = path;
    r->modelVersion = d->lib.addModelVersion(mv);
    r->categoryId = c.id;
    r->metricsJson = mv.metricsJson;
    if (r->modelVersion <= 0) {
        d->error = d->lib.lastError();
        return false;
    }
    return true;
}

bool Curator::scores(const Category &c, QVector<ImageId> *ids, QVector<float> *probs, int *classes, qint64 *version)
{
    if (auto done = d->viaOwnBackbone(c, [&](Curator &x) { return x.scores(c, ids, probs, classes, version); })) return *done;
    if (!d->ensureStore()) return false;
    qint64 v = 0;
    auto head = d->currentHead(c, &v);
    if (!head) return false;
    EmbeddingStore *st = d->lastStore;
    const std::int64_t n = st->count();
    probs->resize(static_cast<qsizetype>(n * head->numClasses()));
    head->scoreHalf(st->halfRows(), n, probs->data());
    ids->clear();
    ids->reserve(static_cast<qsizetype>(n));
    for (std::int64_t id : st->ids()) ids->push_back(id);
    if (classes) *classes = head->numClasses();
    if (version) *version = v;
    return true;
}

QVector<Suggestion> Curator::scoreImages(const Category &c, const QVector<ImageId> &images)
{
    if (auto done = d->viaOwnBackbone(c, [&](Curator &x) { return x.scoreImages(c, images); })) return *done;
    QVector<Suggestion> out;
    if (images.isEmpty() || !d->ensureStore()) return out;
    const QString errBefore = d->error;
    qint64 version = 0;
    auto head = d->currentHead(c, &version);
    if (!head || head->numClasses() != Impl::classCount(c)) return out;
    d->error = errBefore;
    EmbeddingStore *st = d->lastStore; // the model's own embeddings (a deep pass has its own)
    std::vector<float> p(static_cast<std::size_t>(head->numClasses()));
    // a class set's "not this class" answers of these images (a theme has none to read)
    QVector<Answer> told;
    if (c.kind == CategoryKind::ClassSet)
        for (ImageId id : images) told += d->lib.answers(c.id, id);
    const auto notThese = Impl::ruledOut(c, told);
    for (ImageId id : images) {
        const std::int64_t row = st->rowOf(id);
        if (row < 0) continue;
        head->scoreHalf(st->halfRows() + row * st->dim(), 1, p.data());
        if (const auto it = notThese.find(id); it != notThese.end() && !Impl::ruleOut(p.data(), head->numClasses(), *it))
            continue;
        Suggestion s;
        s.imageId = id;
        Impl::guess(c, p.data(), -1, &s);
        if (const auto rec = d->lib.image(id)) s.path = rec->absPath;
        out.push_back(s);
    }
    return out;
}

QVector<Suggestion> Curator::suggest(const Category &c, Queue queue, int n, ClassId onlyClass, quint64 seed)
{
    if (auto done = d->viaOwnBackbone(c, [&](Curator &x) { return x.suggest(c, queue, n, onlyClass, seed); })) return *done;
    QVector<Suggestion> out;
    if (!d->ensureStore()) return out;
    const std::int64_t N = d->store->count();
    // Candidates: embedded Ok images not answered in this category. In a class
    // set, images with a class (a Yes) or a skip are out, and so are, when one
    // class is asked for, those with any answer for it. An image told only
    // "not this class" is proposed again, with its guess among the classes it
    // may still be; told so of every class, it is out.
    const QVector<Answer> answers = d->lib.answers(c.id);
    QSet<ImageId> excluded;
    std::vector<std::int64_t> answeredRows;
    for (const Answer &a : answers) {
        const std::int64_t row = d->store->rowOf(a.imageId);
        if (row >= 0) answeredRows.push_back(row);
        if (c.kind == CategoryKind::Binary || a.value != AnswerValue::No || a.classId == onlyClass)
            excluded.insert(a.imageId);
    }
    const auto notThese = onlyClass == 0 ? Impl::ruledOut(c, answers) : QHash<ImageId, QVector<int>>();
    const auto &ids = d->store->ids();
    std::vector<std::int64_t> cand;
    for (std::int64_t r = 0; r < N; ++r)
        if (!excluded.contains(ids[static_cast<std::size_t>(r)]) && d->store->rowOf(ids[static_cast<std::size_t>(r)]) == r)
            cand.push_back(r);
    qint64 version = 0;
    int C = Impl::classCount(c);
    std::vector<float> probs;
    const QString errBefore = d->error;
    auto head = d->currentHead(c, &version);
    if (head) {
        probs.resize(static_cast<std::size_t>(N * C));
        if (d->lastStore == d->store.get()) {
            head->scoreHalf(d->store->halfRows(), N, probs.data());
        } else { // a fine-tuned model: score its own embeddings, align by image id
            EmbeddingStore *st = d->lastStore;
            std::vector<float> own(static_cast<std::size_t>(st->count() * C));
            head->scoreHalf(st->halfRows(), st->count(), own.data());
            for (std::int64_t r = 0; r < N; ++r) {
                const std::int64_t o = st->rowOf(ids[static_cast<std::size_t>(r)]);
                for (int k = 0; k < C; ++k)
                    probs[static_cast<std::size_t>(r * C + k)] = o >= 0 ? own[static_cast<std::size_t>(o * C + k)] : 0.0f;
            }
        }
    }
    // the classes an image was told it is not are out of its guess; one that
    // is none of them is not proposed
    for (auto it = notThese.begin(); it != notThese.end(); ++it) {
        const std::int64_t r = d->store->rowOf(it.key());
        if (it.value().size() >= C) excluded.insert(it.key()); // none left, model or not (one answer per class)
        else if (!probs.empty() && r >= 0 && !Impl::ruleOut(probs.data() + r * C, C, it.value())) excluded.insert(it.key());
    }
    if (!notThese.isEmpty()) // rebuilt: images every class is ruled out for are gone
        cand.erase(std::remove_if(cand.begin(), cand.end(),
                                  [&](std::int64_t r) { return excluded.contains(ids[static_cast<std::size_t>(r)]); }),
                   cand.end());
    const int want = onlyClass ? Impl::classIndex(c, onlyClass) : -1;
    // Score and proposed class of a row.
    auto scoreOf = [&](std::int64_t r, int *cls) -> float {
        if (probs.empty()) { *cls = c.kind == CategoryKind::Binary ? 1 : 0; return 0; }
        const float *p = probs.data() + r * C;
        if (c.kind == CategoryKind::Binary) { *cls = 1; return p[1]; }
        if (want >= 0) { *cls = want; return p[want]; }
        *cls = static_cast<int>(std::max_element(p, p + C) - p);
        return p[*cls];
    };
    auto uncertainty = [&](std::int64_t r) -> float { // higher = more uncertain
        if (probs.empty()) return 0;
        const float *p = probs.data() + r * C;
        if (c.kind == CategoryKind::Binary) return -std::abs(p[1] - 0.5f);
        if (want >= 0) return -std::abs(p[want] - 0.5f);
        float a = 0, b = 0;
        for (int i = 0; i < C; ++i) {
            if (p[i] > a) { b = a; a = p[i]; } else if (p[i] > b) b = p[i];
        }
        return -(a - b);
    };
    std::mt19937_64 rng(seed);
    auto byKey = [&](std::vector<float> key, bool descending) {
        std::vector<std::int64_t> v = cand;
        std::stable_sort(v.begin(), v.end(), [&](std::int64_t a, std::int64_t b) {
            return descending ? key[static_cast<std::size_t>(a)] > key[static_cast<std::size_t>(b)]
                              : key[static_cast<std::size_t>(a)] < key[static_cast<std::size_t>(b)];
        });
        return v;
    };
    auto shuffled = [&](std::vector<std::int64_t> v) {
        std::shuffle(v.begin(), v.end(), rng);
        return v;
    };
    auto order = [&](Queue q) -> std::vector<std::int64_t> {
        std::vector<float> key(static_cast<std::size_t>(N), 0.0f);
        int cls = 0;
        if ((q == Queue::Harvest || q == Queue::Teach || q == Queue::Audit) && probs.empty())
            q = Queue::Novel;
        switch (q) {
        case Queue::Harvest:
            for (std::int64_t r : cand) key[static_cast<std::size_t>(r)] = scoreOf(r, &cls);
            return byKey(key, true);
        case Queue::Teach:
            for (std::int64_t r : cand) key[static_cast<std::size_t>(r)] = uncertainty(r);
            return byKey(key, true);
        case Queue::Audit: {
            std::vector<std::int64_t> pos;
            for (std::int64_t r : cand)
                if (scoreOf(r, &cls) >= 0.5f) pos.push_back(r);
            return shuffled(pos.empty() ? cand : pos);
        }
        case Queue::Novel: {
            if (answeredRows.empty()) return shuffled(cand);
            const std::vector<float> set = d->store->gatherFloat(answeredRows);
            const std::vector<float> mx = maxCosineToSet(d->store->halfRows(), N, d->store->dim(), set.data(),
                                                         static_cast<int>(answeredRows.size()));
            return byKey(mx, false);
        }
        case Queue::Random:
        case Queue::Mix:
            break;
        }
        return shuffled(cand);
    };
    std::vector<std::pair<std::int64_t, Queue>> picked;
    if (queue == Queue::Mix) {
        const QList<Queue> pattern = mixPattern();
        std::map<Queue, std::vector<std::int64_t>> lists;
        std::map<Queue, std::size_t> pos;
        QSet<std::int64_t> used;
        for (Queue q : {Queue::Harvest, Queue::Teach, Queue::Novel, Queue::Audit}) lists[q] = order(q);
        for (qsizetype k = 0; static_cast<int>(picked.size()) < n && k < pattern.size() * (static_cast<qsizetype>(cand.size()) + 1); ++k) {
            const Queue q = pattern[k % pattern.size()];
            auto &l = lists[q];
            std::size_t &p = pos[q];
            while (p < l.size() && used.contains(l[p])) ++p;
            if (p < l.size()) {
                used.insert(l[p]);
                picked.emplace_back(l[p++], q);
            }
            if (static_cast<int>(used.size()) >= static_cast<int>(cand.size())) break;
        }
    } else {
        for (std::int64_t r : order(queue)) {
            if (static_cast<int>(picked.size()) >= n) break;
            picked.emplace_back(r, queue);
        }
    }
    for (const auto &[r, q] : picked) {
        Suggestion s;
        s.imageId = ids[static_cast<std::size_t>(r)];
        if (!probs.empty())
            Impl::guess(c, probs.data() + r * C, want, &s);
        else if (c.kind == CategoryKind::ClassSet && !c.classes.isEmpty()) { // no model: the first class it may be, unscored
            const QVector<int> out = notThese.value(s.imageId);
            int k = 0;
            while (k + 1 < C && out.contains(k)) ++k;
            s.classId = c.classes[k].id;
            s.className = c.classes[k].name;
        }
        if (const auto rec = d->lib.image(s.imageId)) s.path = rec->absPath;
        s.queue = q;
        out.push_back(s);
    }
    if (head) d->error = errBefore;
    (void)version;
    return out;
}

QVector<QPair<ImageId, float>> Curator::similar(ImageId image, int n)
{
    QVector<QPair<ImageId, float>> out;
    if (!d->ensureStore()) return out;
    d->error.clear(); // an empty answer is an error only if this call says so
    const EmbeddingStore &st = *d->store;
    const std::int64_t row = st.rowOf(image);
    if (row < 0) {
        d->error = QStringLiteral("image %1 has no embedding (run embed)").arg(image);
        return out;
    }
    std::vector<float> q(static_cast<std::size_t>(st.dim()));
    st.rowFloat(row, q.data());
    const auto &ids = st.ids();
    // Leave out the image itself and rows superseded by a newer embedding.
    const auto accept = [&](std::int64_t r) {
        const ImageId id = ids[static_cast<std::size_t>(r)];
        return id != image && st.rowOf(id) == r;
    };
    for (const Neighbour &nb : d->similarityIndex()->search(Impl::rowsOf(st), q.data(), n, accept))
        out.push_back({ids[static_cast<std::size_t>(nb.row)], nb.cosine});
    return out;
}

QVector<QPair<ImageId, float>> Curator::chain(ImageId from, ImageId to, int between)
{
    QVector<QPair<ImageId, float>> out;
    if (!d->ensureStore()) return out;
    d->error.clear();
    const EmbeddingStore &st = *d->store;
    const std::size_t dim = static_cast<std::size_t>(st.dim());
    const auto unitRow = [&](std::int64_t row, float *v) {
        st.rowFloat(row, v);
        double n = 0;
        for (std::size_t i = 0; i < dim; ++i) n += double(v[i]) * v[i];
        const float inv = n > 0 ? float(1.0 / std::sqrt(n)) : 0.0f;
        for (std::size_t i = 0; i < dim; ++i) v[i] *= inv;
    };
    const std::int64_t rowA = st.rowOf(from), rowB = st.rowOf(to);
    for (const auto &[id, row] : {std::pair{from, rowA}, std::pair{to, rowB}})
        if (row < 0) {
            d->error = QStringLiteral("image %1 has no embedding (run embed)").arg(id);
            return out;
        }
    std::vector<float> a(dim), b(dim);
    unitRow(rowA, a.data());
    unitRow(rowB, b.data());

    // The candidates: the nearest images of points spread along the line
    // between the two embeddings (and of the two ends themselves).
    const auto &ids = st.ids();
    std::vector<std::int64_t> pool{rowA, rowB};
    QSet<std::int64_t> inPool{rowA, rowB};
    const auto accept = [&](std::int64_t r) {
        return !inPool.contains(r) && st.rowOf(ids[static_cast<std::size_t>(r)]) == r; // newest row of its image
    };
    // At most 24 x 64 candidates: their similarities are computed pair by
    // pair (about a second at 1,500), so a chain is at most 64 steps long
    // (the CLI's limit), and a library smaller than the steps gives all it has.
    const int points = 24, perPoint = std::clamp(between + 8, 32, 64);
    std::vector<float> q(dim);
    for (int k = 0; k < points; ++k) {
        const float t = float(k) / float(points - 1);
        for (std::size_t i = 0; i < dim; ++i) q[i] = (1 - t) * a[i] + t * b[i];
        for (const Neighbour &n : d->similarityIndex()->search(Impl::rowsOf(st), q.data(), perPoint, accept))
            if (!inPool.contains(n.row)) {
                inPool.insert(n.row);
                pool.push_back(n.row);
            }
    }
    const std::size_t P = pool.size();
    std::vector<float> unit(P * dim);
    for (std::size_t i = 0; i < P; ++i) unitRow(pool[i], unit.data() + i * dim);
    std::vector<float> sim(P * P, 1.0f);
    for (std::size_t i = 0; i < P; ++i)
        for (std::size_t j = i + 1; j < P; ++j) {
            const float *x = unit.data() + i * dim, *y = unit.data() + j * dim;
            float acc[8] = {}; // eight running sums: vectorised without -ffast-math
            std::size_t k = 0;
            for (; k + 8 <= dim; k += 8)
                for (int l = 0; l < 8; ++l) acc[l] += x[k + l] * y[k + l];
            float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            for (; k < dim; ++k) s += x[k] * y[k];
            sim[i * P + j] = sim[j * P + i] = s;
        }
    const auto S = [&](std::size_t i, std::size_t j) { return sim[i * P + j]; };

    // Up to 64 images between: over the candidates, the walk of exactly
    // between + 1 steps whose weakest step is most alike, then whose steps'
    // similarities have the largest product (dynamic programming by steps).
    // Used unless it visits an image twice.
    const auto better = [](float m1, double s1, float m2, double s2) {
        return m1 > m2 + 1e-6f || (m1 > m2 - 1e-6f && s1 > s2);
    };
    const std::size_t hops = static_cast<std::size_t>(between) + 1;
    if (between <= 64 && P >= hops + 1) {
        std::vector<float> worst(P, -3.0f), nextWorst(P);
        std::vector<double> logSum(P, -1e300), nextSum(P);
        std::vector<std::size_t> back(hops * P, P);
        worst[0] = 2.0f;
        logSum[0] = 0;
        for (std::size_t h = 0; h < hops; ++h) {
            std::fill(nextWorst.begin(), nextWorst.end(), -3.0f);
            std::fill(nextSum.begin(), nextSum.end(), -1e300);
            for (std::size_t u = 0; u < P; ++u) {
                if (worst[u] < -2.5f || (u == 1 && h > 0)) continue; // B only at the end
                for (std::size_t v = 1; v < P; ++v) {
                    if (v == u || ((v == 1) != (h + 1 == hops))) continue;
                    const float m = std::min(worst[u], S(u, v));
                    const double sum = logSum[u] + std::log(std::max(double(S(u, v)), 1e-3));
                    if (better(m, sum, nextWorst[v], nextSum[v])) {
                        nextWorst[v] = m;
                        nextSum[v] = sum;
                        back[h * P + v] = u;
                    }
                }
            }
            worst.swap(nextWorst);
            logSum.swap(nextSum);
        }
        std::vector<std::size_t> walk{1};
        for (std::size_t h = hops; h-- > 0 && walk.back() != P;) walk.push_back(back[h * P + walk.back()]);
        QSet<std::size_t> seen(walk.begin(), walk.end());
        if (walk.back() == 0 && walk.size() == hops + 1 && static_cast<std::size_t>(seen.size()) == walk.size()) {
            std::reverse(walk.begin(), walk.end());
            out.push_back({from, 1.0f});
            for (std::size_t k = 1; k < walk.size(); ++k)
                out.push_back({ids[static_cast<std::size_t>(pool[walk[k]])], S(walk[k - 1], walk[k])});
            return out;
        }
    }

    // Otherwise the widest path from A (0) to B (1): the largest weakest link
    // any path through the candidates can have ...
    std::vector<float> width(P, -2.0f);
    std::vector<char> done(P, 0);
    width[0] = 2.0f;
    for (std::size_t step = 0; step < P; ++step) {
        std::size_t u = P;
        for (std::size_t v = 0; v < P; ++v)
            if (!done[v] && (u == P || width[v] > width[u])) u = v;
        if (u == P || u == 1) break;
        done[u] = 1;
        for (std::size_t v = 0; v < P; ++v)
            if (!done[v]) width[v] = std::max(width[v], std::min(width[u], S(u, v)));
    }
    const float weakest = std::min(width[1], 1.0f);
    // ... then, over links at least that strong, the path whose similarities
    // have the largest product (fewest and closest steps).
    std::vector<double> cost(P, std::numeric_limits<double>::infinity());
    std::vector<std::size_t> prev(P, P);
    std::fill(done.begin(), done.end(), 0);
    cost[0] = 0;
    for (std::size_t step = 0; step < P; ++step) {
        std::size_t u = P;
        for (std::size_t v = 0; v < P; ++v)
            if (!done[v] && std::isfinite(cost[v]) && (u == P || cost[v] < cost[u])) u = v;
        if (u == P || u == 1) break;
        done[u] = 1;
        for (std::size_t v = 0; v < P; ++v) {
            if (done[v] || S(u, v) < weakest - 1e-6f) continue;
            const double c = cost[u] - std::log(std::max(double(S(u, v)), 1e-3));
            if (c < cost[v]) { cost[v] = c; prev[v] = u; }
        }
    }
    std::vector<std::size_t> path;
    for (std::size_t v = 1; v != P; v = prev[v]) {
        path.push_back(v);
        if (v == 0) break;
    }
    if (path.empty() || path.back() != 0) path = {1, 0}; // (cannot happen: A links to B directly)
    std::reverse(path.begin(), path.end());

    // Exactly `between` images between the ends: a long path loses the image
    // whose neighbours are most alike; a short one gains, where it keeps the
    // weakest link strongest, the candidate nearest both sides of a link.
    std::vector<char> onPath(P, 0);
    for (std::size_t v : path) onPath[v] = 1;
    while (path.size() > static_cast<std::size_t>(between) + 2) {
        std::size_t best = 1;
        for (std::size_t k = 2; k + 1 < path.size(); ++k)
            if (S(path[k - 1], path[k + 1]) > S(path[best - 1], path[best + 1])) best = k;
        onPath[path[best]] = 0;
        path.erase(path.begin() + static_cast<std::ptrdiff_t>(best));
    }
    while (path.size() < static_cast<std::size_t>(between) + 2) {
        std::size_t at = 0, pick = P;
        float bestScore = -3.0f;
        for (std::size_t k = 0; k + 1 < path.size(); ++k)
            for (std::size_t w = 0; w < P; ++w) {
                if (onPath[w]) continue;
                // the weakest of the two new links, ahead of the rest of the chain
                const float score = std::min(S(path[k], w), S(w, path[k + 1]));
                if (score > bestScore) { bestScore = score; at = k; pick = w; }
            }
        if (pick == P) break; // fewer images than steps
        onPath[pick] = 1;
        path.insert(path.begin() + static_cast<std::ptrdiff_t>(at) + 1, pick);
    }
    out.push_back({from, 1.0f});
    for (std::size_t k = 1; k < path.size(); ++k)
        out.push_back({ids[static_cast<std::size_t>(pool[path[k]])], S(path[k - 1], path[k])});
    return out;
}

bool Curator::evaluate(const Category &c, const QVector<QPair<ImageId, ClassId>> &truth, EvalReport *r)
{
    if (auto done = d->viaOwnBackbone(c, [&](Curator &x) { return x.evaluate(c, truth, r); })) return *done;
    *r = {};
    QVector<ImageId> ids;
    QVector<float> probs;
    int C = 0;
    qint64 version = 0;
    if (!scores(c, &ids, &probs, &C, &version)) return false;
    QSet<ImageId> answered;
    for (const Answer &a : d->lib.answers(c.id)) answered.insert(a.imageId);
    QHash<ClassId, QPair<int, int>> per; // class -> (correct, total)
    int correct = 0;
    for (const auto &[image, cls] : truth) {
        if (answered.contains(image)) { ++r->skippedAnswered; continue; }
        const std::int64_t row = d->lastStore->rowOf(image);
        if (row < 0) { ++r->unknown; continue; }
        const float *p = probs.constData() + row * C;
        ClassId predicted;
        if (c.kind == CategoryKind::Binary) {
            predicted = p[1] >= 0.5f ? 1 : 0;
        } else {
            const int best = static_cast<int>(std::max_element(p, p + C) - p);
            predicted = c.classes[best].id;
        }
        ++r->evaluated;
        auto &pc = per[cls];
        ++pc.second;
        if (predicted == cls) { ++correct; ++pc.first; }
        if (c.kind == CategoryKind::Binary) {
            r->yesTrue += cls == 1;
            r->yesCalled += predicted == 1;
            r->yesRight += cls == 1 && predicted == 1;
        }
    }
    r->accuracy = r->evaluated ? static_cast<double>(correct) / r->evaluated : 0;
    for (auto it = per.cbegin(); it != per.cend(); ++it)
        if (r->evaluated && double(it.value().second) / r->evaluated > r->baseline) {
            r->baseline = double(it.value().second) / r->evaluated;
            r->baselineClass = c.kind == CategoryKind::Binary ? (it.key() ? QStringLiteral("yes") : QStringLiteral("no"))
                                                               : classNameOf(c, it.key());
        }
    for (auto it = per.cbegin(); it != per.cend(); ++it) {
        const QString name = c.kind == CategoryKind::Binary ? (it.key() ? QStringLiteral("yes") : QStringLiteral("no"))
                                                            : classNameOf(c, it.key());
        r->perClassAccuracy.push_back({name, static_cast<double>(it.value().first) / it.value().second});
    }
    std::sort(r->perClassAccuracy.begin(), r->perClassAccuracy.end());
    return true;
}

} // namespace magpie::training
