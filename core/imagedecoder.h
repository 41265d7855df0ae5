#pragma once

#include <QByteArray>
#include <QImage>
#include <QString>

namespace magpie {

// The process's pixel limit for every decode that does not name one: 250 MP
// (e.g. 20000 x 12500) unless set, e.g. from the GUI's Settings > Largest
// Image, so that an image imported under a raised limit also shows and embeds.
constexpr qint64 kDefaultMaxPixels = 250'000'000;
qint64 defaultMaxPixels();
void setDefaultMaxPixels(qint64 pixels); // 0 = no limit

// Limits that protect Magpie from hostile or broken files.
struct DecodeLimits
{
    // Images with more pixels than this are refused before any pixel is
    // decoded (decompression bombs). 0 means no limit.
    qint64 maxPixels = defaultMaxPixels();
};

// What the header and a real decode said about one file's bytes.
struct ImageAnalysis
{
    bool ok = false;
    QString reason;      // when !ok: a sentence a person can read
    QString format;      // "jpeg", "png", "gif", "tiff", "webp", "bmp", ...
    int width = 0;       // as displayed (after EXIF orientation)
    int height = 0;
    int orientation = 1; // EXIF orientation tag, 1..8
    int frames = 1;      // pages/frames in the file; Magpie uses the first
    QByteArray thumbnailJpeg; // JPEG, long side <= thumbnail size; empty when !ok
};

// The OpenCV facade of Magpie: decoding, validation and thumbnails. Every
// function here is thread-safe and may run on any worker thread; results are
// plain values (QImage, QByteArray).
namespace decoder {

// Sniffs the format from the first bytes ("jpeg", "png", ...) or "" if unknown.
QString sniffFormat(const QByteArray &bytes);

// Validates `bytes` by a real decode and makes a thumbnail whose long side is
// at most `thumbnailSize`. Never throws; bad input comes back with ok=false.
ImageAnalysis analyze(const QByteArray &bytes, int thumbnailSize, const DecodeLimits &limits = {});

// Decodes for display or training: RGB888, EXIF orientation applied, scaled
// down (never up) so the long side is at most `maxLongSide` (0 = full size).
// On failure returns a null QImage and sets *error.
QImage decode(const QByteArray &bytes, int maxLongSide, QString *error, const DecodeLimits &limits = {});
QImage decodeFile(const QString &path, int maxLongSide, QString *error, const DecodeLimits &limits = {});

} // namespace decoder
} // namespace magpie
