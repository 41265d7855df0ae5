// core/similarityindex: exact search against brute force, and the FAISS index
// (forced on for a few thousand rows) against exact search: recall, the
// persisted file, appended rows, a stale file, background updates.
#include "core/similarityindex.h"

#include <QFile>
#include <QFloat16>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

using namespace magpie;

namespace {
constexpr int kDim = 64;

// n rows around n / 20 random centres (a spread of 1 around centres spread 3),
// as IEEE halves.
std::vector<std::uint16_t> clustered(int n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    const int k = std::max(1, n / 20);
    std::vector<float> centres(size_t(k) * kDim);
    for (float &c : centres) c = 3 * g(rng);
    std::vector<std::uint16_t> out(size_t(n) * kDim);
    for (int i = 0; i < n; ++i) {
        const int c = int(rng() % unsigned(k));
        for (int j = 0; j < kDim; ++j) {
            const qfloat16 h(centres[size_t(c) * kDim + size_t(j)] + g(rng));
            std::memcpy(&out[size_t(i) * kDim + size_t(j)], &h, 2);
        }
    }
    return out;
}

std::vector<float> rowOf(const std::vector<std::uint16_t> &rows, std::int64_t r)
{
    std::vector<float> q(kDim);
    qFloatFromFloat16(q.data(), reinterpret_cast<const qfloat16 *>(rows.data() + r * kDim), kDim);
    return q;
}

HalfRows view(const std::vector<std::uint16_t> &rows, std::int64_t n) { return {rows.data(), n, kDim, {}}; }

// Brute-force cosine top-k in double precision.
std::vector<std::int64_t> bruteForce(const std::vector<std::uint16_t> &rows, std::int64_t n, const std::vector<float> &q, int k)
{
    std::vector<std::pair<double, std::int64_t>> all;
    double qn = 0;
    for (float v : q) qn += double(v) * v;
    for (std::int64_t r = 0; r < n; ++r) {
        const std::vector<float> x = rowOf(rows, r);
        double dot = 0, xn = 0;
        for (int j = 0; j < kDim; ++j) {
            dot += double(x[size_t(j)]) * q[size_t(j)];
            xn += double(x[size_t(j)]) * x[size_t(j)];
        }
        all.emplace_back(-dot / std::sqrt(qn * xn), r);
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    std::vector<std::int64_t> out;
    for (int i = 0; i < k; ++i) out.push_back(all[size_t(i)].second);
    return out;
}

double overlap(const std::vector<Neighbour> &a, const std::vector<Neighbour> &b)
{
    std::set<std::int64_t> sa, sb;
    for (const auto &n : a) sa.insert(n.row);
    for (const auto &n : b) sb.insert(n.row);
    int both = 0;
    for (std::int64_t r : sa) both += int(sb.count(r));
    return sa.empty() ? 1.0 : double(both) / double(sa.size());
}

SimilarityIndexOptions forcedOn()
{
    SimilarityIndexOptions o;
    o.exactBelow = 1000; // the threshold forced low: a few thousand rows get an index
    o.lists = 16;
    o.candidates = 100;  // re-rank few candidates so that the index, not the re-ranking, is tested
    return o;
}
} // namespace

class TestSimilarityIndex : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void exactMatchesBruteForce()
    {
        const auto rows = clustered(3000, 1);
        for (std::int64_t r : {0, 1234, 2999}) {
            const std::vector<float> q = rowOf(rows, r);
            const auto got = SimilarityIndex::exactSearch(view(rows, 3000), q.data(), 10);
            QCOMPARE(int(got.size()), 10);
            QCOMPARE(got[0].row, r); // the row itself first
            QVERIFY(std::abs(got[0].cosine - 1.0f) < 1e-4f);
            const auto truth = bruteForce(rows, 3000, q, 10);
            std::vector<std::int64_t> gotRows;
            for (const auto &n : got) gotRows.push_back(n.row);
            QCOMPARE(std::set<std::int64_t>(gotRows.begin(), gotRows.end()),
                     std::set<std::int64_t>(truth.begin(), truth.end()));
            for (size_t i = 1; i < got.size(); ++i) QVERIFY(got[i - 1].cosine >= got[i].cosine);
        }
        // A filter leaves rows out; a small library is exact whatever the index file says.
        const std::vector<float> q = rowOf(rows, 5);
        const auto filtered = SimilarityIndex::exactSearch(view(rows, 3000), q.data(), 5, [](std::int64_t r) { return r != 5; });
        for (const auto &n : filtered) QVERIFY(n.row != 5);
        QTemporaryDir dir;
        SimilarityIndex index(dir.filePath(QStringLiteral("x.sim")));
        SimilaritySearchInfo info;
        QCOMPARE(index.search(view(rows, 3000), q.data(), 5, {}, &info)[0].row, std::int64_t(5));
        QVERIFY(!info.approximate);
        QCOMPARE(info.exactRows, std::int64_t(3000));
        QVERIFY(index.isCurrent(3000)); // below the default threshold: nothing to build
    }

