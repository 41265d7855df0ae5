// The training service's Curator on a tiny library of generated images: the
// embedding cache follows the files' content, and "more like this" answers
// through the similarity index.
#include "core/embeddingcache.h"
#include "core/importer.h"
#include "core/library.h"
#include "training/head.h"
#include "training/service/curator.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>
#include <QTemporaryDir>
#include <QTest>

#include <QSet>

#include <cmath>
#include <memory>
#include <optional>

using namespace magpie;
using namespace magpie::training;

namespace {
// A 160 x 120 picture: a background and a shape, different for each `kind`.
void paint(const QString &path, int kind)
{
    QImage img(160, 120, QImage::Format_RGB32);
    img.fill(QColor::fromHsv((kind * 67) % 360, 60, 230));
    QPainter p(&img);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor::fromHsv((kind * 131 + 90) % 360, 220, 120));
    if (kind % 2) p.drawEllipse(20 + kind * 7, 15, 90, 90);
    else p.drawRect(30, 10 + kind * 5, 100, 60);
    p.end();
    QVERIFY(img.save(path));
}

std::vector<float> embeddingOf(const Library &lib, ImageId id)
{
    const EmbeddingLookup lookup = openEmbeddingCache(lib.cacheDir());
    if (!lookup) return {};
    return lookup(id).value_or(std::vector<float>());
}

ImageId idOf(const Library &lib, const QString &relPath)
{
    for (const ImageRecord &im : lib.images(ImageStatus::Ok))
        if (im.relPath == relPath) return im.id;
    return 0;
}

// A library in `dir` of `n` painted images img0.png .. img<n-1>.png, all imported; null on failure.
std::unique_ptr<Library> paintedLibrary(const QTemporaryDir &dir, int n)
{
    const QString folder = dir.filePath(QStringLiteral("images"));
    if (!QDir().mkpath(folder)) return nullptr;
    for (int i = 0; i < n; ++i) paint(folder + QStringLiteral("/img%1.png").arg(i), i);
    QString err;
    auto lib = Library::create(dir.filePath(QStringLiteral("t.library")), &err);
    if (!lib || importFolder(*lib, folder).added != n) {
        qWarning("cannot make the test library: %s", qPrintable(err));
        return nullptr;
    }
    return lib;
}

// The class set "shapes" (square, round) with every image answered: even = square, odd = round.
std::optional<Category> answeredShapes(Library &lib, int n)
{
    auto cat = lib.createCategory(QStringLiteral("shapes"), CategoryKind::ClassSet,
                                  {QStringLiteral("square"), QStringLiteral("round")});
    if (!cat) return std::nullopt;
    for (int i = 0; i < n; ++i)
        if (!lib.answer({idOf(lib, QStringLiteral("img%1.png").arg(i)), cat->id, cat->classes[i % 2].id}))
            return std::nullopt;
    return cat;
}
// A library of n painted images, the first `answered` of them answered in
// "shapes" (answeredShapes), embedded with the default backbone; the cache
// stays for the test's own Curator.
std::unique_ptr<Library> embeddedShapes(QTemporaryDir &dir, int n, int answered, std::optional<Category> *cat)
{
    auto lib = paintedLibrary(dir, n);
    if (!lib || !(*cat = answeredShapes(*lib, answered))) return nullptr;
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    EmbedReport r;
    if (!cur.embed(&r)) {
        qWarning("cannot embed the test library: %s", qPrintable(cur.lastError()));
        return nullptr;
    }
    return lib;
}
} // namespace

class TestCurator : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void changedFileGetsANewEmbedding();
    void priorHeadBesideTheBackbone();
    void deepPassWithNewBlocksScoresTheLibrary();
    void themeHeadTakesUnansweredImagesWhenAsked();
    void embedsInPartsAnsweredFirst();
    void onlyNoAnswersMakeNoConfidentYes();
    void deepPassThatValidatesWorseKeepsTheModel();
    void chainLeadsFromOneImageToTheOther();
    void overlappedDecodingEmbedsTheSame();
    void evaluationSaysWhatAlwaysNoWouldScore();
    void categoryOnItsOwnBackbone();
    void trainingWithNothingNewKeepsTheModel();
    void notThisClassAsksAgainWithAnotherGuess();
};

void TestCurator::chainLeadsFromOneImageToTheOther()
{
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 12);
    QVERIFY(lib);
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    EmbedReport r;
    QVERIFY2(cur.embed(&r), qPrintable(cur.lastError()));
    const ImageId a = idOf(*lib, QStringLiteral("img0.png")), b = idOf(*lib, QStringLiteral("img1.png"));
    const auto chain = cur.chain(a, b, 4);
    QCOMPARE(chain.size(), 6);
    QCOMPARE(chain.first().first, a);
    QCOMPARE(chain.last().first, b);
    QSet<ImageId> seen;
    for (const auto &[id, cosine] : chain) {
        QVERIFY(!seen.contains(id)); // no image twice
        seen.insert(id);
        QVERIFY(cosine <= 1.0001f && cosine >= -1.0001f);
    }
    // it drifts from one end to the other: the first step is nearer the start
    // than the last step is, and the last nearer the end than the first
    const auto cos = [&](ImageId x, ImageId y) {
        const std::vector<float> u = embeddingOf(*lib, x), v = embeddingOf(*lib, y);
        double s = 0, nu = 0, nv = 0;
        for (size_t i = 0; i < u.size(); ++i) s += double(u[i]) * v[i], nu += double(u[i]) * u[i], nv += double(v[i]) * v[i];
        return s / std::sqrt(nu * nv);
    };
    const ImageId first = chain[1].first, last = chain[4].first;
    QVERIFY2(cos(a, first) - cos(a, last) + cos(b, last) - cos(b, first) > 0,
             qPrintable(QStringLiteral("%1 %2 %3 %4").arg(cos(a, first)).arg(cos(a, last)).arg(cos(b, last)).arg(cos(b, first))));
    QCOMPARE(chain[1].second, float(cos(a, first))); // each carries its cosine to the one before
    // One image between: the one whose weaker link to the two ends is strongest
    // (the chain takes the path whose weakest step is most alike).
    const QVector<ImageRecord> all = lib->images(ImageStatus::Ok);
    for (int k = 0; k + 1 < 6; ++k) {
        const ImageId x = all[k].id, y = all[11 - k].id;
        double best = -2;
        for (const ImageRecord &w : all)
            if (w.id != x && w.id != y) best = std::max(best, std::min(cos(x, w.id), cos(w.id, y)));
        const auto one = cur.chain(x, y, 1);
        QCOMPARE(one.size(), 3);
        QVERIFY2(std::min(one[1].second, one[2].second) >= best - 1e-4,
                 qPrintable(QStringLiteral("%1 vs %2").arg(std::min(one[1].second, one[2].second)).arg(best)));
    }
    // more steps than images: every other image once, then the end
    QCOMPARE(cur.chain(a, b, 100).size(), 12);
    // an image without an embedding: no chain, and a reason
    QVERIFY(cur.chain(a, 999999, 3).isEmpty());
    QVERIFY(!cur.lastError().isEmpty());
}

