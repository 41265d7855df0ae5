// The LibTorch MobileNetV2 cut must agree with the original TensorFlow.js
// model (reference features computed by reference/make_reference.js).
#include "training/backbone.h"
#include "training/backboneformat.h"
#include "training/engine.h"

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace magpie::training;

class TestBackbone : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initRuntime(); }
    void matchesTfjs();
    void rejectsCorruptFile();
    void halfRoundTrip();
    void torchScriptExportIsAUserBackbone_data();
    void torchScriptExportIsAUserBackbone();
    void inputSizeNamesItsOwnCache();
};

static std::vector<std::uint8_t> rgbOf(QImage img)
{
    img = img.convertToFormat(QImage::Format_RGB888);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(img.width() * img.height() * 3));
    for (int y = 0; y < img.height(); ++y)
        std::memcpy(out.data() + static_cast<std::size_t>(y * img.width() * 3), img.constScanLine(y),
                    static_cast<std::size_t>(img.width() * 3));
    return out;
}

void TestBackbone::matchesTfjs()
{
    std::string err;
    auto b = Backbone::load(MAGPIE_BACKBONE_FILE, &err);
    QVERIFY2(b, err.c_str());
    QCOMPARE(b->info().featureDim, 1536);
    QCOMPARE(b->info().inputSize, 224);
    QFile f(QStringLiteral(MAGPIE_TEST_DATA "/training/mnv2-b10-reference.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonArray images = QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("images")).toArray();
    QVERIFY(images.size() >= 5);
    double worst = 0;
    for (const QJsonValue &v : images) {
        const QJsonObject o = v.toObject();
        const auto rgb = rgbOf(QImage(QStringLiteral(MAGPIE_TEST_DATA "/training/") + o.value(QStringLiteral("file")).toString()));
        QCOMPARE(rgb.size(), std::size_t(224 * 224 * 3));
        std::vector<float> feats(1536);
        QVERIFY2(b->embed(rgb.data(), 1, feats.data(), &err), err.c_str());
        const QJsonArray ref = o.value(QStringLiteral("features")).toArray();
        QCOMPARE(ref.size(), 1536);
        double maxAbs = 0, diff = 0;
        for (int i = 0; i < 1536; ++i) {
            maxAbs = std::max(maxAbs, std::abs(ref[i].toDouble()));
            diff = std::max(diff, std::abs(ref[i].toDouble() - feats[static_cast<std::size_t>(i)]));
        }
        QVERIFY(maxAbs > 0.1); // not a degenerate reference
        worst = std::max(worst, diff);
    }
    qInfo("largest absolute difference to tfjs over %d images: %.3g", int(images.size()), worst);
    QVERIFY2(worst < 2e-4, qPrintable(QString::number(worst)));
}

void TestBackbone::rejectsCorruptFile()
{
    QTemporaryDir dir;
    QFile src(QStringLiteral(MAGPIE_BACKBONE_FILE));
    QVERIFY(src.open(QIODevice::ReadOnly));
    QByteArray bytes = src.readAll();
    bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x55);
    const QString bad = dir.filePath(QStringLiteral("bad.mbb"));
    QFile out(bad);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(bytes);
    out.close();
    std::string err;
    QVERIFY(!Backbone::load(bad.toStdString(), &err));
    QVERIFY(err.find("checksum") != std::string::npos);
    QVERIFY(!Backbone::load(dir.filePath(QStringLiteral("missing.mbb")).toStdString(), &err));
}

void TestBackbone::halfRoundTrip()
{
    for (float f : {0.0f, 1.0f, -2.5f, 0.1f, 65504.0f, 1e-6f, -3.14159f}) {
        const float back = halfToFloat(floatToHalf(f));
        QVERIFY2(std::abs(back - f) <= std::abs(f) * 1e-3f + 1e-7f, qPrintable(QString::number(f)));
    }
}

void TestBackbone::torchScriptExportIsAUserBackbone_data()
{
    QTest::addColumn<QString>("file");
    QTest::newRow("general") << QStringLiteral(MAGPIE_BACKBONE_FILE);
    QTest::newRow("letters (extra linear layers)") << QStringLiteral(MAGPIE_LETTERS_BACKBONE_FILE);
}

void TestBackbone::torchScriptExportIsAUserBackbone()
{
    // The user-backbone path (.pt, TorchScript) with a real network: a Magpie
    // backbone exported as TorchScript loads as a user's module and gives the
    // same features as the .mbb on real images.
    QFETCH(QString, file);
    std::string err;
    auto native = Backbone::load(file.toStdString(), &err);
    QVERIFY2(native, err.c_str());
    QTemporaryDir dir;
    const std::string pt = dir.filePath(QStringLiteral("exported.pt")).toStdString();
    QVERIFY2(native->exportTorchScript(pt, &err), err.c_str());
    auto script = Backbone::load(pt, &err);
    QVERIFY2(script, err.c_str());
    QVERIFY(script->info().name.rfind("script:", 0) == 0);
    QCOMPARE(script->info().featureDim, native->info().featureDim);
    QVERIFY(script->info().version != native->info().version); // its own embedding cache
    QVERIFY(!script->exportTorchScript(pt + ".again", &err)); // only .mbb backbones export
    const int D = native->info().featureDim;
    std::vector<std::uint8_t> batch;
    for (const char *f : {"initials_img_00001.png", "initials_img_00002.png", "themes_img_00003.png"}) {
        const auto rgb = rgbOf(QImage(QStringLiteral(MAGPIE_TEST_DATA "/training/") + QLatin1String(f)));
        QCOMPARE(rgb.size(), std::size_t(224 * 224 * 3));
        batch.insert(batch.end(), rgb.begin(), rgb.end());
    }
    std::vector<float> a(static_cast<std::size_t>(3 * D)), b(a.size());
    QVERIFY2(native->embed(batch.data(), 3, a.data(), &err), err.c_str());
    QVERIFY2(script->embed(batch.data(), 3, b.data(), &err), err.c_str());
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, double(std::abs(a[i] - b[i])));
        scale = std::max(scale, double(std::abs(a[i])));
    }
    qInfo("TorchScript export vs .mbb: largest difference %.3g (largest feature %.3g)", diff, scale);
    QVERIFY(scale > 0.1);
    QVERIFY2(diff < 1e-4 * std::max(1.0, scale), qPrintable(QString::number(diff)));
}

