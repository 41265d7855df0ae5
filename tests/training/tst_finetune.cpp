// Deep mode (fineTune) and the library's choice of backbone.
#include "core/importer.h"
#include "core/library.h"
#include "training/backbone.h"
#include "training/backboneformat.h"
#include "training/finetune.h"
#include "training/service/curator.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

using namespace magpie;
using namespace magpie::training;

class TestFineTune : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qunsetenv("MAGPIE_BACKBONE"); }
    void tunesOnlyFromFirstBlockAndReportsProgress();
    void newBlocksStartAsIdentityThenTrain();
    void libraryChoosesItsBackbone();
};

namespace {
std::map<std::string, std::vector<float>> weightsByName(const std::string &file)
{
    BackboneSpec spec;
    std::string err;
    std::map<std::string, std::vector<float>> out;
    if (!readBackbone(file, &spec, &err)) return out;
    for (const ConvOp &op : spec.ops) out[op.name] = op.weight;
    return out;
}
} // namespace

void TestFineTune::tunesOnlyFromFirstBlockAndReportsProgress()
{
    QTemporaryDir dir;
    const int S = 224, n = 6;
    std::vector<std::uint8_t> images(static_cast<std::size_t>(n) * S * S * 3);
    std::mt19937 rng(3);
    for (auto &v : images) v = static_cast<std::uint8_t>(rng() & 0xff);
    const std::vector<int> labels{0, 1, 2, 0, 1, 2};
    std::map<int, std::string> files;
    for (int first : {9, 7}) {
        FineTuneConfig cfg;
        cfg.numClasses = 3;
        cfg.epochs = 2;
        cfg.batchSize = 4;
        cfg.firstBlock = first;
        std::vector<std::int64_t> seen;
        cfg.progress = [&](std::int64_t done, std::int64_t total) {
            QCOMPARE(total, std::int64_t(2 * n));
            seen.push_back(done);
        };
        FineTuneReport rep;
        std::string err;
        files[first] = dir.filePath(QStringLiteral("ft%1.mbb").arg(first)).toStdString();
        QVERIFY2(fineTune(MAGPIE_BACKBONE_FILE, images.data(), n, labels, cfg, files[first], &rep, &err), err.c_str());
        QCOMPARE(rep.epochs, 2);
        // two batches per epoch (4 + 2 images), reported in order, ending at epochs x images
        QCOMPARE(seen, (std::vector<std::int64_t>{4, 6, 10, 12}));
    }
    const auto w9 = weightsByName(files[9]), w7 = weightsByName(files[7]);
    QVERIFY(!w9.empty() && w9.size() == w7.size());
    int changed7 = 0, same6 = 0, blocks6 = 0;
    for (const auto &[name, w] : w9) {
        if (name.rfind("block_6_", 0) == 0) {
            ++blocks6;
            same6 += w == w7.at(name);
        }
        if (name.rfind("block_7_", 0) == 0 || name.rfind("block_8_", 0) == 0) changed7 += w != w7.at(name);
    }
    QVERIFY(blocks6 > 0);
    QCOMPARE(same6, blocks6);      // frozen below the first tuned block, in both runs
    QCOMPARE(changed7, 6);         // blocks 7 and 8 (expand, depthwise, project) only tuned from 7
}