void TestCurator::overlappedDecodingEmbedsTheSame()
{
    // On a GPU the next batch is decoded while the network runs on this one.
    // Forced on here (MAGPIE_EMBED_OVERLAP=1), with a cancel between batches
    // and a file that has vanished: the same rows as decoding in turn.
    QTemporaryDir serialDir, overlapDir;
    auto serial = paintedLibrary(serialDir, 9);
    auto overlapped = paintedLibrary(overlapDir, 9);
    QVERIFY(serial && overlapped);
    for (auto *lib : {serial.get(), overlapped.get()}) { // no file, no thumbnail: it cannot be decoded
        const ImageId gone = idOf(*lib, QStringLiteral("img4.png"));
        const auto rec = lib->image(gone);
        QVERIFY(rec);
        QVERIFY(QFile::remove(rec->absPath));
        QFile::remove(lib->thumbnailPath(rec->hash));
    }
    EmbedReport r;
    qputenv("MAGPIE_EMBED_OVERLAP", "0");
    {
        Curator cur(*serial, QStringLiteral(MAGPIE_BACKBONE_FILE));
        QVERIFY2(cur.embed(&r, {}, nullptr, 2), qPrintable(cur.lastError()));
        QCOMPARE(r.embedded, qint64(8));
        QCOMPARE(r.failed, qint64(1));
    }
    qputenv("MAGPIE_EMBED_OVERLAP", "1");
    {
        Curator cur(*overlapped, QStringLiteral(MAGPIE_BACKBONE_FILE));
        std::atomic<bool> stop{false};
        QVector<qint64> progress;
        QVERIFY2(cur.embed(&r, [&](qint64 done, qint64) { progress << done; if (done >= 4) stop = true; }, &stop, 2),
                 qPrintable(cur.lastError()));
        QVERIFY(r.cancelled);
        QCOMPARE(progress, (QVector<qint64>{0, 2, 4})); // where it starts, then each batch
        const qint64 first = r.embedded, firstFailed = r.failed; // 4 and 0, or 3 and 1 if the vanished file came first (import order varies)
        QCOMPARE(first + firstFailed, qint64(4));
        stop = false;
        QVERIFY2(cur.embed(&r, {}, &stop, 2), qPrintable(cur.lastError()));
        QVERIFY(!r.cancelled);
        QCOMPARE(first + r.embedded, qint64(8));
        QCOMPARE(firstFailed + r.failed, qint64(1));
    }
    qunsetenv("MAGPIE_EMBED_OVERLAP");
    for (int i = 0; i < 9; ++i) {
        const QString name = QStringLiteral("img%1.png").arg(i);
        const std::vector<float> a = embeddingOf(*serial, idOf(*serial, name));
        const std::vector<float> b = embeddingOf(*overlapped, idOf(*overlapped, name));
        QCOMPARE(a.empty(), i == 4);
        QCOMPARE(a.size(), b.size());
        float diff = 0, largest = 0;
        for (size_t k = 0; k < a.size(); ++k) {
            diff = std::max(diff, std::abs(a[k] - b[k]));
            largest = std::max(largest, std::abs(a[k]));
        }
        // The same up to the last bit of float16: the CPU network itself is not
        // bit-reproducible run to run (oneDNN), and a wrong image is off by ~1.
        QVERIFY2(diff <= 1e-3f * largest, qPrintable(name + QStringLiteral(": ") + QString::number(diff)));
    }
}

void TestCurator::evaluationSaysWhatAlwaysNoWouldScore()
{
    // A theme answered on 8 images, evaluated on the other 12 (3 of them yes):
    // accuracy comes with the majority baseline and the yes precision/recall counts.
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 20);
    QVERIFY(lib);
    auto theme = lib->createCategory(QStringLiteral("round"), CategoryKind::Binary);
    QVERIFY(theme);
    QVector<QPair<ImageId, ClassId>> truth;
    for (int i = 0; i < 20; ++i) {
        const ImageId id = idOf(*lib, QStringLiteral("img%1.png").arg(i));
        const bool yes = i % 2 == 1 && (i < 8 || i % 4 == 1); // 1 3 5 7 answered; 9 13 17 evaluated
        if (i < 8) QVERIFY(lib->answer({id, theme->id, 0, yes ? AnswerValue::Yes : AnswerValue::No}));
        truth.push_back({id, yes ? 1 : 0});
    }
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    EmbedReport er;
    QVERIFY2(cur.embed(&er), qPrintable(cur.lastError()));
    TrainReport tr;
    QVERIFY2(cur.train(*theme, TrainOptions(), &tr), qPrintable(cur.lastError()));
    EvalReport r;
    QVERIFY2(cur.evaluate(*theme, truth, &r), qPrintable(cur.lastError()));
    QCOMPARE(r.skippedAnswered, 8);
    QCOMPARE(r.evaluated, 12);
    QCOMPARE(r.baselineClass, QStringLiteral("no"));
    QCOMPARE(r.baseline, 9.0 / 12.0);
    QCOMPARE(r.yesTrue, 3);
    QVERIFY(r.yesRight <= r.yesCalled && r.yesRight <= r.yesTrue);
    // accuracy agrees with the counts: right yes + right no
    const int rightNo = (12 - r.yesTrue) - (r.yesCalled - r.yesRight);
    QCOMPARE(r.accuracy, double(r.yesRight + rightNo) / 12.0);
}