void TestBackbone::inputSizeNamesItsOwnCache()
{
    // The version names the embedding cache. The same weights run at another
    // input size give other features, so they must not share a cache; and
    // backbones at the default size keep the names their caches and prior
    // heads already carry (letters.prior.txt names the shipped letters.mbb's).
    std::string err;
    auto letters = Backbone::load(MAGPIE_LETTERS_BACKBONE_FILE, &err);
    QVERIFY2(letters, err.c_str());
    QFile prior(QStringLiteral(MAGPIE_LETTERS_BACKBONE_FILE).replace(QStringLiteral(".mbb"), QStringLiteral(".prior.txt")));
    QVERIFY(prior.open(QIODevice::ReadOnly | QIODevice::Text));
    const QString meta = QString::fromUtf8(prior.readAll());
    QVERIFY2(meta.contains(QStringLiteral("backbone ") + QString::fromStdString(letters->info().version)),
             letters->info().version.c_str());

    BackboneSpec spec;
    QVERIFY2(readBackbone(MAGPIE_BACKBONE_FILE, &spec, &err), err.c_str());
    spec.inputSize = 160;
    QTemporaryDir dir;
    const std::string small = dir.filePath(QStringLiteral("small.mbb")).toStdString();
    QVERIFY2(writeBackbone(spec, small, &err), err.c_str());
    auto a = Backbone::load(MAGPIE_BACKBONE_FILE, &err);
    auto b = Backbone::load(small, &err);
    QVERIFY2(a && b, err.c_str());
    QCOMPARE(b->info().inputSize, 160);
    QVERIFY(b->info().version != a->info().version);
    QVERIFY(b->info().version.rfind(a->info().version, 0) == 0); // the same network, at another size
    // and the features do differ: the same picture at 224 and at 160 px
    const int D = a->info().featureDim;
    QImage img(QStringLiteral(MAGPIE_TEST_DATA "/training/themes_img_00003.png"));
    std::vector<float> fa(static_cast<std::size_t>(D)), fb(fa.size());
    const auto at224 = rgbOf(img);
    const auto at160 = rgbOf(img.scaled(160, 160, Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
    QVERIFY2(a->embed(at224.data(), 1, fa.data(), &err), err.c_str());
    QVERIFY2(b->embed(at160.data(), 1, fb.data(), &err), err.c_str());
    double diff = 0;
    for (std::size_t i = 0; i < fa.size(); ++i) diff = std::max(diff, double(std::abs(fa[i] - fb[i])));
    QVERIFY(diff > 1e-3);
}

QTEST_GUILESS_MAIN(TestBackbone)
#include "tst_backbone.moc"
