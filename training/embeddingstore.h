#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace magpie::training {

// The embedding cache of one library for one backbone version: two files in
// the library's cache folder,
//   embeddings-<version>.f16  header (magic "MGPEMB01", int32 dim) + rows of
//                             `dim` IEEE halves, memory-mapped for reading
//   embeddings-<version>.ids  one int64 image id per row, same order
// Rows are only ever appended (incremental, resumable): a crash between the
// two writes leaves extra rows in .f16 that are ignored (count = rows that
// have an id). Thread contract: one writer at a time; readers of a Store
// object see the rows that existed at open() or the last refresh().
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
    // The mapped half rows (count() x dim()); valid until the next append/refresh.
    const std::uint16_t *halfRows() const;
    void rowFloat(std::int64_t row, float *out) const;
    // Copies rows into floats (rows.size() x dim).
    std::vector<float> gatherFloat(const std::vector<std::int64_t> &rows) const;

    // Appends n embeddings (n x dim floats) for `ids`; re-maps. Ids already
    // present are appended again and the newest row wins in rowOf().
    bool append(const std::vector<std::int64_t> &ids, const float *rows, std::string *error);
    bool refresh(std::string *error);

    std::string dataPath() const;

private:
    EmbeddingStore();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace magpie::training
