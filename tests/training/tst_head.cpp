// Heads on embeddings, their checkpoints, the embedding cache and the
// novelty distance, on small synthetic data (similarity search: tests/core/tst_similarityindex).
#include "training/embeddingstore.h"
#include "training/engine.h"
#include "training/head.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace magpie::training;

class TestHead : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initRuntime(); }
    void learnsSeparableClasses_data();
    void learnsSeparableClasses();
    void negativesPushDown();
    void oneAnswerGivesFiniteScores();
    void fewAnswersGiveHonestProbabilities();
    void unlabeledImagesTeachWhatTheNoAnswersMissed();
    void priorBlend();
    void checkpointRoundTripAndCorruption();
    void storeIsIncrementalAndPersistent();
    void halfScoresMatchFloat_data();
    void halfScoresMatchFloat();
    void novelDistanceFindsItself();
};

namespace {
constexpr int kDim = 32;
// n points per class around random centres.
std::vector<float> blobs(int classes, int n, std::vector<Example> *ex, unsigned seed = 7)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::vector<float> centres(static_cast<std::size_t>(classes * kDim));
    for (float &c : centres) c = 3 * g(rng);
    std::vector<float> x;
    for (int c = 0; c < classes; ++c)
        for (int i = 0; i < n; ++i) {
            for (int k = 0; k < kDim; ++k) x.push_back(centres[static_cast<std::size_t>(c * kDim + k)] + g(rng));
            ex->push_back({c * n + i, c, true});
        }
    return x;
}
} // namespace

void TestHead::learnsSeparableClasses_data()
{
    QTest::addColumn<int>("hidden");
    QTest::newRow("logistic") << 0;
    QTest::newRow("mlp") << 16;
}

void TestHead::learnsSeparableClasses()
{
    QFETCH(int, hidden);
    std::vector<Example> ex;
    const auto x = blobs(4, 20, &ex);
    HeadConfig cfg;
    cfg.numClasses = 4;
    cfg.hidden = hidden;
    std::string err;
    auto h = Head::train(x.data(), 80, kDim, ex, cfg, &err);
    QVERIFY2(h, err.c_str());
    std::vector<float> p(80 * 4);
    h->scoreFloat(x.data(), 80, p.data());
    int correct = 0;
    for (int i = 0; i < 80; ++i)
        correct += std::max_element(p.begin() + i * 4, p.begin() + i * 4 + 4) - (p.begin() + i * 4) == i / 20;
    QCOMPARE(correct, 80);
    const HeadMetrics m = Head::crossValidate(x.data(), 80, kDim, ex, cfg, 5);
    QVERIFY(m.accuracy > 0.95);
    QCOMPARE(int(m.recall.size()), 4);
    if (hidden == 0)
        QCOMPARE(m.temperature, 1.0); // right and sure when held out: nothing to soften
}

void TestHead::fewAnswersGiveHonestProbabilities()
{
    // 30 answers on wide features (as the backbone's 1,536) for a theme the
    // features hardly tell apart: the head separates the answers perfectly and
    // calls unanswered images "yes" or "no" at ~100 %, but held out it is
    // often wrong, so the temperature softens it. The order of the images and
    // the side of every answered one stay the same.
    const int dim = 512, answered = 30, n = answered + 200;
    std::mt19937 rng(11);
    std::normal_distribution<float> g(0, 1);
    std::vector<float> x(static_cast<std::size_t>(n * dim));
    std::vector<Example> ex;
    for (int i = 0; i < n; ++i) {
        const bool isYes = i % 3 == 0;
        for (int k = 0; k < dim; ++k)
            x[static_cast<std::size_t>(i * dim + k)] = g(rng) + (isYes && k < 8 ? 0.3f : 0.0f); // a faint signal
        if (i < answered) ex.push_back({i, isYes ? 1 : 0, true});
    }
    HeadConfig cfg;
    std::string err;
    auto h = Head::train(x.data(), n, dim, ex, cfg, &err);
    QVERIFY2(h, err.c_str());
    const HeadMetrics m = Head::crossValidate(x.data(), n, dim, ex, cfg, 5);
    std::vector<float> before(static_cast<std::size_t>(n * 2)), after(before.size());
    h->scoreFloat(x.data(), n, before.data());
    h->soften(m.temperature);
    h->scoreFloat(x.data(), n, after.data());
    auto yes = [](const std::vector<float> &p, int i) { return p[static_cast<std::size_t>(2 * i + 1)]; };
    float sharpest = 0, softened = 0;
    for (int i = answered; i < n; ++i) {
        sharpest = std::max(sharpest, std::abs(yes(before, i) - 0.5f));
        softened = std::max(softened, std::abs(yes(after, i) - 0.5f));
        for (int j = answered; j < i; ++j) { // the same order (beyond float rounding near 0 and 1)
            const float a = yes(before, i) - yes(before, j), b = yes(after, i) - yes(after, j);
            if (std::abs(a) > 1e-5f && std::abs(b) > 1e-5f)
                QVERIFY(a * b > 0);
        }
    }
    qDebug() << "T" << m.temperature << "held-out accuracy" << m.accuracy << "most extreme" << sharpest << "->" << softened;
    QVERIFY2(m.accuracy < 0.8, std::to_string(m.accuracy).c_str()); // the premise: held out, often wrong
    QVERIFY2(m.temperature > 2, std::to_string(m.temperature).c_str());
    QVERIFY(softened < 0.9f * sharpest);
    for (const Example &e : ex)
        QCOMPARE(yes(after, e.row) > 0.5f, e.cls == 1);
}