void TestCurator::onlyNoAnswersMakeNoConfidentYes()
{
    // A rare theme: the first answers are all "no". The head can still order
    // the archive (away from the "no"s), but nothing held out says how often
    // it is right, so it must not call anything "yes, 100 %".
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 7);
    QVERIFY(lib);
    auto theme = lib->createCategory(QStringLiteral("rare"), CategoryKind::Binary);
    QVERIFY(theme);
    for (int i = 0; i < 3; ++i)
        QVERIFY(lib->answer({idOf(*lib, QStringLiteral("img%1.png").arg(i)), theme->id, 0, AnswerValue::No}));
    Curator cur(*lib);
    EmbedReport er;
    QVERIFY2(cur.embed(&er), qPrintable(cur.lastError()));
    TrainReport tr;
    QVERIFY2(cur.train(*theme, {}, &tr), qPrintable(cur.lastError()));
    QVector<ImageId> ids;
    QVector<float> probs;
    int classes = 0;
    qint64 version = 0;
    QVERIFY(cur.scores(*theme, &ids, &probs, &classes, &version));
    QCOMPARE(classes, 2);
    for (qsizetype i = 0; i < ids.size(); ++i) {
        QVERIFY2(probs[2 * i + 1] <= 0.9001f, qPrintable(QString::number(probs[2 * i + 1])));
        QVERIFY2(probs[2 * i] <= 0.9001f, qPrintable(QString::number(probs[2 * i])));
    }
    const QJsonObject m = QJsonDocument::fromJson(tr.metricsJson.toUtf8()).object();
    QVERIFY(m.contains(QStringLiteral("temperature_note"))); // and the model says why
}

void TestCurator::embedsInPartsAnsweredFirst()
{
    // A long archive is embedded in parts (the GUI lets a retrain run between
    // them); the images the person answered come first, whatever their order.
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 7);
    QVERIFY(lib);
    auto theme = lib->createCategory(QStringLiteral("late"), CategoryKind::Binary);
    QVERIFY(theme);
    const ImageId last = idOf(*lib, QStringLiteral("img6.png")), fifth = idOf(*lib, QStringLiteral("img5.png"));
    QVERIFY(lib->answer({last, theme->id, 0, AnswerValue::Yes}));
    QVERIFY(lib->answer({fifth, theme->id, 0, AnswerValue::No}));
    QCOMPARE(lib->answeredImageIds().size(), 2);
    Curator cur(*lib);
    EmbedReport r;
    QVector<qint64> progress;
    QVERIFY2(cur.embed(&r, [&](qint64 done, qint64 total) { QCOMPARE(total, qint64(7)); progress << done; }, nullptr, 1, 2),
             qPrintable(cur.lastError()));
    QCOMPARE(r.embedded, qint64(2));
    QCOMPARE(r.remaining, qint64(5));
    QVERIFY(!embeddingOf(*lib, last).empty()); // answered: in the first part
    QVERIFY(!embeddingOf(*lib, fifth).empty());
    QVERIFY(embeddingOf(*lib, idOf(*lib, QStringLiteral("img0.png"))).empty());
    QCOMPARE(progress, (QVector<qint64>{0, 1, 2}));
    const std::atomic<bool> stop{true}; // a part cancelled before it starts loses nothing
    QVERIFY(cur.embed(&r, {}, &stop, 1, 3));
    QVERIFY(r.cancelled);
    QCOMPARE(r.embedded, qint64(0));
    QVERIFY(cur.embed(&r, [&](qint64 done, qint64) { progress << done; }, nullptr, 1, 3));
    QCOMPARE(r.cached, qint64(2));
    QCOMPARE(r.remaining, qint64(2));
    QCOMPARE(progress.last(), qint64(5)); // counted over the whole library
    QVERIFY(cur.embed(&r));
    QCOMPARE(r.embedded, qint64(2));
    QCOMPARE(r.remaining, qint64(0));
    QCOMPARE(r.cached, qint64(5));
}

void TestCurator::changedFileGetsANewEmbedding()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("images"));
    auto lib = paintedLibrary(dir, 4);
    QVERIFY(lib);
    QString err;
    const ImageId changed = idOf(*lib, QStringLiteral("img1.png"));
    const ImageId same = idOf(*lib, QStringLiteral("img2.png"));
    QVERIFY(changed && same);

    EmbedReport r;
    {
        Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
        QVERIFY2(cur.embed(&r), qPrintable(cur.lastError()));
        QCOMPARE(r.embedded, qint64(4));
        // more like this: the three other images, best first, never the image itself
        const auto near = cur.similar(changed, 10);
        QCOMPARE(near.size(), 3);
        for (const auto &[id, cosine] : near) QVERIFY(id != changed);
        QVERIFY(near[0].second >= near[1].second);
    }
    const std::vector<float> before = embeddingOf(*lib, changed);
    const std::vector<float> sameBefore = embeddingOf(*lib, same);
    QVERIFY(!before.empty());

    // The file changes in place (another picture, same path) and is imported again.
    const QString file = folder + QStringLiteral("/img1.png");
    paint(file, 7);
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.setFileTime(QFileInfo(file).lastModified().addSecs(10), QFileDevice::FileModificationTime));
    f.close();
    QCOMPARE(importFolder(*lib, folder).updated, qint64(1));
    QCOMPARE(idOf(*lib, QStringLiteral("img1.png")), changed); // same image, new content

    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    QVERIFY2(cur.embed(&r), qPrintable(cur.lastError()));
    QCOMPARE(r.embedded, qint64(1)); // only the changed file
    QCOMPARE(r.cached, qint64(3));
    const std::vector<float> after = embeddingOf(*lib, changed);
    QCOMPARE(after.size(), before.size());
    float diff = 0;
    for (size_t i = 0; i < after.size(); ++i) diff = std::max(diff, std::abs(after[i] - before[i]));
    QVERIFY2(diff > 1e-2f, qPrintable(QString::number(diff)));
    QCOMPARE(embeddingOf(*lib, same), sameBefore);
    // The superseded row is never an answer: still three distinct other images.
    const auto near = cur.similar(same, 10);
    QCOMPARE(near.size(), 3);
    QVERIFY(cur.embed(&r));
    QCOMPARE(r.embedded, qint64(0));

    // A cache from before content keys (no .key file) is adopted, not re-embedded.
    const QStringList keys = QDir(lib->cacheDir()).entryList({QStringLiteral("embeddings-*.key")});
    QCOMPARE(keys.size(), 1);
    QVERIFY(QFile::remove(lib->cacheDir() + QLatin1Char('/') + keys.first()));
    Curator legacy(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    QVERIFY(legacy.embed(&r));
    QCOMPARE(r.embedded, qint64(0));
    QCOMPARE(r.cached, qint64(4));
    QVERIFY(QFile::exists(lib->cacheDir() + QLatin1Char('/') + keys.first()));
}