    void approximateAgreesWithExact()
    {
        if (!SimilarityIndex::approximateAvailable()) QSKIP("built without FAISS");
        const int n = 6000;
        const auto rows = clustered(n, 2);
        QTemporaryDir dir;
        SimilarityIndex index(dir.filePath(QStringLiteral("x.sim")), forcedOn());
        QVERIFY(!index.isCurrent(n));
        QString err;
        QVERIFY2(index.update(view(rows, n), nullptr, &err), qPrintable(err));
        QCOMPARE(index.indexedRows(), std::int64_t(n));
        QVERIFY(index.isCurrent(n));
        double recall = 0;
        const int queries = 40;
        for (int i = 0; i < queries; ++i) {
            const std::int64_t r = std::int64_t(i) * 149 % n;
            const std::vector<float> q = rowOf(rows, r);
            const auto accept = [r](std::int64_t x) { return x != r; };
            SimilaritySearchInfo info;
            const auto approx = index.search(view(rows, n), q.data(), 20, accept, &info);
            QVERIFY(info.approximate);
            QCOMPARE(info.exactRows, std::int64_t(0));
            for (const auto &nb : approx) QVERIFY(nb.row != r);
            recall += overlap(SimilarityIndex::exactSearch(view(rows, n), q.data(), 20, accept), approx);
        }
        recall /= queries;
        qInfo("recall@20 of the approximate index against exact search: %.3f", recall);
        QVERIFY2(recall >= 0.9, qPrintable(QString::number(recall)));
    }

    void persistsAndExtendsIncrementally()
    {
        if (!SimilarityIndex::approximateAvailable()) QSKIP("built without FAISS");
        const auto rows = clustered(6000, 3);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("x.sim"));
        {
            SimilarityIndex index(path, forcedOn());
            QVERIFY(index.update(view(rows, 5000)));
        }
        QVERIFY(QFile::exists(path));
        SimilarityIndex index(path, forcedOn());
        // Loaded from the file, no update: the 1,000 appended rows are searched exactly.
        const std::vector<float> q = rowOf(rows, 5500);
        SimilaritySearchInfo info;
        const auto got = index.search(view(rows, 6000), q.data(), 5, {}, &info);
        QVERIFY(info.approximate);
        QCOMPARE(info.indexedRows, std::int64_t(5000));
        QCOMPARE(info.exactRows, std::int64_t(1000));
        QCOMPARE(got[0].row, std::int64_t(5500));
        QVERIFY(!index.isCurrent(6000));
        // Extending adds the new rows (5,000 trained rows: 6,000 is no reason to retrain).
        QVERIFY(index.update(view(rows, 6000)));
        QCOMPARE(index.indexedRows(), std::int64_t(6000));
        index.search(view(rows, 6000), q.data(), 5, {}, &info);
        QCOMPARE(info.exactRows, std::int64_t(0));
        SimilarityIndex reopened(path, forcedOn());
        QCOMPARE(reopened.search(view(rows, 6000), q.data(), 5, {}, &info)[0].row, std::int64_t(5500));
        QCOMPARE(info.indexedRows, std::int64_t(6000));
    }

    void staleFileIsIgnored()
    {
        if (!SimilarityIndex::approximateAvailable()) QSKIP("built without FAISS");
        const auto a = clustered(4000, 4);
        const auto b = clustered(4000, 5); // the cache was deleted and embedded again
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("x.sim"));
        {
            SimilarityIndex index(path, forcedOn());
            QVERIFY(index.update(view(a, 4000)));
        }
        SimilarityIndex index(path, forcedOn());
        const std::vector<float> q = rowOf(b, 7);
        SimilaritySearchInfo info;
        QCOMPARE(index.search(view(b, 4000), q.data(), 3, {}, &info)[0].row, std::int64_t(7));
        QVERIFY(!info.approximate); // not built from these rows: exact
        QVERIFY(!index.isCurrent(4000));
        QFile::resize(path, 100); // and a truncated file is no index either
        SimilarityIndex truncated(path, forcedOn());
        truncated.search(view(b, 4000), q.data(), 3, {}, &info);
        QVERIFY(!info.approximate);
        QVERIFY(truncated.update(view(b, 4000)));
        truncated.search(view(b, 4000), q.data(), 3, {}, &info);
        QVERIFY(info.approximate);
    }

    void updatesInTheBackground()
    {
        if (!SimilarityIndex::approximateAvailable()) QSKIP("built without FAISS");
        auto rows = std::make_shared<std::vector<std::uint16_t>>(clustered(5000, 6));
        QTemporaryDir dir;
        SimilarityIndex index(dir.filePath(QStringLiteral("x.sim")), forcedOn());
        // The view owns the rows: the caller may drop its copy at once.
        index.updateInBackground(HalfRows{rows->data(), 5000, kDim, rows});
        const std::vector<float> q = rowOf(*rows, 42);
        // Searches do not wait for the update: exact until it is published.
        QCOMPARE(index.search(view(*rows, 5000), q.data(), 1)[0].row, std::int64_t(42));
        rows.reset();
        QString err;
        QVERIFY2(index.waitForBackground(&err), qPrintable(err));
        QVERIFY(!index.backgroundRunning());
        QCOMPARE(index.indexedRows(), std::int64_t(5000));
    }

    void destructorCancelsABackgroundUpdate()
    {
        if (!SimilarityIndex::approximateAvailable()) QSKIP("built without FAISS");
        auto rows = std::make_shared<std::vector<std::uint16_t>>(clustered(20000, 7));
        QTemporaryDir dir;
        {
            SimilarityIndex index(dir.filePath(QStringLiteral("x.sim")), forcedOn());
            index.updateInBackground(HalfRows{rows->data(), 20000, kDim, rows});
        } // returns without finishing the build (it must not crash or hang)
        QVERIFY(true);
    }
};

QTEST_GUILESS_MAIN(TestSimilarityIndex)
#include "tst_similarityindex.moc"