void TestHead::oneAnswerGivesFiniteScores()
{
    // One answered image has no spread to standardise by (the unbiased
    // estimate is NaN): every image must still get a finite probability.
    std::vector<Example> all;
    auto x = blobs(2, 5, &all);
    HeadConfig cfg;
    std::string err;
    auto h = Head::train(x.data(), 10, kDim, {{3, 1, true}}, cfg, &err);
    QVERIFY2(h, err.c_str());
    std::vector<float> p(20);
    h->scoreFloat(x.data(), 10, p.data());
    for (float v : p)
        QVERIFY(std::isfinite(v) && v >= 0 && v <= 1);
}

void TestHead::negativesPushDown()
{
    // Two classes; one point of class 0 is also marked "not class 1" - its
    // class-1 probability must stay low after training.
    std::vector<Example> ex;
    auto x = blobs(2, 10, &ex);
    ex.push_back({0, 1, false});
    HeadConfig cfg;
    std::string err;
    auto h = Head::train(x.data(), 20, kDim, ex, cfg, &err);
    QVERIFY(h);
    float p[2];
    h->scoreFloat(x.data(), 1, p);
    QVERIFY(p[1] < 0.1f);
}

void TestHead::unlabeledImagesTeachWhatTheNoAnswersMissed()
{
    // A binary theme: 5 "yes" answers around A, 5 "no" answers around B, and
    // a kind of image nobody answered (U) that lies on A's side of the A-B
    // boundary. Answers alone call U "yes"; the unanswered archive (40 U, 5 A)
    // as weak "no" examples teaches the head that U is not in the theme,
    // while A stays "yes".
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0, 0.5f);
    std::vector<float> x;
    auto point = [&](float e0, float e1) {
        for (int k = 0; k < kDim; ++k) x.push_back((k == 0 ? e0 : k == 1 ? e1 : 0.f) + g(rng));
        return static_cast<int>(x.size() / kDim) - 1;
    };
    std::vector<Example> answers, withArchive;
    for (int i = 0; i < 5; ++i) answers.push_back({point(3, 0), 1, true});
    for (int i = 0; i < 5; ++i) answers.push_back({point(-3, 0), 0, true});
    withArchive = answers;
    for (int i = 0; i < 40; ++i) withArchive.push_back({point(1.5f, 4), 0, true, true});
    for (int i = 0; i < 5; ++i) withArchive.push_back({point(3, 0), 0, true, true});
    const int newU = point(1.5f, 4), newA = point(3, 0);
    const int n = static_cast<int>(x.size() / kDim);
    auto yes = [&](const Head &h, int row) {
        float p[2];
        h.scoreFloat(x.data() + static_cast<std::size_t>(row) * kDim, 1, p);
        return p[1];
    };
    HeadConfig cfg;
    cfg.unlabeledWeight = 0.5f * 10 / 45; // half as much as the 10 answers, in all
    std::string err;
    auto alone = Head::train(x.data(), n, kDim, answers, cfg, &err);
    auto helped = Head::train(x.data(), n, kDim, withArchive, cfg, &err);
    QVERIFY2(alone && helped, err.c_str());
    QVERIFY(yes(*alone, newU) > 0.5f); // the failure the archive fixes
    QVERIFY(yes(*helped, newU) < 0.5f);
    QVERIFY(yes(*helped, newA) > 0.5f);
    QVERIFY(yes(*helped, newA) > yes(*helped, newU) + 0.3f);
    // Weight 0: the archive rows do not train (answers alone decide).
    cfg.unlabeledWeight = 0;
    auto ignored = Head::train(x.data(), n, kDim, withArchive, cfg, &err);
    QVERIFY(ignored);
    QVERIFY(yes(*ignored, newU) > 0.5f);
    // Cross-validation holds out answers only.
    cfg.unlabeledWeight = 0.5f * 10 / 45;
    const HeadMetrics m = Head::crossValidate(x.data(), n, kDim, withArchive, cfg, 5);
    QCOMPARE(m.examples, 10);
    QCOMPARE(m.support[0] + m.support[1], 10);
    // Unlabeled rows alone are nothing to train on.
    std::vector<Example> onlyArchive(withArchive.begin() + 10, withArchive.end());
    QVERIFY(!Head::train(x.data(), n, kDim, onlyArchive, cfg, &err));
}

