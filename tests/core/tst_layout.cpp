// Grid layouts that keep similar images together (core/layout.h).
#include "core/embeddingcache.h"
#include "core/layout.h"
#include "core/library.h"

#include <QDateTime>
#include <QFile>
#include <QFloat16>
#include <QImage>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <numeric>
#include <random>

using namespace magpie;

namespace {

// n points on a smooth 2-D manifold embedded in `dim` dimensions, shuffled:
// a layout that finds the structure puts close points next to each other.
FeatureMatrix structured(int n, int dim, quint32 seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 0.02f);
    FeatureMatrix f;
    f.dim = dim;
    f.source = FeatureMatrix::Source::Embeddings;
    for (int i = 0; i < n; ++i) {
        const float u = uni(rng), v = uni(rng);
        for (int d = 0; d < dim; ++d) {
            const float x = d % 3 == 0 ? u : d % 3 == 1 ? v : std::sin(3.0f * u + float(d)) * 0.3f + v * 0.2f;
            f.values.push_back(x + noise(rng));
        }
    }
    return f;
}

} // namespace

class TestLayout : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void chooseGrid_data()
    {
        QTest::addColumn<int>("n");
        QTest::addColumn<double>("aspect");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::newRow("16 square") << 16 << 1.0 << 4 << 4;
        QTest::newRow("36 square") << 36 << 1.0 << 6 << 6;
        QTest::newRow("1") << 1 << 1.0 << 1 << 1;
        QTest::newRow("0") << 0 << 1.0 << 0 << 0;
        QTest::newRow("18 wide") << 18 << 2.0 << 3 << 6;
    }
    void chooseGrid()
    {
        QFETCH(int, n);
        QFETCH(double, aspect);
        QFETCH(int, rows);
        QFETCH(int, cols);
        const GridShape g = magpie::chooseGrid(n, aspect);
        QCOMPARE(g.rows, rows);
        QCOMPARE(g.cols, cols);
    }

    void noImageLeftAloneOnTheLastRow()
    {
        // 49 on a page of cells about 2:3 was 9 rows of 6 with one image alone
        // at the bottom; now the last row is at least a third full from 20 images on.
        for (int n = 20; n <= 200; ++n) // (7 as 3 x 3 still has one alone: 2 x 4 would be far from square)
            for (double aspect : {0.5, 0.667, 0.707, 1.0, 1.414, 2.0}) {
                const GridShape g = magpie::chooseGrid(n, aspect);
                QVERIFY(g.rows * g.cols >= n);
                const int last = n - (g.rows - 1) * g.cols;
                QVERIFY2(g.rows == 1 || 3 * last >= g.cols,
                         qPrintable(QStringLiteral("%1 at %2: %3 x %4").arg(n).arg(aspect).arg(g.rows).arg(g.cols)));
            }
        const GridShape g = magpie::chooseGrid(49, 0.667);
        QVERIFY(!(g.rows == 9 && g.cols == 6));
    }

    void assignmentIsOptimal()
    {
        // Brute force against the solver on small random matrices.
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> uni(0, 10);
        for (int trial = 0; trial < 50; ++trial) {
            const int n = 1 + trial % 6;
            std::vector<double> cost(size_t(n * n));
            for (double &c : cost)
                c = uni(rng);
            const auto sol = solveAssignment(cost, n);
            double got = 0;
            for (int i = 0; i < n; ++i)
                got += cost[size_t(i * n + sol[size_t(i)])];
            std::vector<int> perm(static_cast<size_t>(n));
            std::iota(perm.begin(), perm.end(), 0);
            double best = 1e300;
            do {
                double s = 0;
                for (int i = 0; i < n; ++i)
                    s += cost[size_t(i * n + perm[size_t(i)])];
                best = std::min(best, s);
            } while (std::next_permutation(perm.begin(), perm.end()));
            QVERIFY2(std::abs(got - best) < 1e-9,
                     qPrintable(QStringLiteral("n=%1 got %2 best %3").arg(n).arg(got).arg(best)));
        }
    }

    void deterministicForSeed_data()
    {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("method");
        QTest::newRow("exact 64") << 64 << int(LayoutOptions::Method::Exact);
        QTest::newRow("approx 300") << 300 << int(LayoutOptions::Method::Approximate);
    }
    void deterministicForSeed()
    {
        QFETCH(int, n);
        QFETCH(int, method);
        const FeatureMatrix f = structured(n, 12, 3);
        LayoutOptions o;
        o.seed = 42;
        o.method = LayoutOptions::Method(method);
        const GridLayout a = layoutGrid(f, o);
        const GridLayout b = layoutGrid(f, o);
        QVERIFY(a.error.isEmpty());
        QCOMPARE(a.itemAtCell, b.itemAtCell);
        QCOMPARE(a.neighbourDistance, b.neighbourDistance);
        QCOMPARE(a.randomDistance, b.randomDistance);
        // every item placed exactly once
        QVector<int> seen(n, 0);
        for (int item : a.itemAtCell)
            if (item >= 0)
                ++seen[item];
        QCOMPARE(seen, QVector<int>(n, 1));
        for (int i = 0; i < n; ++i)
            QCOMPARE(a.itemAtCell[a.cellOfItem[i]], i);
    }

    void betterThanRandom_data()
    {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("method");
        QTest::newRow("exact 16") << 16 << int(LayoutOptions::Method::Exact);
        QTest::newRow("exact 100") << 100 << int(LayoutOptions::Method::Exact);
        QTest::newRow("approx 600") << 600 << int(LayoutOptions::Method::Approximate);
    }
    void betterThanRandom()
    {
        QFETCH(int, n);
        QFETCH(int, method);
        const FeatureMatrix f = structured(n, 16, 11);
        LayoutOptions o;
        o.method = LayoutOptions::Method(method);
        const GridLayout l = layoutGrid(f, o);
        QVERIFY(l.randomDistance > 0);
        QVERIFY2(l.qualityRatio() < 0.7, qPrintable(QString::number(l.qualityRatio())));
    }

    void userShapeAndPartialRow()
    {
        const FeatureMatrix f = structured(10, 4, 5);
        LayoutOptions o;
        o.rows = 3;
        o.cols = 4;
        const GridLayout l = layoutGrid(f, o);
        QCOMPARE(l.rows, 3);
        QCOMPARE(l.cols, 4);
        // the 10 items fill the first 10 cells; the last two stay empty
        for (int c = 0; c < 10; ++c)
            QVERIFY(l.itemAtCell[c] >= 0);
        QCOMPARE(l.itemAtCell[10], -1);
        QCOMPARE(l.itemAtCell[11], -1);

        o.rows = 2; // too small: grows, says so
        o.cols = 3;
        const GridLayout g = layoutGrid(f, o);
        QVERIFY(!g.error.isEmpty());
        QVERIFY(g.rows * g.cols >= 10);
    }

    void colourToneSeparatesColours()
    {
        QImage red(40, 30, QImage::Format_RGB888);
        red.fill(QColor(220, 30, 30));
        QImage red2(50, 50, QImage::Format_RGB888);
        red2.fill(QColor(200, 40, 35));
        QImage blue(40, 30, QImage::Format_RGB888);
        blue.fill(QColor(30, 40, 210));
        const auto a = colourToneFeature(red), b = colourToneFeature(red2), c = colourToneFeature(blue);
        QCOMPARE(int(a.size()), colourToneDim());
        auto dist = [](const std::vector<float> &x, const std::vector<float> &y) {
            double s = 0;
            for (size_t i = 0; i < x.size(); ++i)
                s += (x[i] - y[i]) * (x[i] - y[i]);
            return std::sqrt(s);
        };
        QVERIFY(dist(a, b) < dist(a, c));
        QVERIFY(dist(a, b) < dist(b, c));
        // null image: zeros, no crash
        const auto z = colourToneFeature(QImage());
        QCOMPARE(int(z.size()), colourToneDim());
    }

    void embeddingCacheFromTheTrainingEngine()
    {
        // The file format of training/embeddingstore, written by hand here.
        QTemporaryDir tmp;
        const int dim = 4;
        QFile f16(tmp.filePath(QStringLiteral("embeddings-test-v1.f16")));
        QVERIFY(f16.open(QIODevice::WriteOnly));
        QByteArray header("MGPEMB01", 8);
        const qint32 d32 = dim;
        header.append(reinterpret_cast<const char *>(&d32), 4);
        header.append(4, '\0');
        f16.write(header);
        const float rows[3][dim] = {{1, 2, 3, 4}, {0.5f, -1, 0, 2}, {9, 9, 9, 9}};
        for (const auto &row : rows)
            for (float x : row) {
                const qfloat16 h(x);
                f16.write(reinterpret_cast<const char *>(&h), 2);
            }
        f16.close();
        QFile ids(tmp.filePath(QStringLiteral("embeddings-test-v1.ids")));
        QVERIFY(ids.open(QIODevice::WriteOnly));
        for (qint64 id : {qint64(10), qint64(20), qint64(10)}) // id 10 again: the newest row wins
            ids.write(reinterpret_cast<const char *>(&id), 8);
        ids.close();

        EmbeddingCacheInfo info;
        QString err;
        const EmbeddingLookup lookup = openEmbeddingCache(tmp.path(), {}, &info, &err);
        QVERIFY2(lookup, qPrintable(err));
        QCOMPARE(info.dim, dim);
        QCOMPARE(info.rows, qint64(3));
        QCOMPARE(info.version, QStringLiteral("test-v1"));
        QCOMPARE(*lookup(20), (std::vector<float>{0.5f, -1, 0, 2}));
        QCOMPARE(*lookup(10), (std::vector<float>{9, 9, 9, 9}));
        QVERIFY(!lookup(30));
        // more like this: two ids in the cache, so 20's only neighbour is 10
        QCOMPARE(nearestInEmbeddingCache(tmp.path(), 20, 5), (QVector<ImageId>{10}));
        QVERIFY(nearestInEmbeddingCache(tmp.path(), 30, 5, &err).isEmpty());
        QVERIFY(err.contains(QStringLiteral("no embedding")));

        // collectFeatures uses embeddings only when every image has one
        auto lib = Library::create(tmp.filePath(QStringLiteral("t.magpie")), &err);
        QVERIFY2(lib, qPrintable(err));
        const FeatureMatrix all = collectFeatures(*lib, {10, 20}, lookup);
        QCOMPARE(all.source, FeatureMatrix::Source::Embeddings);
        QCOMPARE(all.dim, dim);
        QVERIFY(all.notes.isEmpty());
        const FeatureMatrix some = collectFeatures(*lib, {10, 30}, lookup);
        QCOMPARE(some.source, FeatureMatrix::Source::ColourTone);
        QVERIFY(some.notes.join(QLatin1Char(' ')).contains(QStringLiteral("colour and tone")));

        // a newer cache that lacks id 20: the covering choice keeps the older one
        QFile newer(tmp.filePath(QStringLiteral("embeddings-tuned.f16")));
        QVERIFY(newer.open(QIODevice::WriteOnly));
        newer.write(header);
        for (float x : {1.0f, 1.0f, 1.0f, 1.0f}) {
            const qfloat16 h(x);
            newer.write(reinterpret_cast<const char *>(&h), 2);
        }
        newer.close();
        QFile newerIds(tmp.filePath(QStringLiteral("embeddings-tuned.ids")));
        QVERIFY(newerIds.open(QIODevice::WriteOnly));
        const qint64 ten = 10;
        newerIds.write(reinterpret_cast<const char *>(&ten), 8);
        newerIds.close();
        QVERIFY(newer.open(QIODevice::ReadWrite));
        QVERIFY(
            newer.setFileTime(QDateTime::currentDateTime().addSecs(60), QFileDevice::FileModificationTime));
        newer.close();
        EmbeddingCacheInfo chosen;
        QVERIFY(openEmbeddingCache(tmp.path(), {}, &chosen));
        QCOMPARE(chosen.version, QStringLiteral("tuned")); // newest
        QVERIFY(openEmbeddingCacheCovering(tmp.path(), {10, 20}, &chosen));
        QCOMPARE(chosen.version, QStringLiteral("test-v1"));
        QVERIFY(openEmbeddingCacheCovering(tmp.path(), {10}, &chosen));
        QCOMPARE(chosen.version, QStringLiteral("tuned"));

        QVERIFY(!openEmbeddingCache(tmp.filePath(QStringLiteral("nowhere")), {}, nullptr, &err));
        QVERIFY(!err.isEmpty());
    }

    void emptyInput()
    {
        FeatureMatrix f;
        f.dim = 3;
        const GridLayout l = layoutGrid(f);
        QCOMPARE(l.rows, 0);
        QVERIFY(l.itemAtCell.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestLayout)
#include "tst_layout.moc"
