// The 2-D map of the archive (core/archivemap.h): similar pictures near each
// other, a sample of a larger archive, and the map as a picture.
#include "core/archivemap.h"
#include "core/importer.h"
#include "core/library.h"
#include "core/tsne.h"

#include <QImage>
#include <QPainter>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace magpie;

class TestArchiveMap : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void similarPicturesLieNearEachOther()
    {
        // two kinds of picture: warm ones with a dark disc, cold ones with a light bar
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("archive"));
        QVERIFY(QDir().mkpath(folder));
        for (int i = 0; i < 20; ++i) {
            const bool warm = i % 2 == 0;
            QImage img(120 + 3 * i, 90, QImage::Format_RGB32);
            img.fill(warm ? QColor::fromHsv(10 + i, 200, 220) : QColor::fromHsv(210 + i, 180, 90));
            QPainter p(&img);
            p.setPen(Qt::NoPen);
            p.setBrush(warm ? QColor(40, 20, 10) : QColor(230, 240, 250));
            if (warm)
                p.drawEllipse(20 + i, 15, 50, 50);
            else
                p.drawRect(10, 30 + i, 100, 20);
            p.end();
            QVERIFY(img.save(QStringLiteral("%1/%2_%3.png").arg(folder, warm ? QStringLiteral("warm") : QStringLiteral("cold")).arg(i)));
        }
        auto lib = Library::create(dir.filePath(QStringLiteral("m.magpie")), nullptr);
        QVERIFY(lib);
        QCOMPARE(importFolder(*lib, folder).added, 20);

        const ArchiveMap map = mapArchive(*lib, 100);
        QCOMPARE(map.ids.size(), 20);
        QCOMPARE(map.positions.size(), 20);
        QCOMPARE(map.archiveImages, qint64(20));
        QCOMPARE(map.source, FeatureMatrix::Source::ColourTone); // nothing embedded here
        QVector<bool> warm;
        for (ImageId id : map.ids)
            warm << lib->image(id)->relPath.startsWith(QStringLiteral("warm"));
        for (const QPointF &p : map.positions)
            QVERIFY(p.x() >= 0 && p.x() <= 1 && p.y() >= 0 && p.y() <= 1);
        double within = 0, between = 0;
        int nw = 0, nb = 0;
        for (int i = 0; i < 20; ++i)
            for (int j = i + 1; j < 20; ++j) {
                const QPointF d = map.positions[i] - map.positions[j];
                const double dist = std::hypot(d.x(), d.y());
                (warm[i] == warm[j] ? within : between) += dist;
                ++(warm[i] == warm[j] ? nw : nb);
            }
        QVERIFY2(within / nw < 0.5 * between / nb, qPrintable(QStringLiteral("%1 vs %2").arg(within / nw).arg(between / nb)));

        // a larger archive is sampled, the same sample for the same seed
        const ArchiveMap sample = mapArchive(*lib, 8, 3);
        QCOMPARE(sample.ids.size(), 8);
        QCOMPARE(sample.archiveImages, qint64(20));
        QCOMPARE(mapArchive(*lib, 8, 3).ids, sample.ids);

        // as a picture: the thumbnails on the background
        const QColor background(0x20, 0x21, 0x25);
        const QImage picture = renderArchiveMap(*lib, map, 400, 40, background);
        QCOMPARE(picture.size(), QSize(400, 400));
        int painted = 0;
        for (int y = 0; y < 400; y += 4)
            for (int x = 0; x < 400; x += 4)
                painted += picture.pixel(x, y) != background.rgb();
        QVERIFY2(painted > 200, qPrintable(QString::number(painted)));
        QCOMPARE(map.method, QStringLiteral("principal plane")); // 20 images: t-SNE would pile each kind up
    }

    void tsneKeepsManyKindsApart()
    {
        // Eight kinds of picture, each a cloud around its own axis of a 16-d
        // space: every pair of kinds is equally far apart, so no plane of
        // principal components can show more than a few of them apart (most
        // centres fall on the same spot). t-SNE keeps each image among its kind.
        const int kinds = 8, per = 25, dim = 16;
        FeatureMatrix f;
        f.dim = dim;
        f.source = FeatureMatrix::Source::Embeddings;
        std::mt19937 rng(7);
        std::normal_distribution<float> noise(0.f, 0.5f);
        QVector<int> kind;
        for (int k = 0; k < kinds; ++k)
            for (int i = 0; i < per; ++i) {
                for (int c = 0; c < dim; ++c)
                    f.values.push_back((c == k ? 5.f : 0.f) + noise(rng));
                kind << k;
            }
        // the share of each point's 5 nearest neighbours on the map that are of its kind
        const auto agreement = [&](const std::vector<double> &xy) {
            const int n = int(kind.size());
            int same = 0;
            for (int i = 0; i < n; ++i) {
                std::vector<std::pair<double, int>> d;
                for (int j = 0; j < n; ++j)
                    if (j != i)
                        d.push_back({std::hypot(xy[2 * i] - xy[2 * j], xy[2 * i + 1] - xy[2 * j + 1]), j});
                std::partial_sort(d.begin(), d.begin() + 5, d.end());
                for (int t = 0; t < 5; ++t)
                    same += kind[d[t].second] == kind[i];
            }
            return double(same) / (5.0 * n);
        };
        const std::vector<double> t = tsne2d(f, 1);
        QCOMPARE(t.size(), size_t(kinds * per * 2));
        const double tsne = agreement(t), pca = agreement(principalPlane(f, 1));
        QVERIFY2(tsne > 0.95, qPrintable(QStringLiteral("t-SNE %1").arg(tsne)));
        QVERIFY2(pca < 0.75, qPrintable(QStringLiteral("principal plane %1").arg(pca))); // the premise
        QCOMPARE(tsne2d(f, 1), t); // deterministic
        std::atomic<bool> cancel{true};
        QVERIFY(tsne2d(f, 1, {}, &cancel).empty());
    }

    void alikePicturesArePartedNotPiled()
    {
        // Three kinds, each piled on one spot (as t-SNE places near-duplicates):
        // parted until no two are closer than the separation, each kind still
        // gathered around its own spot, far from the others.
        std::vector<double> x, y;
        const double spots[3][2] = {{0.2, 0.2}, {0.8, 0.2}, {0.5, 0.8}};
        for (int k = 0; k < 3; ++k)
            for (int i = 0; i < 100; ++i) {
                x.push_back(spots[k][0] + 1e-4 * (i % 10));
                y.push_back(spots[k][1] + 1e-4 * (i / 10));
            }
        const double minD = kMapSeparation / std::sqrt(300.0);
        separatePlaces(x, y, minD);
        double closest = 1;
        for (size_t i = 0; i < x.size(); ++i) {
            QVERIFY(x[i] >= 0 && x[i] <= 1 && y[i] >= 0 && y[i] <= 1);
            for (size_t j = i + 1; j < x.size(); ++j)
                closest = std::min(closest, std::hypot(x[i] - x[j], y[i] - y[j]));
            int nearest = 0;
            double best = 2;
            for (int k = 0; k < 3; ++k) {
                const double d = std::hypot(x[i] - spots[k][0], y[i] - spots[k][1]);
                if (d < best) {
                    best = d;
                    nearest = k;
                }
            }
            QCOMPARE(nearest, int(i / 100));
            QVERIFY2(best < 0.25, qPrintable(QString::number(best)));
        }
        QVERIFY2(closest > 0.95 * minD, qPrintable(QStringLiteral("%1 < %2").arg(closest).arg(minD)));
        // places already apart stay where they are
        std::vector<double> gx, gy;
        for (int i = 0; i < 10; ++i)
            for (int j = 0; j < 10; ++j) {
                gx.push_back(0.05 + 0.1 * i);
                gy.push_back(0.05 + 0.1 * j);
            }
        const auto before = gx;
        separatePlaces(gx, gy, 0.07);
        QCOMPARE(gx, before);
    }
};

QTEST_GUILESS_MAIN(TestArchiveMap)
#include "tst_archivemap.moc"