void TestHead::priorBlend()
{
    // A prior that knows classes 0-3 well (trained on many rows, classes in the
    // prior's own order), answers that saw only two rows per class, one of them
    // mislabelled: the blend follows the mapping of classes, its weight, and a
    // saved blend scores the same after loading.
    std::vector<Example> all;
    const auto x = blobs(4, 20, &all);
    HeadConfig pc;
    pc.numClasses = 4;
    std::string err;
    std::vector<Example> permuted = all; // prior row r = class 3 - r
    for (Example &e : permuted) e.cls = 3 - e.cls;
    auto prior = Head::train(x.data(), 80, kDim, permuted, pc, &err);
    QVERIFY2(prior, err.c_str());
    std::vector<Example> few = {{0, 0, true}, {1, 0, true}, {20, 1, true}, {21, 1, true},
                                {40, 2, true}, {41, 2, true}, {60, 3, true}, {61, 0, true}};
    HeadConfig cfg;
    cfg.numClasses = 4;
    auto plain = Head::train(x.data(), 80, kDim, few, cfg, &err);
    QVERIFY(plain && !plain->blendedWithPrior());
    cfg.prior = prior.get();
    cfg.priorClassRows = {3, 2, 1, 0};
    auto accuracy = [&](const Head &h) {
        std::vector<float> p(80 * 4);
        h.scoreFloat(x.data(), 80, p.data());
        int ok = 0;
        for (int i = 0; i < 80; ++i)
            ok += std::max_element(p.begin() + i * 4, p.begin() + i * 4 + 4) - (p.begin() + i * 4) == i / 20;
        return ok;
    };
    cfg.priorWeight = 1.0f; // the prior alone, through the class mapping
    auto onlyPrior = Head::train(x.data(), 80, kDim, few, cfg, &err);
    QVERIFY(onlyPrior && onlyPrior->blendedWithPrior());
    QCOMPARE(accuracy(*onlyPrior), 80);
    std::vector<float> a(4), b(4);
    onlyPrior->scoreFloat(x.data() + 25 * kDim, 1, a.data());
    prior->scoreFloat(x.data() + 25 * kDim, 1, b.data());
    for (int c = 0; c < 4; ++c) QVERIFY(std::abs(a[c] - b[3 - c]) < 1e-5f);
    cfg.priorWeight = 0.5f;
    auto blend = Head::train(x.data(), 80, kDim, few, cfg, &err);
    QVERIFY(blend && blend->blendedWithPrior());
    QVERIFY(accuracy(*blend) >= accuracy(*plain));
    QCOMPARE(accuracy(*blend), 80);
    // A prior whose rows do not fit is not applied.
    cfg.priorClassRows = {0, 1, 2, 7};
    auto misfit = Head::train(x.data(), 80, kDim, few, cfg, &err);
    QVERIFY(misfit && !misfit->blendedWithPrior());
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("b.head")).toStdString();
    QVERIFY(blend->save(path, &err));
    auto back = Head::load(path, &err);
    QVERIFY2(back, err.c_str());
    std::vector<float> p1(80 * 4), p2(80 * 4);
    blend->scoreFloat(x.data(), 80, p1.data());
    back->scoreFloat(x.data(), 80, p2.data());
    for (std::size_t i = 0; i < p1.size(); ++i) QVERIFY(std::abs(p1[i] - p2[i]) < 1e-6f);
}

void TestHead::checkpointRoundTripAndCorruption()
{
    std::vector<Example> ex;
    const auto x = blobs(3, 10, &ex);
    HeadConfig cfg;
    cfg.numClasses = 3;
    std::string err;
    auto h = Head::train(x.data(), 30, kDim, ex, cfg, &err);
    QVERIFY(h);
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("m.head")).toStdString();
    QVERIFY(h->save(path, &err));
    auto back = Head::load(path, &err);
    QVERIFY2(back, err.c_str());
    std::vector<float> a(30 * 3), b(30 * 3);
    h->scoreFloat(x.data(), 30, a.data());
    back->scoreFloat(x.data(), 30, b.data());
    for (std::size_t i = 0; i < a.size(); ++i)
        QVERIFY(std::abs(a[i] - b[i]) < 1e-6f);
    // Flip one byte: rejected with a message, never a crash.
    QFile f(QString::fromStdString(path));
    QVERIFY(f.open(QIODevice::ReadWrite));
    f.seek(40);
    f.write("\x7f", 1);
    f.close();
    QVERIFY(!Head::load(path, &err));
    QVERIFY(err.find("checksum") != std::string::npos);
}