void TestCurator::priorHeadBesideTheBackbone()
{
    // A class set whose classes the backbone's prior head knows is blended with
    // it (<file>.prior + <file>.prior.txt beside the backbone); a prior made for
    // another backbone version, or for other classes, is not used.
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 6);
    QVERIFY(lib);
    const QString bb = dir.filePath(QStringLiteral("bb.mbb"));
    QVERIFY(QFile::copy(QStringLiteral(MAGPIE_BACKBONE_FILE), bb));
    const auto cat = answeredShapes(*lib, 6);
    QVERIFY(cat);
    QString version;
    {
        Curator cur(*lib, bb);
        EmbedReport r;
        QVERIFY2(cur.embed(&r), qPrintable(cur.lastError()));
        version = cur.backboneVersion();
    }
    // The prior: a head over the same embeddings, its rows in another order and
    // with a class the set does not have.
    const EmbeddingLookup lookup = openEmbeddingCache(lib->cacheDir());
    QVERIFY(lookup);
    std::vector<float> x;
    std::vector<Example> ex;
    int dim = 0;
    for (int i = 0; i < 6; ++i) {
        const auto e = lookup(idOf(*lib, QStringLiteral("img%1.png").arg(i)));
        QVERIFY(e);
        dim = static_cast<int>(e->size());
        x.insert(x.end(), e->begin(), e->end());
        ex.push_back({i, i % 2 ? 0 : 2, true}); // row 0 = round, row 2 = square
    }
    HeadConfig pc;
    pc.numClasses = 3;
    std::string e;
    auto prior = Head::train(x.data(), 6, dim, ex, pc, &e);
    QVERIFY2(prior, e.c_str());
    QVERIFY(prior->save(dir.filePath(QStringLiteral("bb.prior")).toStdString(), &e));
    auto writeMeta = [&](const QString &v, const QString &classes) {
        QFile m(dir.filePath(QStringLiteral("bb.prior.txt")));
        QVERIFY(m.open(QIODevice::WriteOnly | QIODevice::Truncate));
        m.write(QStringLiteral("# test prior\nbackbone %1\nclasses %2\n").arg(v, classes).toUtf8());
    };
    auto usedPrior = [&](double weight) -> QString {
        Curator cur(*lib, bb);
        TrainOptions o;
        o.priorWeight = weight;
        TrainReport r;
        if (!cur.train(*cat, o, &r)) return QStringLiteral("failed: ") + cur.lastError();
        const QJsonObject m = QJsonDocument::fromJson(r.metricsJson.toUtf8()).object();
        return m.contains(QStringLiteral("prior")) ? m.value(QStringLiteral("prior")).toObject().value(QStringLiteral("file")).toString()
                                                  : QString();
    };
    // Before any answer and training, a class set the prior knows is scored by
    // the prior alone (model version 0); without a prior there is no model.
    const auto fresh = lib->createCategory(QStringLiteral("fresh"), CategoryKind::ClassSet,
                                           {QStringLiteral("square"), QStringLiteral("round")});
    QVERIFY(fresh);
    auto coldScores = [&](QVector<float> *probs) {
        Curator cur(*lib, bb);
        QVector<ImageId> ids;
        int classes = 0;
        qint64 v = -1;
        const bool ok = cur.scores(*fresh, &ids, probs, &classes, &v);
        return ok && classes == 2 && v == 0 && ids.size() == 6;
    };
    // The automatic weight: the prior counts as 20 answers per class (3 yes-answers
    // per class here: 20 / 23), recorded in the model's metrics.
    auto metricsWith = [&](double weight) {
        Curator cur(*lib, bb);
        TrainOptions o;
        o.priorWeight = weight;
        TrainReport r;
        if (!cur.train(*cat, o, &r)) return QJsonObject();
        return QJsonDocument::fromJson(r.metricsJson.toUtf8()).object().value(QStringLiteral("prior")).toObject();
    };
    QVector<float> cold;
    QVERIFY(!coldScores(&cold));
    QVERIFY(Curator(*lib, bb).scoreImages(*fresh, {idOf(*lib, QStringLiteral("img1.png"))}).isEmpty()); // no model: no guess
    QCOMPARE(usedPrior(0.5), QString()); // no prior file yet
    writeMeta(version, QStringLiteral("Round other Square"));
    {
        QCOMPARE(TrainOptions().priorWeight, -1.0); // automatic by default
        const QJsonObject autoPrior = metricsWith(-1);
        QVERIFY(autoPrior.value(QStringLiteral("automatic")).toBool());
        QVERIFY(std::abs(autoPrior.value(QStringLiteral("weight")).toDouble() - 20.0 / 23.0) < 1e-6);
        const QJsonObject fixed = metricsWith(0.3);
        QVERIFY(!fixed.value(QStringLiteral("automatic")).toBool(true));
        QVERIFY(std::abs(fixed.value(QStringLiteral("weight")).toDouble() - 0.3) < 1e-6);
    }
    QVERIFY(coldScores(&cold));
    QCOMPARE(cold.size(), 12);
    // The prior learnt odd images = round (its row 0), even = square (row 2):
    // the fresh set's "round" (class 1) must win on the odd ones.
    {
        Curator cur(*lib, bb);
        QVector<ImageId> ids;
        QVector<float> probs;
        int classes = 0;
        qint64 v = -1;
        QVERIFY(cur.scores(*fresh, &ids, &probs, &classes, &v));
        for (int i = 0; i < 6; ++i) {
            const int r = ids.indexOf(idOf(*lib, QStringLiteral("img%1.png").arg(i)));
            QVERIFY(r >= 0);
            QCOMPARE(probs[r * 2 + 1] > probs[r * 2], i % 2 == 1);
        }
        // The guess for a few images (the GUI's first card, picked before any
        // score): the same model, the winning class by name.
        const ImageId odd = idOf(*lib, QStringLiteral("img1.png")), even = idOf(*lib, QStringLiteral("img2.png"));
        const QVector<Suggestion> guesses = cur.scoreImages(*fresh, {odd, even, ImageId(987654)});
        QCOMPARE(guesses.size(), 2); // an unknown id is left out
        for (const Suggestion &g : guesses) {
            QVERIFY(g.scored);
            QCOMPARE(g.className, g.imageId == odd ? QStringLiteral("round") : QStringLiteral("square"));
            const int r = ids.indexOf(g.imageId);
            QCOMPARE(g.score, std::max(probs[r * 2], probs[r * 2 + 1]));
            // the runner-up: the other class, when it is at least 5 % likely
            const float other = std::min(probs[r * 2], probs[r * 2 + 1]);
            QCOMPARE(g.runnersUp.size(), other >= Suggestion::kRunnerUpMin ? 1 : 0);
            if (!g.runnersUp.isEmpty()) {
                QCOMPARE(g.runnersUp[0].first, g.imageId == odd ? QStringLiteral("square") : QStringLiteral("round"));
                QCOMPARE(g.runnersUp[0].second, other);
            }
        }
    }
    QCOMPARE(usedPrior(0.5), dir.filePath(QStringLiteral("bb.prior")));
    QCOMPARE(usedPrior(0.0), QString()); // weight 0: answers only
    writeMeta(version + QStringLiteral("x"), QStringLiteral("round other square"));
    QCOMPARE(usedPrior(0.5), QString()); // made for another backbone
    writeMeta(version, QStringLiteral("round other triangle"));
    QCOMPARE(usedPrior(0.5), QString()); // does not know "square"
    // With three classes and a less certain prior (softened): the runners-up
    // are the others that reach 5 %, the likelier first, never the guess itself.
    writeMeta(version, QStringLiteral("round other square"));
    prior->soften(8);
    QVERIFY(prior->save(dir.filePath(QStringLiteral("bb.prior")).toStdString(), &e));
    {
        const auto trio = lib->createCategory(QStringLiteral("trio"), CategoryKind::ClassSet,
                                              {QStringLiteral("square"), QStringLiteral("round"), QStringLiteral("other")});
        QVERIFY(trio);
        Curator cur(*lib, bb);
        QVector<ImageId> ids;
        QVector<float> probs;
        int classes = 0;
        qint64 v = -1;
        QVERIFY(cur.scores(*trio, &ids, &probs, &classes, &v));
        QCOMPARE(classes, 3);
        const QStringList names{QStringLiteral("square"), QStringLiteral("round"), QStringLiteral("other")};
        int withRunnersUp = 0;
        const QVector<Suggestion> all = cur.suggest(*trio, Queue::Harvest, 6);
        QCOMPARE(all.size(), 6);
        for (const Suggestion &g : all) {
            const int r = ids.indexOf(g.imageId);
            QVERIFY(r >= 0);
            std::vector<std::pair<float, QString>> rest;
            for (int k = 0; k < 3; ++k)
                if (names[k] != g.className && probs[r * 3 + k] >= Suggestion::kRunnerUpMin)
                    rest.emplace_back(probs[r * 3 + k], names[k]);
            std::sort(rest.rbegin(), rest.rend());
            QCOMPARE(g.runnersUp.size(), int(rest.size()));
            for (int k = 0; k < g.runnersUp.size(); ++k) {
                QCOMPARE(g.runnersUp[k].first, rest[k].second);
                QCOMPARE(g.runnersUp[k].second, rest[k].first);
                QVERIFY(g.runnersUp[k].second <= g.score);
            }
            withRunnersUp += !g.runnersUp.isEmpty();
        }
        QVERIFY(withRunnersUp > 0); // a softened prior is not sure of everything
    }
}