void TestFineTune::newBlocksStartAsIdentityThenTrain()
{
    QTemporaryDir dir;
    const int S = 224, n = 6;
    std::vector<std::uint8_t> images(static_cast<std::size_t>(n) * S * S * 3);
    std::mt19937 rng(5);
    for (auto &v : images) v = static_cast<std::uint8_t>(rng() & 0xff);
    const std::vector<int> labels{0, 1, 2, 0, 1, 2};
    auto tune = [&](const std::string &from, int epochs, int blocks, const QString &name) {
        FineTuneConfig cfg;
        cfg.numClasses = 3;
        cfg.epochs = epochs;
        cfg.batchSize = 3;
        cfg.newBlocks = blocks;
        cfg.newBlockExpansion = 2;
        const std::string out = dir.filePath(name).toStdString();
        std::string err;
        FineTuneReport rep;
        if (!fineTune(from, images.data(), n, labels, cfg, out, &rep, &err)) {
            qWarning("%s", err.c_str());
            return std::string();
        }
        return out;
    };
    // Before any step, a pass with new blocks computes exactly what the same
    // pass without them computes: each new block starts as the identity.
    const std::string plain = tune(MAGPIE_BACKBONE_FILE, 0, 0, QStringLiteral("plain.mbb"));
    const std::string withBlocks = tune(MAGPIE_BACKBONE_FILE, 0, 2, QStringLiteral("blocks0.mbb"));
    QVERIFY(!plain.empty() && !withBlocks.empty());
    std::string err;
    auto a = Backbone::load(plain, &err), b = Backbone::load(withBlocks, &err);
    QVERIFY2(a && b, err.c_str());
    QCOMPARE(b->info().featureDim, a->info().featureDim);
    QVERIFY(b->info().version != a->info().version);
    std::vector<float> fa(static_cast<std::size_t>(2 * a->info().featureDim)), fb(fa.size());
    QVERIFY(a->embed(images.data(), 2, fa.data(), &err));
    QVERIFY(b->embed(images.data(), 2, fb.data(), &err));
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < fa.size(); ++i) {
        diff = std::max(diff, double(std::abs(fa[i] - fb[i])));
        norm = std::max(norm, double(std::abs(fa[i])));
    }
    QVERIFY(norm > 0);
    QVERIFY2(diff <= 1e-5 * norm, qPrintable(QStringLiteral("max difference %1 of %2").arg(diff).arg(norm)));

    // Trained, the new blocks change (the projection leaves zero); a second
    // pass over that result keeps them, adds its own under new names, and
    // the file still embeds.
    const std::string once = tune(MAGPIE_BACKBONE_FILE, 1, 2, QStringLiteral("once.mbb"));
    QVERIFY(!once.empty());
    auto w = weightsByName(once);
    for (const char *op : {"magpie_block_0_expand", "magpie_block_0_depthwise", "magpie_block_0_project",
                           "magpie_block_1_project"})
        QVERIFY2(w.count(op), op);
    const auto &proj = w.at("magpie_block_0_project");
    QVERIFY(std::any_of(proj.begin(), proj.end(), [](float v) { return v != 0.0f; }));
    const std::string twice = tune(once, 1, 1, QStringLiteral("twice.mbb"));
    QVERIFY(!twice.empty());
    const auto w2 = weightsByName(twice);
    QVERIFY(w2.count("magpie_block_2_project"));
    QVERIFY(w2.at("magpie_block_0_project") != proj); // earlier new blocks keep training
    BackboneSpec spec;
    QVERIFY(readBackbone(twice, &spec, &err));
    int projectAt = -1, expandAt = -1;
    for (std::size_t i = 0; i < spec.ops.size(); ++i) {
        if (spec.ops[i].name == "magpie_block_2_expand") expandAt = int(i);
        if (spec.ops[i].name == "magpie_block_2_project") projectAt = int(i);
    }
    QVERIFY(expandAt > 0 && projectAt == expandAt + 2);
    QCOMPARE(spec.ops[std::size_t(projectAt)].addFrom, expandAt - 1); // residual from the block's input
    auto c = Backbone::load(twice, &err);
    QVERIFY2(c, err.c_str());
    std::vector<float> fc(static_cast<std::size_t>(c->info().featureDim));
    QVERIFY2(c->embed(images.data(), 1, fc.data(), &err), err.c_str());
    QVERIFY(std::all_of(fc.begin(), fc.end(), [](float v) { return std::isfinite(v); }));
}

void TestFineTune::libraryChoosesItsBackbone()
{
    QTemporaryDir dir;
    QString err;
    auto lib = Library::create(dir.filePath(QStringLiteral("t.library")), &err);
    QVERIFY2(lib, qPrintable(err));
    QCOMPARE(Curator::libraryBackbone(*lib), QStringLiteral("general"));
    QVERIFY(!Curator::setLibraryBackbone(*lib, QStringLiteral("rocks"), &err));
    QVERIFY(err.contains(QStringLiteral("unknown backbone")));
    QCOMPARE(Curator::libraryBackbone(*lib), QStringLiteral("general"));

    const QString letters = Curator::resolveBackbone(QStringLiteral("letters"));
    QVERIFY2(!letters.isEmpty(), "resources/backbones/letters.mbb is part of the source tree");
    QVERIFY(Curator::setLibraryBackbone(*lib, QStringLiteral("letters"), &err));
    QCOMPARE(Curator::libraryBackbone(*lib), QStringLiteral("letters"));
    QCOMPARE(importFolder(*lib, QStringLiteral(MAGPIE_TEST_DATA "/training")).added, qint64(5));

    Curator general(*lib, QStringLiteral("general")), own(*lib);
    QCOMPARE(own.backbonePath(), letters);
    QVERIFY(own.backboneVersion() != general.backboneVersion());
    EmbedReport r;
    QVERIFY2(own.embed(&r), qPrintable(own.lastError()));
    QCOMPARE(r.embedded, qint64(5));

    // The shipped prior head fits the shipped letters backbone: a letters class
    // set is scored before any answer (model version 0).
    QFile meta(QFileInfo(letters).absolutePath() + QStringLiteral("/letters.prior.txt"));
    QVERIFY(meta.open(QIODevice::ReadOnly));
    QVERIFY2(QString::fromUtf8(meta.readAll()).contains(QStringLiteral("backbone ") + own.backboneVersion()),
             "resources/backbones/letters.prior.txt names another backbone version: rebuild the prior with the backbone");
    const auto set = lib->createCategory(QStringLiteral("letters"), CategoryKind::ClassSet, letterClasses());
    QVERIFY(set);
    QVector<ImageId> ids;
    QVector<float> probs;
    int classes = 0;
    qint64 version = -1;
    QVERIFY2(own.scores(*set, &ids, &probs, &classes, &version), qPrintable(own.lastError()));
    QCOMPARE(classes, 27);
    QCOMPARE(version, qint64(0));
    QCOMPARE(ids.size(), 5);
}

QTEST_GUILESS_MAIN(TestFineTune)
#include "tst_finetune.moc"