void TestHead::storeIsIncrementalAndPersistent()
{
    QTemporaryDir dir;
    std::string err;
    {
        auto s = EmbeddingStore::open(dir.path().toStdString(), "v1", 4, &err);
        QVERIFY2(s, err.c_str());
        QCOMPARE(s->count(), 0);
        const float rows[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        QVERIFY(s->append({10, 20}, rows, &err));
        QCOMPARE(s->count(), 2);
    }
    auto s = EmbeddingStore::open(dir.path().toStdString(), "v1", 4, &err);
    QVERIFY(s);
    QCOMPARE(s->count(), 2);
    QCOMPARE(s->rowOf(20), 1);
    QCOMPARE(s->rowOf(30), -1);
    float r[4];
    s->rowFloat(1, r);
    QCOMPARE(r[3], 8.0f);
    const float more[4] = {0.5f, 0, 0, 0};
    QVERIFY(s->append({30}, more, &err));
    QCOMPARE(s->rowOf(30), 2);
    // A different feature length is refused.
    QVERIFY(!EmbeddingStore::open(dir.path().toStdString(), "v1", 8, &err));
}

// scoreHalf (AVX2 kernel or scalar loop, several threads for large n) gives
// the probabilities scoreFloat gives for the same half-rounded rows, for row
// counts that are not multiples of the kernel's 3 / 6 rows or 240-row blocks.
void TestHead::halfScoresMatchFloat_data()
{
    QTest::addColumn<int>("classes");
    QTest::addColumn<int>("hidden");
    QTest::addColumn<int>("rows");
    QTest::addColumn<bool>("avx512"); // false: the AVX2 kernel even where AVX-512 is there
    QTest::newRow("binary") << 2 << 0 << 5001 << true;
    QTest::newRow("3 classes") << 3 << 0 << 1001 << true;
    QTest::newRow("27 classes") << 27 << 0 << 9001 << true;
    QTest::newRow("binary, AVX2") << 2 << 0 << 5001 << false;
    QTest::newRow("27 classes, AVX2") << 27 << 0 << 9001 << false;
    QTest::newRow("mlp") << 4 << 16 << 501 << true;
}

void TestHead::halfScoresMatchFloat()
{
    QFETCH(int, classes);
    QFETCH(int, hidden);
    QFETCH(int, rows);
    QFETCH(bool, avx512);
    if (avx512) qunsetenv("MAGPIE_NO_AVX512");
    else qputenv("MAGPIE_NO_AVX512", "1"); // read when the head is built
    std::vector<Example> ex;
    const auto train = blobs(classes, 10, &ex);
    HeadConfig cfg;
    cfg.numClasses = classes;
    cfg.hidden = hidden;
    cfg.steps = 30;
    std::string err;
    auto h = Head::train(train.data(), classes * 10, kDim, ex, cfg, &err);
    QVERIFY2(h, err.c_str());
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0, 2);
    std::vector<std::uint16_t> half(static_cast<std::size_t>(rows * kDim));
    std::vector<float> rounded(half.size());
    for (std::size_t i = 0; i < half.size(); ++i) {
        half[i] = floatToHalf(g(rng));
        rounded[i] = halfToFloat(half[i]);
    }
    std::vector<float> a(static_cast<std::size_t>(rows * classes)), b(a.size());
    h->scoreHalf(half.data(), rows, a.data());
    h->scoreFloat(rounded.data(), rows, b.data());
    float worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    QVERIFY2(worst < 1e-5f, qPrintable(QString::number(worst)));
    for (int r = 0; r < rows; r += 97) {
        float sum = 0;
        for (int c = 0; c < classes; ++c) sum += a[static_cast<std::size_t>(r * classes + c)];
        QVERIFY(std::abs(sum - 1.0f) < 1e-5f);
    }
    qunsetenv("MAGPIE_NO_AVX512");
}

void TestHead::novelDistanceFindsItself()
{
    std::vector<Example> ex;
    const auto x = blobs(3, 50, &ex);
    std::vector<std::uint16_t> half(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) half[i] = floatToHalf(x[i]);
    const auto mx = maxCosineToSet(half.data(), 150, kDim, x.data() + 77 * kDim, 1);
    QVERIFY(mx[77] > 0.999f);
    for (int r = 0; r < 150; ++r)
        if (r / 50 != 1) QVERIFY(mx[static_cast<std::size_t>(r)] < mx[77]);
}

QTEST_GUILESS_MAIN(TestHead)
#include "tst_head.moc"
