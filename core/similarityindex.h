#pragma once

#include <QString>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace magpie {

// A read-only view of an embedding cache's rows: `rows` x `dim` IEEE halves,
// row-major. `keep` owns whatever keeps `data` valid (a memory map); a copy
// of the view keeps the rows readable after the cache has been re-mapped.
struct HalfRows
{
    const std::uint16_t *data = nullptr;
    std::int64_t rows = 0;
    int dim = 0;
    std::shared_ptr<const void> keep;
};

struct Neighbour
{
    std::int64_t row = -1;
    float cosine = 0;
};

struct SimilarityIndexOptions
{
    // Libraries with fewer rows are always searched exactly (about 10 ms per
    // 50,000 rows of 1,536 values); no index is built for them.
    std::int64_t exactBelow = 50000;
    int reducedDim = 256;   // PCA output dimension of the approximate index
    int codeBytes = 32;     // product-quantizer bytes per row
    int lists = 0;          // inverted lists; 0: about sqrt(rows), a power of two (64 .. 4,096)
    int probes = 0;         // lists visited per query; 0: lists / 4
    int candidates = 4096;  // approximate hits re-ranked by exact cosine
    int threads = 1;        // threads that build the index (0: all cores)
};

struct SimilaritySearchInfo
{
    bool approximate = false;    // the index answered for indexedRows rows
    std::int64_t indexedRows = 0;
    std::int64_t exactRows = 0;  // rows compared exactly (all, or the not yet indexed tail)
};

// "More like this": cosine nearest neighbours over the rows of one embedding
// cache (the training engine's float16 rows).
//
// Why here: the developers' guide puts similarity in core/ (no torch), and
// core already reads the embedding cache (embeddingcache.h) for layouts and
// collection --like. FAISS is neither torch nor Qt, so it stays behind this
// facade (only similarityindex.cpp includes it, like OpenCV behind
// imagedecoder.h); the training service (Curator) and core's own "more like
// this" both search through it, and the engine stays LibTorch + std only.
//
// Below SimilarityIndexOptions::exactBelow rows every query is exact. Beyond
// it, an approximate index (FAISS: PCA to 256 values, inverted lists, 32-byte
// product-quantizer codes; 1,000,000 rows take about 50 MB instead of 6 GB
// as floats) proposes `candidates` rows, which are re-ranked by exact cosine
// on the float16 rows;
// rows appended since the index was last updated are searched exactly, so
// answers never miss new images. The index is persisted in `path` (next to
// the cache) and checked against the rows it was built from when loaded; a
// stale or foreign file is ignored and rebuilt by the next update.
// Without FAISS (MAGPIE_HAVE_FAISS off) every query is exact.
//
// Thread contract: one owner thread calls search(), update() and
// updateInBackground(); the background update runs on its own thread and
// publishes the new index atomically, so searches never wait for it and see
// either the old or the new index. The destructor cancels a background
// update and waits for it.
class SimilarityIndex
{
public:
    // Row filter: false leaves a row out of the answer (e.g. the query image,
    // or rows superseded by a newer embedding of the same image).
    using RowFilter = std::function<bool(std::int64_t row)>;

    explicit SimilarityIndex(const QString &path, const SimilarityIndexOptions &options = {});
    ~SimilarityIndex();

    static bool approximateAvailable(); // built with FAISS

    // The `k` rows most similar to `query` (`rows.dim` floats, any norm), best first.
    std::vector<Neighbour> search(const HalfRows &rows, const float *query, int k, const RowFilter &accept = {},
                                  SimilaritySearchInfo *info = nullptr);
    // Exact cosine top-k over rows [from, to) (to < 0: all rows).
    static std::vector<Neighbour> exactSearch(const HalfRows &rows, const float *query, int k,
                                              const RowFilter &accept = {}, std::int64_t from = 0,
                                              std::int64_t to = -1);

    // True when searches over `rows` rows need no update: below the exact
    // threshold, or an index covers every row and was trained on at least a
    // quarter of them.
    bool isCurrent(std::int64_t rows);
    // Brings the index up to date with `rows` (trains a new one when there is
    // none or the library has grown four-fold since, else adds the new rows)
    // and saves it. Blocking; `cancel` stops it between steps (false, error "cancelled").
    bool update(const HalfRows &rows, const std::atomic<bool> *cancel = nullptr, QString *error = nullptr);
    // The same on a background thread; returns at once. A request made while
    // one runs is remembered (the newest only) and runs after it.
    void updateInBackground(const HalfRows &rows);
    // Waits for background updates; false (and *error) when the last one
    // failed, or when `cancel` was set while waiting (the update goes on).
    bool waitForBackground(QString *error = nullptr, const std::atomic<bool> *cancel = nullptr);
    bool backgroundRunning() const;

    std::int64_t indexedRows(); // rows the current index covers (0: none)
    QString path() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace magpie