void TestCurator::deepPassWithNewBlocksScoresTheLibrary()
{
    // A deep pass through the Curator, adding a new block: a new model version
    // on a new backbone file, its settings in the metrics, the library
    // re-embedded with it and scored by it.
    QTemporaryDir dir;
    std::optional<Category> cat;
    auto lib = embeddedShapes(dir, 6, 6, &cat);
    QVERIFY(lib && cat);
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    const QString baseVersion = cur.backboneVersion();
    TrainOptions o;
    o.deep = true;
    o.epochs = 1;
    o.newBlocks = 1;
    o.validate = false;
    o.priorWeight = 0;
    TrainReport r;
    qint64 lastDone = 0;
    QVERIFY2(cur.train(*cat, o, &r, nullptr, [&](qint64 done, qint64) { lastDone = done; }), qPrintable(cur.lastError()));
    QVERIFY(lastDone > 0);
    QVERIFY(r.modelVersion > 0);
    QCOMPARE(r.examples, 6);
    const QJsonObject m = QJsonDocument::fromJson(r.metricsJson.toUtf8()).object();
    QCOMPARE(m.value(QStringLiteral("mode")).toString(), QStringLiteral("deep"));
    const QJsonObject deep = m.value(QStringLiteral("deep")).toObject();
    QCOMPARE(deep.value(QStringLiteral("new_blocks")).toInt(), 1);
    QCOMPARE(deep.value(QStringLiteral("tune_from_block")).toInt(), 9);
    QCOMPARE(deep.value(QStringLiteral("images")).toInt(), 6);
    const QString tuned = m.value(QStringLiteral("backbone_file")).toString();
    QVERIFY2(QFileInfo::exists(tuned), qPrintable(tuned));
    const auto versions = lib->modelVersions(cat->id);
    QVERIFY(!versions.isEmpty());
    QVERIFY(versions.last().backbone != baseVersion); // scored on the tuned network's features
    QVector<ImageId> ids;
    QVector<float> probs;
    int classes = 0;
    qint64 version = 0;
    QVERIFY2(cur.scores(*cat, &ids, &probs, &classes, &version), qPrintable(cur.lastError()));
    QCOMPARE(version, r.modelVersion);
    QCOMPARE(classes, 2);
    QCOMPARE(ids.size(), 6);
    for (int i = 0; i < ids.size(); ++i)
        QVERIFY(std::abs(probs[2 * i] + probs[2 * i + 1] - 1.0f) < 1e-4f);
}

