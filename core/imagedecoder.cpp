#include "core/imagedecoder.h"

#include "core/opencvincludes.h"

#include <QBuffer>
#include <QFile>
#include <QImageReader>
#include <QSet>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace magpie {
namespace {
std::atomic<qint64> g_maxPixels{kDefaultMaxPixels};
} // namespace

qint64 defaultMaxPixels() { return g_maxPixels.load(); }
void setDefaultMaxPixels(qint64 pixels) { g_maxPixels.store(std::max<qint64>(0, pixels)); }
} // namespace magpie

namespace magpie::decoder {

namespace {

void quietOpenCv()
{
    static std::once_flag once;
    std::call_once(once, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
}

bool startsWith(const QByteArray &b, const char *magic, int n, int offset = 0)
{
    return b.size() >= offset + n && memcmp(b.constData() + offset, magic, size_t(n)) == 0;
}

int exifFromQt(QImageIOHandler::Transformations t)
{
    switch (int(t)) {
    case QImageIOHandler::TransformationMirror: return 2;
    case QImageIOHandler::TransformationRotate180: return 3;
    case QImageIOHandler::TransformationFlip: return 4;
    case QImageIOHandler::TransformationFlipAndRotate90: return 5;
    case QImageIOHandler::TransformationRotate90: return 6;
    case QImageIOHandler::TransformationMirrorAndRotate90: return 7;
    case QImageIOHandler::TransformationRotate270: return 8;
    default: return 1;
    }
}

void applyOrientation(cv::Mat &m, int orientation)
{
    cv::Mat out;
    switch (orientation) {
    case 2: cv::flip(m, out, 1); break;
    case 3: cv::rotate(m, out, cv::ROTATE_180); break;
    case 4: cv::flip(m, out, 0); break;
    case 5: cv::transpose(m, out); break;
    case 6: cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7: cv::transpose(m, out); cv::flip(out, out, -1); break;
    case 8: cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: return;
    }
    m = out;
}

bool swapsAxes(int orientation) { return orientation >= 5 && orientation <= 8; }

// A JPEG whose data stops early still "decodes" (libjpeg fills the rest with
// grey), so walk its markers: every segment by its length, every scan's
// entropy-coded data to the next real marker, until the end-of-image marker.
// (Searching for the bytes FF D9 is not enough: quantisation and Huffman
// tables may contain them.) Returns true when the structure cannot be
// followed, leaving the verdict to the decoder.
bool jpegHasEnd(const QByteArray &b)
{
    const auto at = [&](qsizetype k) { return uchar(b[k]); };
    const qsizetype n = b.size();
    qsizetype i = 2;
    while (i + 1 < n) {
        if (at(i) != 0xFF)
            return true; // not a marker where one should be: let the decoder judge
        const uchar m = at(i + 1);
        if (m == 0xFF) { // fill byte
            ++i;
            continue;
        }
        if (m == 0xD9)
            return true;
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) { // markers without a length
            i += 2;
            continue;
        }
        if (i + 3 >= n)
            return false;
        const qsizetype len = (qsizetype(at(i + 2)) << 8) | at(i + 3);
        i += 2 + len;
        if (m != 0xDA)
            continue;
        // entropy-coded data: FF 00 is a stuffed byte, FF D0..D7 a restart marker
        while (i + 1 < n) {
            if (at(i) == 0xFF && at(i + 1) != 0x00 && !(at(i + 1) >= 0xD0 && at(i + 1) <= 0xD7) && at(i + 1) != 0xFF)
                break;
            ++i;
        }
        if (i + 1 >= n)
            return false; // the data ran out inside a scan
    }
    return false;
}

// Converts any decoded mat (1/3/4 channels, 8/16-bit or float) to 8-bit BGR.
// Transparent pixels are laid on white, as on paper.
cv::Mat toBgr8(const cv::Mat &in)
{
    cv::Mat m = in;
    if (m.depth() == CV_16U)
        m.convertTo(m, CV_8U, 1.0 / 257.0);
    else if (m.depth() == CV_32F || m.depth() == CV_64F)
        m.convertTo(m, CV_8U, 255.0);
    else if (m.depth() != CV_8U)
        m.convertTo(m, CV_8U);
    if (m.channels() == 1) {
        cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
    } else if (m.channels() == 4) {
        std::vector<cv::Mat> ch;
        cv::split(m, ch);
        cv::Mat alpha;
        ch[3].convertTo(alpha, CV_32F, 1.0 / 255.0);
        cv::Mat out(m.rows, m.cols, CV_8UC3);
        std::vector<cv::Mat> outCh(3);
        for (int c = 0; c < 3; ++c) {
            cv::Mat f;
            ch[c].convertTo(f, CV_32F);
            f = f.mul(alpha) + (1.0 - alpha) * 255.0;
            f.convertTo(outCh[c], CV_8U);
        }
        cv::merge(outCh, out);
        m = out;
    } else if (m.channels() == 2) {
        std::vector<cv::Mat> ch;
        cv::split(m, ch);
        cv::cvtColor(ch[0], m, cv::COLOR_GRAY2BGR);
    }
    return m;
}

cv::Mat fromQImage(const QImage &img)
{
    QImage rgb = img.convertToFormat(QImage::Format_RGB888);
    cv::Mat wrapped(rgb.height(), rgb.width(), CV_8UC3, const_cast<uchar *>(rgb.constBits()),
                    size_t(rgb.bytesPerLine()));
    cv::Mat bgr;
    cv::cvtColor(wrapped, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

// Counts the pages of a TIFF by walking its chain of image file directories.
int tiffPageCount(const QByteArray &b)
{
    if (b.size() < 8)
        return 1;
    const bool le = b[0] == 'I';
    const auto u16 = [&](qint64 at) -> quint32 {
        if (at < 0 || at + 2 > b.size())
            return 0;
        const quint8 x = quint8(b[at]), y = quint8(b[at + 1]);
        return le ? quint32(x | (y << 8)) : quint32((x << 8) | y);
    };
    const auto u32 = [&](qint64 at) -> quint32 {
        return le ? (u16(at) | (u16(at + 2) << 16)) : ((u16(at) << 16) | u16(at + 2));
    };
    quint32 offset = u32(4);
    int pages = 0;
    QSet<quint32> seen;
    while (offset >= 8 && offset + 2 <= quint32(b.size()) && !seen.contains(offset) && pages < 100000) {
        seen.insert(offset);
        ++pages;
        const quint32 entries = u16(offset);
        offset = u32(qint64(offset) + 2 + 12 * qint64(entries));
    }
    return std::max(1, pages);
}

struct Header
{
    QString format;
    int width = 0; // as stored
    int height = 0;
    int orientation = 1;
    int frames = 1;
    bool qtCanRead = false;
};

Header readHeader(const QByteArray &bytes, const QString &format)
{
    Header h;
    h.format = format;
    QByteArray copy = bytes; // QBuffer needs a non-const array; implicitly shared, no copy
    QBuffer buf(&copy);
    buf.open(QIODevice::ReadOnly);
    QImageReader reader(&buf, format.toLatin1());
    reader.setAutoTransform(false);
    if (!reader.canRead())
        return h;
    h.qtCanRead = true;
    const QSize s = reader.size();
    h.width = s.width();
    h.height = s.height();
    if (format == u"jpeg")
        h.orientation = exifFromQt(reader.transformation());
    if (format == u"gif" || format == u"webp")
        h.frames = std::max(1, reader.imageCount());
    else if (format == u"tiff")
        h.frames = tiffPageCount(bytes);
    return h;
}

struct Decoded
{
    cv::Mat bgr; // oriented
    Header header;
    QString error;
};

// Shared by analyze() and decode(): header checks, then a real decode with
// OpenCV (Qt's reader where OpenCV has no codec, e.g. GIF), then orientation.
Decoded decodeBytes(const QByteArray &bytes, int wantLongSide, const DecodeLimits &limits)
{
    quietOpenCv();
    Decoded out;
    if (bytes.isEmpty()) {
        out.error = QStringLiteral("empty file (0 bytes)");
        return out;
    }
    const QString format = sniffFormat(bytes);
    if (format.isEmpty()) {
        // let OpenCV try (PNM, Sun raster, ...), but say clearly what it looked like
        bool printable = true;
        for (int i = 0; i < std::min<int>(int(bytes.size()), 64); ++i) {
            const uchar c = uchar(bytes[i]);
            if (c < 9 || (c > 13 && c < 32 && c != 27))
                printable = false;
        }
        std::vector<uchar> buf(bytes.begin(), bytes.end());
        cv::Mat m;
        try {
            m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
        } catch (const cv::Exception &) {
        }
        if (m.empty()) {
            out.error = printable ? QStringLiteral("not an image: the file holds text")
                                  : QStringLiteral("not an image: unrecognised content");
            return out;
        }
        if (limits.maxPixels > 0 && qint64(m.cols) * m.rows > limits.maxPixels) {
            out.error = QStringLiteral("image too large: %1 x %2 pixels exceeds the limit of %3 megapixels")
                            .arg(m.cols).arg(m.rows).arg(limits.maxPixels / 1000000);
            return out;
        }
        out.header.format = QStringLiteral("other");
        out.header.width = m.cols;
        out.header.height = m.rows;
        out.bgr = toBgr8(m);
        return out;
    }

    out.header = readHeader(bytes, format);
    const Header &h = out.header;
    if (h.qtCanRead && (h.width <= 0 || h.height <= 0) && format != u"tiff") {
        out.error = QStringLiteral("broken %1 header: no image size").arg(format.toUpper());
        return out;
    }
    if (limits.maxPixels > 0 && qint64(h.width) * h.height > limits.maxPixels) {
        out.error = QStringLiteral("image too large: %1 x %2 pixels exceeds the limit of %3 megapixels "
                                   "(a decompression bomb guard; if this is a real scan, raise the limit: magpie-cli import "
                                   "--max-megapixels N, with MAGPIE_MAX_MEGAPIXELS=N for the commands after it, or in "
                                   "the app Settings \u2192 Largest Image)")
                        .arg(h.width).arg(h.height).arg(limits.maxPixels / 1e6, 0, 'g', 4);
        return out;
    }
    if (format == u"jpeg" && !jpegHasEnd(bytes)) {
        out.error = QStringLiteral("truncated JPEG: the file ends before the end-of-image marker");
        return out;
    }

    std::vector<uchar> buf(bytes.begin(), bytes.end());
    cv::Mat m;
    QString cvError;
    if (format != u"gif") { // OpenCV 4.6 has no GIF codec: Qt decodes its first frame below
        int flags = cv::IMREAD_UNCHANGED;
        if (format == u"jpeg") {
            flags = cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION;
            const int longSide = std::max(h.width, h.height);
            if (wantLongSide > 0 && longSide > 0) {
                if (longSide / 8 >= wantLongSide)
                    flags = cv::IMREAD_REDUCED_COLOR_8 | cv::IMREAD_IGNORE_ORIENTATION;
                else if (longSide / 4 >= wantLongSide)
                    flags = cv::IMREAD_REDUCED_COLOR_4 | cv::IMREAD_IGNORE_ORIENTATION;
                else if (longSide / 2 >= wantLongSide)
                    flags = cv::IMREAD_REDUCED_COLOR_2 | cv::IMREAD_IGNORE_ORIENTATION;
            }
        }
        try {
            m = cv::imdecode(buf, flags);
        } catch (const cv::Exception &e) {
            cvError = QString::fromStdString(e.msg).trimmed();
        }
    }
    if (m.empty() && h.qtCanRead) {
        // Qt's reader: GIF, and a second opinion for anything OpenCV refused
        QByteArray copy = bytes;
        QBuffer qb(&copy);
        qb.open(QIODevice::ReadOnly);
        QImageReader reader(&qb, format.toLatin1());
        reader.setAutoTransform(false);
        reader.setAllocationLimit(limits.maxPixels > 0 ? int(limits.maxPixels * 4 / 1048576 + 1) : 0);
        QImage img;
        if (reader.read(&img) && !img.isNull())
            m = fromQImage(img);
        else if (cvError.isEmpty())
            cvError = reader.errorString();
    }
    if (m.empty()) {
        out.error = QStringLiteral("corrupt %1: the decoder could not read the pixels").arg(format.toUpper());
        if (!cvError.isEmpty())
            out.error += QStringLiteral(" (") + cvError + QLatin1Char(')');
        return out;
    }
    if (!h.qtCanRead || h.width <= 0) {
        out.header.width = m.cols;
        out.header.height = m.rows;
    }
    out.bgr = toBgr8(m);
    applyOrientation(out.bgr, h.orientation);
    return out;
}

cv::Mat scaleDown(const cv::Mat &m, int maxLongSide)
{
    const int longSide = std::max(m.cols, m.rows);
    if (maxLongSide <= 0 || longSide <= maxLongSide)
        return m;
    const double s = double(maxLongSide) / longSide;
    cv::Mat out;
    cv::resize(m, out, cv::Size(std::max(1, int(m.cols * s + 0.5)), std::max(1, int(m.rows * s + 0.5))), 0, 0,
               cv::INTER_AREA);
    return out;
}

} // namespace

QString sniffFormat(const QByteArray &b)
{
    if (startsWith(b, "\xFF\xD8\xFF", 3))
        return QStringLiteral("jpeg");
    if (startsWith(b, "\x89PNG\r\n\x1A\n", 8))
        return QStringLiteral("png");
    if (startsWith(b, "GIF87a", 6) || startsWith(b, "GIF89a", 6))
        return QStringLiteral("gif");
    if (startsWith(b, "II*\0", 4) || startsWith(b, "MM\0*", 4))
        return QStringLiteral("tiff");
    if (startsWith(b, "RIFF", 4) && startsWith(b, "WEBP", 4, 8))
        return QStringLiteral("webp");
    if (startsWith(b, "BM", 2) && b.size() > 26)
        return QStringLiteral("bmp");
    return {};
}

ImageAnalysis analyze(const QByteArray &bytes, int thumbnailSize, const DecodeLimits &limits)
{
    ImageAnalysis a;
    Decoded d;
    try {
        d = decodeBytes(bytes, thumbnailSize, limits);
    } catch (const std::exception &e) {
        d.error = QStringLiteral("decoder failure: ") + QString::fromLocal8Bit(e.what());
    }
    a.format = d.header.format;
    a.orientation = d.header.orientation;
    a.frames = d.header.frames;
    if (!d.error.isEmpty()) {
        a.reason = d.error;
        return a;
    }
    const bool swap = swapsAxes(d.header.orientation);
    a.width = swap ? d.header.height : d.header.width;
    a.height = swap ? d.header.width : d.header.height;
    try {
        const cv::Mat thumb = scaleDown(d.bgr, thumbnailSize);
        std::vector<uchar> jpg;
        cv::imencode(".jpg", thumb, jpg, {cv::IMWRITE_JPEG_QUALITY, 85});
        a.thumbnailJpeg = QByteArray(reinterpret_cast<const char *>(jpg.data()), qsizetype(jpg.size()));
    } catch (const cv::Exception &e) {
        a.reason = QStringLiteral("thumbnail failed: ") + QString::fromStdString(e.msg);
        return a;
    }
    a.ok = true;
    return a;
}

QImage decode(const QByteArray &bytes, int maxLongSide, QString *error, const DecodeLimits &limits)
{
    Decoded d;
    try {
        d = decodeBytes(bytes, maxLongSide, limits);
        if (d.error.isEmpty()) {
            cv::Mat m = scaleDown(d.bgr, maxLongSide);
            cv::Mat rgb;
            cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB);
            return QImage(rgb.data, rgb.cols, rgb.rows, int(rgb.step), QImage::Format_RGB888).copy();
        }
    } catch (const std::exception &e) {
        d.error = QStringLiteral("decoder failure: ") + QString::fromLocal8Bit(e.what());
    }
    if (error)
        *error = d.error;
    return {};
}

QImage decodeFile(const QString &path, int maxLongSide, QString *error, const DecodeLimits &limits)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error)
            *error = f.exists() ? QStringLiteral("cannot open: ") + f.errorString()
                                : QStringLiteral("file not found");
        return {};
    }
    return decode(f.readAll(), maxLongSide, error, limits);
}

} // namespace magpie::decoder
