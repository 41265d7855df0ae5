#pragma once

#include "core/layout.h"
#include "core/types.h"

#include <QImage>
#include <QPointF>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <vector>

namespace magpie {

class Library;

// A 2-D map of the archive: a sample of its images placed by t-SNE of their
// embeddings (colour and tone where the library has none yet), so that
// similar pictures lie near each other; the first two principal components
// for a sample above kTsneMaxImages or below kTsneMinImages (a few dozen
// images: t-SNE would pile each kind on one spot).
constexpr int kTsneMinImages = 100;
constexpr int kTsneMaxImages = 4000;

// Places closer than kMapSeparation x the spacing of an even spread
// (1 / sqrt(images)) are parted (separatePlaces), so that alike pictures,
// which t-SNE puts on one spot, stay visible side by side.
constexpr double kMapSeparation = 0.5;

struct ArchiveMap
{
    QVector<ImageId> ids;
    QVector<QPointF> positions; // per id, in [0, 1] x [0, 1] (1st to 99th percentile in [0.08, 0.92], the rest outside)
    qint64 archiveImages = 0;   // readable images in the library; ids holds a sample of them when larger
    FeatureMatrix::Source source = FeatureMatrix::Source::ColourTone;
    QString method;             // "t-SNE" or "principal plane"
    QStringList notes;
};

// Maps at most `maxImages` readable images (a seeded sample when the library
// holds more). Reads the library and its embedding cache on the calling
// thread; a few seconds for 2,000 images on two cores. Empty when cancelled.
ArchiveMap mapArchive(const Library &lib, int maxImages = 2000, quint32 seed = 1,
                      const std::atomic<bool> *cancel = nullptr);

// Moves points in [0, 1]^2 apart until no two are closer than `minDistance`
// (or `iterations` passes are done), each pair pushed apart along the line
// between them, so that neighbourhoods keep their order; deterministic.
void separatePlaces(std::vector<double> &x, std::vector<double> &y, double minDistance, int iterations = 200,
                    const std::atomic<bool> *cancel = nullptr);

// The map as a picture: each image's cached thumbnail, `thumbPx` on its long
// side, centred on its place on a `sizePx` square of `background`.
QImage renderArchiveMap(const Library &lib, const ArchiveMap &map, int sizePx = 3000, int thumbPx = 72,
                        const QColor &background = QColor(0x20, 0x21, 0x25));

} // namespace magpie