void TestCurator::themeHeadTakesUnansweredImagesWhenAsked()
{
    // A binary theme with 4 of 10 images answered: by default the head learns
    // from the answers alone; with TrainOptions::unlabeledWeight the 6 images
    // nobody answered join as weak "no" examples (recorded in the metrics),
    // which lowers their "yes" scores, and the answers stay in the theme.
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 10);
    QVERIFY(lib);
    auto cat = lib->createCategory(QStringLiteral("round things"), CategoryKind::Binary, {});
    QVERIFY(cat);
    for (int i = 0; i < 4; ++i)
        QVERIFY(lib->answer({idOf(*lib, QStringLiteral("img%1.png").arg(i)), cat->id, 0,
                             i % 2 ? AnswerValue::Yes : AnswerValue::No}));
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    EmbedReport er;
    QVERIFY2(cur.embed(&er), qPrintable(cur.lastError()));
    auto meanYesOfUnanswered = [&](qint64 expectVersion) {
        QVector<ImageId> ids;
        QVector<float> probs;
        int classes = 0;
        qint64 version = 0;
        if (!cur.scores(*cat, &ids, &probs, &classes, &version) || version != expectVersion || classes != 2) return -1.0;
        double sum = 0;
        for (int i = 4; i < 10; ++i) sum += probs[2 * ids.indexOf(idOf(*lib, QStringLiteral("img%1.png").arg(i))) + 1];
        return sum / 6;
    };
    TrainOptions o;
    o.validate = false;
    TrainReport plain, sampled;
    QVERIFY2(cur.train(*cat, o, &plain), qPrintable(cur.lastError()));
    QVERIFY(!QJsonDocument::fromJson(plain.metricsJson.toUtf8()).object().contains(QStringLiteral("unlabeled")));
    const double before = meanYesOfUnanswered(plain.modelVersion);
    QVERIFY(before >= 0);
    o.unlabeledWeight = 2;
    QVERIFY2(cur.train(*cat, o, &sampled), qPrintable(cur.lastError()));
    QCOMPARE(sampled.examples, 4); // answers; the sample is not counted as answers
    const QJsonObject u = QJsonDocument::fromJson(sampled.metricsJson.toUtf8()).object().value(QStringLiteral("unlabeled")).toObject();
    QCOMPARE(u.value(QStringLiteral("images")).toInt(), 6);
    QCOMPARE(u.value(QStringLiteral("weight")).toDouble(), 2.0);
    const double after = meanYesOfUnanswered(sampled.modelVersion);
    QVERIFY2(after >= 0 && after < before, qPrintable(QStringLiteral("%1 -> %2").arg(before).arg(after)));
    // The answered "yes" images are still called yes.
    QVector<ImageId> ids;
    QVector<float> probs;
    int classes = 0;
    QVERIFY(cur.scores(*cat, &ids, &probs, &classes, nullptr));
    for (int i : {1, 3}) QVERIFY(probs[2 * ids.indexOf(idOf(*lib, QStringLiteral("img%1.png").arg(i))) + 1] > 0.5f);
}

void TestCurator::deepPassThatValidatesWorseKeepsTheModel()
{
    // The second review's case: a letters class set with 47 answers, a fast
    // head blended with the prior, then a deep pass that overfits the few
    // answers and validates far worse. The earlier model stays in use.
    QTemporaryDir dir;
    QString err;
    auto lib = Library::create(dir.filePath(QStringLiteral("l.library")), &err);
    QVERIFY2(lib, qPrintable(err));
    const QString sample = QStringLiteral(MAGPIE_SAMPLE_DIR "/initials");
    QVERIFY(importFolder(*lib, sample).added > 0);
    QStringList names;
    for (char ch = 'A'; ch <= 'Z'; ++ch) names << QString(QLatin1Char(ch));
    names << QStringLiteral("none");
    const auto cat = lib->createCategory(QStringLiteral("letters"), CategoryKind::ClassSet, names);
    QVERIFY(cat);
    QFile labels(sample + QStringLiteral("/labels.csv"));
    QVERIFY(labels.open(QIODevice::ReadOnly | QIODevice::Text));
    labels.readLine(); // file,label,source
    int answered = 0;
    while (!labels.atEnd() && answered < 47) {
        const QStringList f = QString::fromUtf8(labels.readLine()).trimmed().split(QLatin1Char(','));
        const ImageId id = idOf(*lib, f.value(0));
        for (const ClassInfo &ci : cat->classes)
            if (id && ci.name == f.value(1) && lib->answer({id, cat->id, ci.id, AnswerValue::Yes})) ++answered;
    }
    QCOMPARE(answered, 47);
    Curator cur(*lib, QStringLiteral(MAGPIE_LETTERS_BACKBONE_FILE));
    EmbedReport er;
    QVERIFY2(cur.embed(&er), qPrintable(cur.lastError()));
    TrainReport fast;
    QVERIFY2(cur.train(*cat, TrainOptions{}, &fast), qPrintable(cur.lastError()));
    const double before = QJsonDocument::fromJson(fast.metricsJson.toUtf8()).object().value(QStringLiteral("accuracy")).toDouble();
    QVERIFY(before > 0.5);
    TrainOptions deep;
    deep.deep = true;
    deep.epochs = 6;
    TrainReport r;
    QVERIFY(!cur.train(*cat, deep, &r));
    QVERIFY2(cur.lastError().contains(QStringLiteral("stays")), qPrintable(cur.lastError()));
    const auto versions = lib->modelVersions(cat->id);
    QCOMPARE(versions.size(), 1);
    QCOMPARE(versions.last().id, fast.modelVersion);
    // Its backbone file stays (the message names it); the embeddings made for
    // it are gone: only the library's own backbone has a cache.
    QVERIFY2(cur.lastError().contains(QStringLiteral(".mbb")), qPrintable(cur.lastError()));
    QCOMPARE(QDir(lib->cacheDir() + QStringLiteral("/models")).entryList({QStringLiteral("*.mbb")}, QDir::Files).size(), 1);
    const QStringList caches = QDir(lib->cacheDir()).entryList({QStringLiteral("embeddings-*")}, QDir::Files);
    QVERIFY2(!caches.isEmpty(), qPrintable(caches.join(QLatin1Char(' '))));
    for (const QString &f : caches)
        QVERIFY2(f.contains(cur.backboneVersion()), qPrintable(caches.join(QLatin1Char(' '))));
}


