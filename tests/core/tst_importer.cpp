// Import of real files, good and bad. Every bad file is made here by the test
// (or kept, tiny, in tests/data), so the suite runs on a fresh clone.
#include "core/imagedecoder.h"
#include "core/importer.h"
#include "core/library.h"

#include <opencv2/imgcodecs.hpp>

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QSet>
#include <QTemporaryDir>
#include <QScopeGuard>
#include <QTest>

using namespace magpie;

namespace {

quint32 crc32(const QByteArray &data)
{
    quint32 c = 0xFFFFFFFFu;
    for (const char ch : data) {
        c ^= quint8(ch);
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

void putBE32(QByteArray &b, int at, quint32 v)
{
    b[at] = char(v >> 24);
    b[at + 1] = char(v >> 16);
    b[at + 2] = char(v >> 8);
    b[at + 3] = char(v);
}

QByteArray encode(const QImage &img, const char *fmt, int quality = 90)
{
    QByteArray out;
    QBuffer buf(&out);
    buf.open(QIODevice::WriteOnly);
    img.save(&buf, fmt, quality);
    return out;
}

QImage pattern(int w, int h, int seed = 0)
{
    QImage img(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.setPixelColor(x, y, QColor((x * 7 + seed * 40) % 256, (y * 5 + seed * 90) % 256, ((x + y) * 3) % 256));
    return img;
}

// A JPEG whose EXIF says "rotate 90 clockwise" (orientation 6).
QByteArray exifRotatedJpeg(int w, int h)
{
    QByteArray jpg = encode(pattern(w, h), "JPEG");
    QByteArray tiff("MM\0*\0\0\0\x08", 8);
    tiff += QByteArray("\0\x01", 2);                     // one IFD entry
    tiff += QByteArray("\x01\x12\0\x03\0\0\0\x01\0\x06\0\0", 12); // Orientation SHORT 1 = 6
    tiff += QByteArray(4, '\0');                          // no next IFD
    QByteArray app1 = QByteArray("Exif\0\0", 6) + tiff;
    QByteArray seg("\xFF\xE1", 2);
    const int len = int(app1.size()) + 2;
    seg += char(len >> 8);
    seg += char(len & 0xFF);
    seg += app1;
    return jpg.left(2) + seg + jpg.mid(2);
}

// A PNG whose IHDR claims 40000 x 40000 pixels (with a valid CRC).
QByteArray hugePng()
{
    QByteArray png = encode(pattern(8, 8), "PNG");
    putBE32(png, 16, 40000);
    putBE32(png, 20, 40000);
    putBE32(png, 29, crc32(png.mid(12, 17)));
    return png;
}

QByteArray brokenCrcPng()
{
    QByteArray png = encode(pattern(32, 32), "PNG");
    const int idat = int(png.indexOf("IDAT"));
    const quint32 len = (quint8(png[idat - 4]) << 24) | (quint8(png[idat - 3]) << 16) | (quint8(png[idat - 2]) << 8)
                        | quint8(png[idat - 1]);
    const int crcAt = idat + 4 + int(len);
    png[crcAt] = char(png[crcAt] ^ 0x5A);
    return png;
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

} // namespace

class tst_Importer : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_archive;
    std::unique_ptr<Library> m_lib;

    ImageRecord byName(const QString &rel)
    {
        const ImageId id = m_lib->findByPath(m_archive + QLatin1Char('/') + rel);
        if (!id)
            return {};
        return *m_lib->image(id);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_archive = m_tmp.filePath(QStringLiteral("archive"));
        const QString a = m_archive + QLatin1Char('/');
        QVERIFY(writeFile(a + QStringLiteral("good.jpg"), encode(pattern(640, 480), "JPEG")));
        QVERIFY(writeFile(a + QStringLiteral("good.png"), encode(pattern(120, 80, 1), "PNG")));
        QVERIFY(writeFile(a + QStringLiteral("good.bmp"), encode(pattern(50, 40, 2), "BMP")));
        const QByteArray full = encode(pattern(300, 200, 3), "JPEG");
        QVERIFY(writeFile(a + QStringLiteral("bad/truncated.jpg"), full.left(full.size() / 2)));
        // cut short, with the bytes FF D9 inside a comment segment: they must not pass for the end marker
        const QByteArray com = QByteArray("\xFF\xFE\x00\x06\xFF\xD9xy", 8);
        const QByteArray withComment = full.left(2) + com + full.mid(2);
        QVERIFY(writeFile(a + QStringLiteral("bad/truncated-scan.jpg"), withComment.left(withComment.size() / 2)));
        QVERIFY(writeFile(a + QStringLiteral("bad/zero.jpg"), {}));
        QVERIFY(writeFile(a + QStringLiteral("bad/text.jpg"), "Dear curator,\nthis is a letter, not a picture.\n"));
        QVERIFY(writeFile(a + QStringLiteral("bad/text.png"), "hello"));
        QVERIFY(writeFile(a + QStringLiteral("bad/crc.png"), brokenCrcPng()));
        QVERIFY(writeFile(a + QStringLiteral("bad/huge.png"), hugePng()));
        QVERIFY(writeFile(a + QStringLiteral("odd/rotated.jpg"), exifRotatedJpeg(60, 40)));
        QFile cmyk(QStringLiteral(MAGPIE_TEST_DATA "/cmyk.jpg"));
        QVERIFY(cmyk.open(QIODevice::ReadOnly));
        QVERIFY(writeFile(a + QStringLiteral("odd/cmyk.jpg"), cmyk.readAll()));
        QFile gif(QStringLiteral(MAGPIE_TEST_DATA "/animated.gif"));
        QVERIFY(gif.open(QIODevice::ReadOnly));
        QVERIFY(writeFile(a + QStringLiteral("odd/animated.gif"), gif.readAll()));
        // 16-bit PNG and a two-page TIFF, written by OpenCV
        cv::Mat deep(30, 40, CV_16UC3, cv::Scalar(60000, 30000, 1000));
        QVERIFY(cv::imwrite(QString(a + QStringLiteral("odd/deep16.png")).toStdString(), deep));
        std::vector<cv::Mat> pages{cv::Mat(20, 30, CV_8UC3, cv::Scalar(255, 0, 0)), cv::Mat(20, 30, CV_8UC3, cv::Scalar(0, 255, 0))};
        QVERIFY(cv::imwritemulti(QString(a + QStringLiteral("odd/pages.tiff")).toStdString(), pages));
        // non-Latin names
        QVERIFY(writeFile(a + QStringLiteral("Ünïcødé 日本/名前 ώ.jpg"), encode(pattern(64, 64, 4), "JPEG")));
        // a symlink loop and a non-image file that must be ignored
        QVERIFY(QFile::link(m_archive, a + QStringLiteral("odd/loop")));
        QVERIFY(writeFile(a + QStringLiteral("notes.txt"), "not an image"));
        // the library lives inside the archive: its cache must not be imported
        m_lib = Library::create(a + QStringLiteral("lib.magpie"), nullptr);
        QVERIFY(m_lib);
    }

    void firstImport()
    {
        QString deleted = m_archive + QStringLiteral("/vanishing.jpg");
        QVERIFY(writeFile(deleted, encode(pattern(20, 20), "JPEG")));
        ImportOptions opt;
        opt.afterListing = [&](const QStringList &) { QFile::remove(deleted); };
        QVector<ImportProgress> progress;
        const ImportReport r = importFolder(*m_lib, m_archive, opt, [&](const ImportProgress &p) { progress << p; });
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        QCOMPARE(r.listed, 17);
        QCOMPARE(r.unreadable, 7);
        QCOMPARE(r.added, 9);
        QCOMPARE(r.vanished, 1);
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().phase, QStringLiteral("done"));
        QCOMPARE(progress.last().done, 17);

        const auto reasonOf = [&](const QString &rel) { return byName(rel).reason; };
        QCOMPARE(byName(QStringLiteral("bad/truncated.jpg")).status, ImageStatus::Unreadable);
        QVERIFY2(reasonOf(QStringLiteral("bad/truncated.jpg")).contains(QStringLiteral("truncated JPEG")),
                 qPrintable(reasonOf(QStringLiteral("bad/truncated.jpg"))));
        QVERIFY2(reasonOf(QStringLiteral("bad/truncated-scan.jpg")).contains(QStringLiteral("truncated JPEG")),
                 qPrintable(reasonOf(QStringLiteral("bad/truncated-scan.jpg"))));
        QVERIFY(reasonOf(QStringLiteral("bad/zero.jpg")).contains(QStringLiteral("empty file")));
        QVERIFY(reasonOf(QStringLiteral("bad/text.jpg")).contains(QStringLiteral("holds text")));
        QVERIFY(reasonOf(QStringLiteral("bad/text.png")).startsWith(QStringLiteral("not an image")));
        QVERIFY2(reasonOf(QStringLiteral("bad/crc.png")).contains(QStringLiteral("corrupt PNG")),
                 qPrintable(reasonOf(QStringLiteral("bad/crc.png"))));
        QVERIFY2(reasonOf(QStringLiteral("bad/huge.png")).contains(QStringLiteral("40000 x 40000")),
                 qPrintable(reasonOf(QStringLiteral("bad/huge.png"))));
        // every skipped file is recorded with its reason in the library too
        const auto issues = m_lib->importIssues();
        QVERIFY(issues.size() >= 8);
        bool loopRecorded = false, deletedRecorded = false;
        for (const auto &i : issues) {
            loopRecorded |= i.second.contains(QStringLiteral("symlink loop"));
            deletedRecorded |= i.first.endsWith(QStringLiteral("vanishing.jpg")) && i.second.contains(QStringLiteral("deleted"));
        }
        QVERIFY(loopRecorded);
        QVERIFY(deletedRecorded);
    }

    void oddButGood_data()
    {
        QTest::addColumn<QString>("rel");
        QTest::addColumn<QString>("format");
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("orientation");
        QTest::addColumn<int>("frames");
        QTest::newRow("jpeg") << "good.jpg" << "jpeg" << 640 << 480 << 1 << 1;
        QTest::newRow("bmp") << "good.bmp" << "bmp" << 50 << 40 << 1 << 1;
        QTest::newRow("exif rotated") << "odd/rotated.jpg" << "jpeg" << 40 << 60 << 6 << 1;
        QTest::newRow("cmyk jpeg") << "odd/cmyk.jpg" << "jpeg" << 64 << 48 << 1 << 1;
        QTest::newRow("animated gif") << "odd/animated.gif" << "gif" << 40 << 30 << 1 << 3;
        QTest::newRow("16-bit png") << "odd/deep16.png" << "png" << 40 << 30 << 1 << 1;
        QTest::newRow("multi-page tiff") << "odd/pages.tiff" << "tiff" << 30 << 20 << 1 << 2;
        QTest::newRow("non-latin path") << QStringLiteral("Ünïcødé 日本/名前 ώ.jpg") << "jpeg" << 64 << 64 << 1 << 1;
    }

    void oddButGood()
    {
        QFETCH(QString, rel);
        const ImageRecord r = byName(rel);
        QVERIFY2(r.id, qPrintable(rel));
        QCOMPARE(r.status, ImageStatus::Ok);
        QTEST(r.format, "format");
        QTEST(r.width, "width");
        QTEST(r.height, "height");
        QTEST(r.orientation, "orientation");
        QTEST(r.frames, "frames");
        const QImage thumb(m_lib->thumbnailPath(r.hash));
        QVERIFY2(!thumb.isNull(), "thumbnail written to the cache");
        QVERIFY(std::max(thumb.width(), thumb.height()) <= 256);
        // the thumbnail is displayed upright: its aspect follows width/height
        QCOMPARE(thumb.width() >= thumb.height(), r.width >= r.height);
    }

    void reimportIsIncremental()
    {
        const QString a = m_archive + QLatin1Char('/');
        const ImageId goodId = byName(QStringLiteral("good.jpg")).id;
        auto cat = m_lib->createCategory(QStringLiteral("patterns"), CategoryKind::Binary);
        QVERIFY(m_lib->answer({goodId, cat->id, 0, AnswerValue::Yes}));

        // nothing changed: nothing read, but the files that could not be read
        // are tried again and counted as unreadable again (not as unchanged)
        const qint64 unreadableBefore = m_lib->images(ImageStatus::Unreadable, 100000).size();
        QVERIFY(unreadableBefore > 0);
        ImportReport r = importFolder(*m_lib, m_archive);
        QCOMPARE(r.unchanged + r.unreadable, r.listed);
        QCOMPARE(qint64(r.unreadable), unreadableBefore);
        QCOMPARE(r.added + r.updated + r.moved, 0);
        // the import problems are this import's: each file once, and the file
        // deleted during the first import is no longer listed
        const auto issues = m_lib->importIssues();
        QSet<QString> paths;
        for (const auto &i : issues) {
            QVERIFY2(!paths.contains(i.first), qPrintable(i.first + QStringLiteral(" listed twice")));
            paths.insert(i.first);
            QVERIFY2(!i.first.endsWith(QStringLiteral("vanishing.jpg")), qPrintable(i.first));
        }
        QCOMPARE(issues.size(), r.issues.size());

        // move a file, copy another, delete one, add one
        QVERIFY(QDir().mkpath(a + QStringLiteral("moved")));
        QVERIFY(QFile::rename(a + QStringLiteral("good.jpg"), a + QStringLiteral("moved/renamed.jpg")));
        QVERIFY(QFile::copy(a + QStringLiteral("good.png"), a + QStringLiteral("copy-of-good.png")));
        QVERIFY(QFile::remove(a + QStringLiteral("good.bmp")));
        QVERIFY(writeFile(a + QStringLiteral("new.jpg"), encode(pattern(33, 22, 9), "JPEG")));
        const qint64 before = m_lib->imageCount();
        r = importFolder(*m_lib, m_archive);
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        QCOMPARE(r.moved, 1);
        QCOMPARE(r.duplicates, 1);
        QCOMPARE(r.added, 1);
        QCOMPARE(r.vanished, 2); // good.jpg (moved away) and good.bmp
        const ImageRecord moved = byName(QStringLiteral("moved/renamed.jpg"));
        QCOMPARE(moved.id, goodId); // same image: its answers stay
        QCOMPARE(moved.status, ImageStatus::Ok);
        QCOMPARE(m_lib->answers(cat->id).size(), 1);
        QCOMPARE(byName(QStringLiteral("copy-of-good.png")).status, ImageStatus::Duplicate);
        QCOMPARE(byName(QStringLiteral("copy-of-good.png")).duplicateOf, byName(QStringLiteral("good.png")).id);
        QCOMPARE(m_lib->image(m_lib->findByPath(a + QStringLiteral("good.bmp")))->status, ImageStatus::Missing);
        QCOMPARE(m_lib->imageCount(), before + 2); // the copy and new.jpg; the move reused its row

        // a file put back is found again and becomes ok
        QVERIFY(writeFile(a + QStringLiteral("good.bmp"), encode(pattern(50, 40, 2), "BMP")));
        r = importFolder(*m_lib, m_archive);
        QCOMPARE(r.updated, 1);
        QCOMPARE(byName(QStringLiteral("good.bmp")).status, ImageStatus::Ok);

        // a bad file mended: read at the next import, and no longer a problem
        const auto listed = [&](const QString &rel) {
            for (const auto &i : m_lib->importIssues())
                if (i.first.endsWith(rel))
                    return true;
            return false;
        };
        QVERIFY(listed(QStringLiteral("bad/text.png")));
        QVERIFY(writeFile(a + QStringLiteral("bad/text.png"), encode(pattern(24, 24, 5), "PNG")));
        r = importFolder(*m_lib, m_archive);
        QCOMPARE(byName(QStringLiteral("bad/text.png")).status, ImageStatus::Ok);
        QVERIFY(!listed(QStringLiteral("bad/text.png")));
        QVERIFY(listed(QStringLiteral("bad/truncated.jpg")));
    }

    void pixelLimitIsConfigurable()
    {
        QTemporaryDir dir;
        QVERIFY(writeFile(dir.filePath(QStringLiteral("big.png")), encode(pattern(400, 300), "PNG")));
        auto lib = Library::create(dir.filePath(QStringLiteral("l.magpie")), nullptr);
        ImportOptions opt;
        opt.limits.maxPixels = 100000; // 0.1 MP
        ImportReport r = importFolder(*lib, dir.path(), opt);
        QCOMPARE(r.unreadable, 1);
        QVERIFY(r.issues.first().second.contains(QStringLiteral("too large")));

        // the process's default (the GUI's Settings > Largest Image) applies to
        // every decode that names no limit: the card's and embedding's too
        QString why;
        QVERIFY(!decoder::decodeFile(dir.filePath(QStringLiteral("big.png")), 256, &why).isNull());
        setDefaultMaxPixels(100000);
        const auto restore = qScopeGuard([] { setDefaultMaxPixels(kDefaultMaxPixels); });
        QCOMPARE(DecodeLimits().maxPixels, qint64(100000));
        QVERIFY(decoder::decodeFile(dir.filePath(QStringLiteral("big.png")), 256, &why).isNull());
        QVERIFY2(why.contains(QStringLiteral("too large")), qPrintable(why));
        setDefaultMaxPixels(kDefaultMaxPixels);
        QVERIFY(!decoder::decodeFile(dir.filePath(QStringLiteral("big.png")), 256, &why).isNull());
    }

    void cancelKeepsWhatWasWritten()
    {
        QTemporaryDir dir;
        for (int i = 0; i < 600; ++i)
            QVERIFY(writeFile(dir.filePath(QStringLiteral("f%1.png").arg(i)), encode(pattern(64, 64, i), "PNG")));
        const QString libPath = dir.filePath(QStringLiteral("l.magpie"));
        std::atomic<bool> cancel{false};
        {
            auto lib = Library::create(libPath, nullptr);
            const ImportReport r = importFolder(*lib, dir.path(), {}, [&](const ImportProgress &p) {
                if (p.done > 0)
                    cancel = true;
            }, &cancel);
            QVERIFY(r.cancelled);
            QVERIFY(r.added < 600);
        }
        auto lib = Library::open(libPath, Library::Mode::ReadWrite, nullptr);
        QVERIFY(lib);
        const ImportReport again = importFolder(*lib, dir.path());
        QVERIFY(!again.cancelled);
        QCOMPARE(lib->imageCount(), 600); // carries on, no duplicates
    }

    void missingFolder()
    {
        const ImportReport r = importFolder(*m_lib, m_tmp.filePath(QStringLiteral("no-such-folder")));
        QVERIFY(r.error.contains(QStringLiteral("does not exist")));
        const ImportReport f = importFolder(*m_lib, m_archive + QStringLiteral("/notes.txt"));
        QVERIFY(f.error.contains(QStringLiteral("not a folder")));
    }
};

QTEST_GUILESS_MAIN(tst_Importer)
#include "tst_importer.moc"
