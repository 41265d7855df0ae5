#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace magpie::training {

// The embedding cache of one library for one backbone version: files in the
// library's cache folder,
//   embeddings-<version>.f16  header (magic "MGPEMB01", int32 dim) + rows of
//                             `dim` IEEE halves, memory-mapped for reading
//   embeddings-<version>.key  one uint64 content key per row (the image's
//                             content hash when it was embedded, see
//                             contentKey()); 0 = unknown (caches written
//                             before keys existed)
//   embeddings-<version>.ids  one int64 image id per row, same order
// Rows are only ever appended (incremental, resumable), .f16 first, .ids
// last: a crash between the writes leaves extra rows in .f16/.key that are
// ignored (count = rows that have an id). An image whose file changed is
// embedded again and its newest row wins. Thread contract: one writer at a
// time; readers of a Store object see the rows that existed at open() or the
// last refresh().
class EmbeddingStore
{
public:
    ~EmbeddingStore();
    static std::unique_ptr<EmbeddingStore> open(const std::string &dir, const std::string &version, int dim,
                                                std::string *error);

    int dim() const;
    std::int64_t count() const;
    const std::vector<std::int64_t> &ids() const;
    // Row of an image id, or -1.
    std::int64_t rowOf(std::int64_t imageId) const;
    // The mapped half rows (count() x dim()); valid until the next append/refresh,
    // or as long as a copy of mapping() is held.
    const std::uint16_t *halfRows() const;
    std::shared_ptr<const void> mapping() const;
    // Content key of a row (0: unknown).
    std::uint64_t rowKey(std::int64_t row) const;
    // The key of a content hash in hex (the library's BLAKE2b): its first 16
    // hex digits; never 0.
    static std::uint64_t contentKey(const std::string &hexHash);
    // Records keys for rows that have none (a cache from before keys):
    // (row, key) pairs. Rows with a key keep it.
    bool adoptKeys(const std::vector<std::pair<std::int64_t, std::uint64_t>> &keys, std::string *error);
    void rowFloat(std::int64_t row, float *out) const;
    // Copies rows into floats (rows.size() x dim).
    std::vector<float> gatherFloat(const std::vector<std::int64_t> &rows) const;

    // Appends n embeddings (n x dim floats) for `ids` with their content keys
    // (empty: unknown); re-maps. Ids already present are appended again and
    // the newest row wins in rowOf().
    bool append(const std::vector<std::int64_t> &ids, const std::vector<std::uint64_t> &keys, const float *rows,
                std::string *error);
    bool append(const std::vector<std::int64_t> &ids, const float *rows, std::string *error)
    {
        return append(ids, {}, rows, error);
    }
    bool refresh(std::string *error);

    std::string dataPath() const;

private:
    EmbeddingStore();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace magpie::training