void TestCurator::categoryOnItsOwnBackbone()
{
    // A letters class set in a library on the general backbone trains and
    // scores on the letters backbone (whose prior head knows A-Z + none), embed
    // embeds with both, and core's readers (maps, layouts) keep the library's cache.
    if (Curator::resolveBackbone(QStringLiteral("letters")).isEmpty()) QSKIP("the letters backbone is not installed");
    if (!qEnvironmentVariableIsEmpty("MAGPIE_BACKBONE")) QSKIP("$MAGPIE_BACKBONE gives every category one backbone");
    QTemporaryDir dir;
    auto lib = paintedLibrary(dir, 10);
    QVERIFY(lib);
    QStringList letters;
    for (char ch = 'A'; ch <= 'Z'; ++ch) letters << QString(QLatin1Char(ch));
    letters << QStringLiteral("none");
    QCOMPARE(Curator::suggestedBackbone(CategoryKind::ClassSet, letters), QStringLiteral("letters"));
    QVERIFY(Curator::suggestedBackbone(CategoryKind::ClassSet, {QStringLiteral("square"), QStringLiteral("round")}).isEmpty());
    QVERIFY(Curator::suggestedBackbone(CategoryKind::Binary, {}).isEmpty());
    const auto initials = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet, letters);
    const auto theme = lib->createCategory(QStringLiteral("round"), CategoryKind::Binary);
    QVERIFY(initials && theme);
    QCOMPARE(Curator::adoptSuggestedBackbone(*lib, *initials), QStringLiteral("letters"));
    QVERIFY(Curator::adoptSuggestedBackbone(*lib, *theme).isEmpty());
    bool own = false;
    QCOMPARE(Curator::categoryBackbone(*lib, initials->id, &own), QStringLiteral("letters"));
    QVERIFY(own);
    QCOMPARE(Curator::categoryBackbone(*lib, theme->id, &own), QStringLiteral("general"));
    QVERIFY(!own);
    for (int i = 0; i < 8; ++i) {
        const ImageId id = idOf(*lib, QStringLiteral("img%1.png").arg(i));
        QVERIFY(lib->answer({id, initials->id, initials->classes[i % 2].id}));
        QVERIFY(lib->answer({id, theme->id, 0, i % 2 ? AnswerValue::Yes : AnswerValue::No}));
    }

    Curator cur(*lib);
    // In parts of 4 (as the GUI embeds): each backbone gets its share of every
    // part, answered images first, so the letters set's answers do not wait for
    // the whole archive on the general backbone.
    // The progress sums both backbones and never goes back from part to part.
    EmbedReport er;
    QVector<QPair<qint64, qint64>> seen;
    const auto note = [&](qint64 done, qint64 total) { seen.append({done, total}); };
    QVERIFY2(cur.embed(&er, note, nullptr, 32, 4), qPrintable(cur.lastError()));
    QCOMPARE(er.backbones, (QStringList{QStringLiteral("general"), QStringLiteral("letters")}));
    QCOMPARE(er.images, 10);
    QCOMPARE(er.embedded, 4);
    QCOMPARE(er.libraryEmbedded, 2);
    QCOMPARE(er.remaining, 16);
    int parts = 1;
    qint64 embedded = er.embedded;
    while (er.remaining > 0 && parts < 20) {
        QVERIFY2(cur.embed(&er, note, nullptr, 32, 4), qPrintable(cur.lastError()));
        embedded += er.embedded;
        QVERIFY(er.embedded <= 4);
        ++parts;
    }
    QCOMPARE(er.remaining, 0);
    QCOMPARE(embedded, 20);
    QCOMPARE(parts, 5);
    QVERIFY(!seen.isEmpty());
    for (qsizetype i = 0; i < seen.size(); ++i) {
        QCOMPARE(seen[i].second, qint64(20)); // 10 images x 2 backbones
        if (i > 0)
            QVERIFY2(seen[i].first >= seen[i - 1].first,
                     qPrintable(QStringLiteral("%1 after %2").arg(seen[i].first).arg(seen[i - 1].first)));
    }
    QCOMPARE(seen.last().first, qint64(20));
    QVERIFY2(cur.embed(&er), qPrintable(cur.lastError())); // all cached now
    QCOMPARE(er.total, 20);
    QCOMPARE(er.cached, 20);
    QCOMPARE(er.embedded, 0);
    const QString generalVersion = Curator(*lib, QStringLiteral("general")).backboneVersion();
    const QString lettersVersion = Curator(*lib, QStringLiteral("letters")).backboneVersion();
    QVERIFY(!generalVersion.isEmpty() && !lettersVersion.isEmpty() && generalVersion != lettersVersion);
    // the letters cache was written last, but the library's is the one core reads
    EmbeddingCacheInfo info;
    QVERIFY(openEmbeddingCache(lib->cacheDir(), {}, &info));
    QCOMPARE(info.version, generalVersion);
    QVERIFY(QFileInfo::exists(lib->cacheDir() + QStringLiteral("/embeddings-") + lettersVersion + QStringLiteral(".f16")));

    TrainReport tr;
    QVERIFY2(cur.train(*initials, TrainOptions(), &tr), qPrintable(cur.lastError()));
    QCOMPARE(lib->modelVersions(initials->id).last().backbone, lettersVersion);
    QVERIFY(QJsonDocument::fromJson(tr.metricsJson.toUtf8()).object().contains(QStringLiteral("prior")));
    TrainReport tt;
    QVERIFY2(cur.train(*theme, TrainOptions(), &tt), qPrintable(cur.lastError()));
    QCOMPARE(lib->modelVersions(theme->id).last().backbone, generalVersion);
    // the two unanswered images get the letters model's guesses
    const QVector<Suggestion> s = cur.suggest(*initials, Queue::Harvest, 5);
    QCOMPARE(s.size(), 2);
    QVERIFY(s[0].scored && !s[0].className.isEmpty());
    qint64 version = 0;
    QVector<ImageId> ids;
    QVector<float> probs;
    int classes = 0;
    QVERIFY2(cur.scores(*initials, &ids, &probs, &classes, &version), qPrintable(cur.lastError()));
    QCOMPARE(version, tr.modelVersion);
    QCOMPARE(classes, 27);

    // a Curator given a backbone uses it for every category
    Curator pinned(*lib, QStringLiteral("general"));
    EmbedReport pr;
    QVERIFY(pinned.embed(&pr));
    QCOMPARE(pr.backbones, QStringList{QStringLiteral("general")});
    TrainReport ptr;
    QVERIFY2(pinned.train(*initials, TrainOptions(), &ptr), qPrintable(pinned.lastError()));
    QCOMPARE(lib->modelVersions(initials->id).last().backbone, generalVersion);

    // a backbone that is not there (a library from another machine): the category's jobs say so, embed goes on
    QVERIFY(lib->setMeta(QStringLiteral("backbone/category/%1").arg(initials->id), QStringLiteral("/nowhere/rocks.mbb")));
    {
        Curator missing(*lib);
        TrainReport mr;
        QVERIFY(!missing.train(*initials, TrainOptions(), &mr));
        QVERIFY2(missing.lastError().contains(QStringLiteral("not installed")), qPrintable(missing.lastError()));
        QVERIFY(missing.suggest(*initials, Queue::Harvest, 5).isEmpty());
        EmbedReport mer;
        QVERIFY2(missing.embed(&mer), qPrintable(missing.lastError()));
        QCOMPARE(mer.backbones, QStringList{QStringLiteral("general")});
        QVERIFY2(missing.train(*theme, TrainOptions(), &mr), qPrintable(missing.lastError()));
    }
    // back to the library's: one backbone to embed with again; a name Magpie does not have is refused
    QString err;
    QVERIFY(!Curator::setCategoryBackbone(*lib, initials->id, QStringLiteral("rocks"), &err));
    QVERIFY(err.contains(QStringLiteral("rocks")));
    QVERIFY2(Curator::setCategoryBackbone(*lib, initials->id, QStringLiteral("library"), &err), qPrintable(err));
    QCOMPARE(Curator::categoryBackbone(*lib, initials->id, &own), QStringLiteral("general"));
    QVERIFY(!own);
    Curator again(*lib);
    EmbedReport ar;
    QVERIFY(again.embed(&ar));
    QCOMPARE(ar.backbones, QStringList{QStringLiteral("general")});
    QCOMPARE(ar.cached, 10);
}

