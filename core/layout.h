#pragma once

#include "core/types.h"

#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

class QImage;

namespace magpie {

class Library;

// Per-image feature vectors from the training engine (or anything else).
// Returns nullopt for an image it has no vector for. Core never sees torch:
// the training engine hands core a lookup of this type. Called on the thread
// that calls collectFeatures(); every vector it returns must have the same length.
using EmbeddingLookup = std::function<std::optional<std::vector<float>>(ImageId)>;

// Row-major feature matrix: rows() vectors of dim floats.
struct FeatureMatrix
{
    enum class Source {
        Embeddings, // the lookup had a vector for every image
        ColourTone, // fallback: colour and tone statistics of the thumbnails
    };
    int dim = 0;
    std::vector<float> values; // size rows() * dim
    Source source = Source::ColourTone;
    // Why the fallback was taken, and images whose thumbnail and source both
    // failed to decode (they get a neutral grey feature). Person-readable.
    QStringList notes;

    int rows() const { return dim > 0 ? int(values.size() / size_t(dim)) : 0; }
    const float *row(int i) const { return values.data() + size_t(i) * size_t(dim); }
};

QString featureSourceName(FeatureMatrix::Source s);

// Colour/tone feature of one image (any format; scaled internally): mean and
// spread of CIE Lab, Lab means on a 3x3 grid, a lightness histogram and a
// saturation estimate. Length colourToneDim(). A null image gives zeros.
std::vector<float> colourToneFeature(const QImage &image);
int colourToneDim();

// Features for `ids`, in order. Uses `embeddings` when it yields a vector for
// every id (all of one length); otherwise falls back to colourToneFeature() of
// each image's cached thumbnail (its source file when the thumbnail is
// missing) and says so in notes. Reads the library on the calling thread.
FeatureMatrix collectFeatures(const Library &lib, const QVector<ImageId> &ids,
                              const EmbeddingLookup &embeddings = {},
                              const std::atomic<bool> *cancel = nullptr);

// The grid shape for n items on an area whose aspect (width/height) is
// `aspect`: cells as close to square as possible (|log cell aspect|) plus a
// penalty for the fraction of empty cells and for a last row less than half
// full. chooseGrid(16, 1) = 4x4;
// chooseGrid(0) = 0x0. To get cells of proportion q instead of square, pass
// aspect / q (the print sheet passes the images' median proportions).
struct GridShape
{
    int rows = 0;
    int cols = 0;
};
GridShape chooseGrid(int n, double aspect = 1.0);

struct LayoutOptions
{
    int rows = 0; // 0: chooseGrid(n, aspect); a user-set shape must hold n items
    int cols = 0;
    double aspect = 1.0; // of the area the grid fills (width / height), for chooseGrid
    quint32 seed = 1;    // the same features + options + seed give the same layout
    enum class Method { Auto, Exact, Approximate } method = Method::Auto;
    int exactLimit = 1024; // Auto solves exactly up to this many cells
    int qualityTrials = 8; // random orders averaged for the baseline
    // After the assignment: passes of pairwise swaps between items at most
    // refineRadius cells apart, kept when they lower the summed feature
    // distance to grid neighbours (0 passes: assignment only).
    int refinePasses = 6;
    int refineRadius = 2;
};

// Where each item goes. Cells are row-major (cell = row * cols + col).
struct GridLayout
{
    int rows = 0;
    int cols = 0;
    QVector<int> cellOfItem; // per input item: its cell
    QVector<int> itemAtCell; // per cell: the item there, or -1 (empty)
    QString method;          // "exact (Jonker-Volgenant)", "approximate (sorted strips + local exact)", ...
    QString error;      // set when the layout could not be made (bad shape); cells then follow input order
    double seconds = 0; // time to compute, quality measure excluded
    // Mean Euclidean feature distance between 4-neighbour cells that both
    // hold an item: of this layout, and of random orders (mean of trials).
    double neighbourDistance = 0;
    double randomDistance = 0;
    // neighbourDistance / randomDistance: below 1 means similar images sit together.
    double qualityRatio() const { return randomDistance > 0 ? neighbourDistance / randomDistance : 1.0; }

    // Items in reading order (row by row), empty cells skipped.
    QVector<int> readingOrder() const;
};

// Lays out features.rows() items on a grid. Deterministic: no clocks, no
// global random state; ties broken by index. Exact: PCA to 2-D, then a
// linear assignment of items to cells (Jonker-Volgenant, O(n^3), ~0.4 s at
// 1,024 cells). Approximate: sorted strips refined by exact assignments on
// 16x16 windows, O(n log n + n * 256^2). Both then refine by local swaps in
// the full feature space (LayoutOptions::refinePasses).
GridLayout layoutGrid(const FeatureMatrix &features, const LayoutOptions &options = {});

// Mean 4-neighbour feature distance of an assignment (see GridLayout).
double meanNeighbourDistance(const FeatureMatrix &features, const QVector<int> &itemAtCell, int rows,
                             int cols);
// The same for `trials` random orders (seeded), averaged.
double randomNeighbourDistance(const FeatureMatrix &features, int rows, int cols, quint32 seed, int trials);

// The first two principal components of the rows (power iteration with
// deflation), n x 2 row-major. Deterministic for a seed.
std::vector<double> principalPlane(const FeatureMatrix &features, quint32 seed);

// Solves the square linear assignment problem: cost is n x n row-major,
// returns for each row its column, minimising the total. Jonker-Volgenant
// shortest augmenting paths, O(n^3). Exposed for tests.
std::vector<int> solveAssignment(const std::vector<double> &cost, int n);

} // namespace magpie