void TestCurator::trainingWithNothingNewKeepsTheModel()
{
    // Training again with the same answers, embeddings and options would make
    // the same model: the newest version is kept; a new answer or another
    // option makes a new one.
    QTemporaryDir dir;
    std::optional<Category> cat;
    auto lib = embeddedShapes(dir, 10, 8, &cat);
    QVERIFY(lib && cat);
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    TrainReport a, b, c, e;
    QVERIFY2(cur.train(*cat, TrainOptions(), &a), qPrintable(cur.lastError()));
    QVERIFY(!a.unchanged);
    QVERIFY2(cur.train(*cat, TrainOptions(), &b), qPrintable(cur.lastError()));
    QVERIFY(b.unchanged);
    QCOMPARE(b.modelVersion, a.modelVersion);
    QCOMPARE(b.metricsJson, a.metricsJson);
    QCOMPARE(lib->modelVersions(cat->id).size(), 1);
    TrainOptions other;
    other.l2 = 0.1f;
    QVERIFY2(cur.train(*cat, other, &c), qPrintable(cur.lastError()));
    QVERIFY(!c.unchanged);
    QVERIFY(c.modelVersion > a.modelVersion);
    QVERIFY(lib->answer({idOf(*lib, QStringLiteral("img8.png")), cat->id, cat->classes[0].id}));
    QVERIFY2(cur.train(*cat, other, &e), qPrintable(cur.lastError()));
    QVERIFY(!e.unchanged);
    QCOMPARE(e.examples, 9);
    QCOMPARE(lib->modelVersions(cat->id).size(), 3);
}

void TestCurator::notThisClassAsksAgainWithAnotherGuess()
{
    // In a class set, "not this class" leaves open which class it is: the
    // image is proposed again, its guess among the classes it may still be
    // (scaled to sum to 1); ruled out of every class, it is not proposed.
    QTemporaryDir dir;
    std::optional<Category> cat;
    auto lib = embeddedShapes(dir, 12, 8, &cat);
    QVERIFY(lib && cat);
    Curator cur(*lib, QStringLiteral(MAGPIE_BACKBONE_FILE));
    TrainReport tr;
    QVERIFY2(cur.train(*cat, TrainOptions(), &tr), qPrintable(cur.lastError()));
    const ImageId img = idOf(*lib, QStringLiteral("img9.png"));
    const auto guessFor = [&](Queue q) -> std::optional<Suggestion> {
        for (const Suggestion &s : cur.suggest(*cat, q, 50))
            if (s.imageId == img) return s;
        return std::nullopt;
    };
    const auto first = guessFor(Queue::Harvest);
    QVERIFY(first && first->classId);
    QVERIFY(lib->answer({img, cat->id, first->classId, AnswerValue::No})); // "not it"
    for (Queue q : {Queue::Harvest, Queue::Teach, Queue::Mix}) {
        const auto again = guessFor(q);
        QVERIFY2(again, qPrintable(queueName(q)));
        QVERIFY(again->classId && again->classId != first->classId); // the other class
        QVERIFY(std::abs(again->score - 1.0f) < 1e-5f);               // the only one left
    }
    const auto scored = cur.scoreImages(*cat, {img});
    QCOMPARE(scored.size(), 1);
    QVERIFY(scored.first().classId != first->classId);
    // still to answer in the counts; after the rest without an answer in the library's own order
    const LibraryCounts n = lib->counts();
    QCOMPARE(n.categories.first().answeredImages, 9);
    QCOMPARE(n.categories.first().answeredOk, 8);
    const QVector<ImageRecord> open = lib->unanswered(cat->id, 10);
    QCOMPARE(open.size(), 4);
    QCOMPARE(open.last().id, img);
    // not the other class either: nothing left to guess, so it is not proposed
    QVERIFY(lib->answer({img, cat->id, scored.first().classId, AnswerValue::No}));
    QVERIFY(!guessFor(Queue::Harvest));
    QVERIFY(!guessFor(Queue::Mix));
    QVERIFY(cur.scoreImages(*cat, {img}).isEmpty());
    QCOMPARE(lib->counts().categories.first().answeredOk, 9); // settled: nothing left to ask of it
    QCOMPARE(lib->unanswered(cat->id, 10).size(), 3);
    // the answer that names its class settles it
    QVERIFY(lib->answer({img, cat->id, first->classId, AnswerValue::Yes}));
    QCOMPARE(lib->counts().categories.first().answeredOk, 9);
    QCOMPARE(lib->unanswered(cat->id, 10).size(), 3);
}

QTEST_MAIN(TestCurator)
#include "tst_curator.moc"
