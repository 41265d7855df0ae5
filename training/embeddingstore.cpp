#include "training/embeddingstore.h"

#include "training/engine.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace magpie::training {

namespace {
const char kMagic[8] = {'M', 'G', 'P', 'E', 'M', 'B', '0', '1'};
constexpr std::size_t kHeader = 16;

bool writeAll(int fd, const void *data, std::size_t n)
{
    const char *p = static_cast<const char *>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}
} // namespace

// One read-only map of the .f16 file; unmapped when the last holder lets go.
struct Mapping
{
    void *map = nullptr;
    std::size_t size = 0;
    Mapping(void *m, std::size_t n) : map(m), size(n) {}
    ~Mapping() { ::munmap(map, size); }
    Mapping(const Mapping &) = delete;
    Mapping &operator=(const Mapping &) = delete;
};

struct EmbeddingStore::Impl
{
    std::string dataPath, idsPath, keyPath;
    int dim = 0;
    std::vector<std::int64_t> ids;
    std::vector<std::uint64_t> keys; // one per id; 0 = unknown
    std::unordered_map<std::int64_t, std::int64_t> rowOf;
    std::shared_ptr<Mapping> mapping;

    void unmap() { mapping.reset(); }
};

EmbeddingStore::EmbeddingStore() : d(std::make_unique<Impl>()) {}
EmbeddingStore::~EmbeddingStore() = default;

std::unique_ptr<EmbeddingStore> EmbeddingStore::open(const std::string &dir, const std::string &version, int dim,
                                                     std::string *error)
{
    std::unique_ptr<EmbeddingStore> s(new EmbeddingStore);
    s->d->dim = dim;
    s->d->dataPath = dir + "/embeddings-" + version + ".f16";
    s->d->idsPath = dir + "/embeddings-" + version + ".ids";
    s->d->keyPath = dir + "/embeddings-" + version + ".key";
    struct stat st {};
    if (::stat(s->d->dataPath.c_str(), &st) != 0) {
        const int fd = ::open(s->d->dataPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            if (error) *error = "cannot create " + s->d->dataPath + ": " + std::strerror(errno);
            return nullptr;
        }
        char header[kHeader] = {};
        std::memcpy(header, kMagic, 8);
        std::int32_t d32 = dim;
        std::memcpy(header + 8, &d32, 4);
        const bool ok = writeAll(fd, header, kHeader);
        ::close(fd);
        const int fi = ::open(s->d->idsPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fi >= 0) ::close(fi);
        if (!ok || fi < 0) {
            if (error) *error = "cannot write " + s->d->dataPath;
            return nullptr;
        }
    }
    if (!s->refresh(error))
        return nullptr;
    return s;
}

bool EmbeddingStore::refresh(std::string *error)
{
    d->unmap();
    const int fd = ::open(d->dataPath.c_str(), O_RDONLY);
    if (fd < 0) {
        if (error) *error = "cannot open " + d->dataPath;
        return false;
    }
    struct stat st {};
    ::fstat(fd, &st);
    const std::size_t size = static_cast<std::size_t>(st.st_size);
    char header[kHeader] = {};
    if (size < kHeader || ::pread(fd, header, kHeader, 0) != static_cast<ssize_t>(kHeader)
        || std::memcmp(header, kMagic, 8) != 0) {
        ::close(fd);
        if (error) *error = d->dataPath + ": not an embedding cache (delete it to rebuild)";
        return false;
    }
    std::int32_t fileDim = 0;
    std::memcpy(&fileDim, header + 8, 4);
    if (fileDim != d->dim) {
        ::close(fd);
        if (error) *error = d->dataPath + ": feature length " + std::to_string(fileDim) + ", expected " + std::to_string(d->dim);
        return false;
    }
    const std::size_t rowBytes = static_cast<std::size_t>(d->dim) * 2;
    const std::int64_t rows = static_cast<std::int64_t>((size - kHeader) / rowBytes);
    void *map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) {
        if (error) *error = "cannot map " + d->dataPath;
        return false;
    }
    d->mapping = std::make_shared<Mapping>(map, size);
    // Ids
    d->ids.clear();
    d->rowOf.clear();
    const int fi = ::open(d->idsPath.c_str(), O_RDONLY);
    if (fi >= 0) {
        struct stat si {};
        ::fstat(fi, &si);
        std::int64_t n = static_cast<std::int64_t>(si.st_size) / 8;
        n = std::min(n, rows);
        d->ids.resize(static_cast<std::size_t>(n));
        if (n > 0 && ::pread(fi, d->ids.data(), static_cast<std::size_t>(n) * 8, 0) != static_cast<ssize_t>(n * 8))
            d->ids.clear();
        ::close(fi);
    }
    for (std::size_t i = 0; i < d->ids.size(); ++i)
        d->rowOf[d->ids[i]] = static_cast<std::int64_t>(i);
    // Content keys: missing ones (an older cache) read as 0.
    d->keys.assign(d->ids.size(), 0);
    const int fk = ::open(d->keyPath.c_str(), O_RDONLY);
    if (fk >= 0) {
        struct stat sk {};
        ::fstat(fk, &sk);
        const std::size_t n = std::min(static_cast<std::size_t>(sk.st_size) / 8, d->keys.size());
        if (n > 0 && ::pread(fk, d->keys.data(), n * 8, 0) != static_cast<ssize_t>(n * 8))
            std::fill(d->keys.begin(), d->keys.end(), 0);
        ::close(fk);
    }
    return true;
}

int EmbeddingStore::dim() const { return d->dim; }
std::int64_t EmbeddingStore::count() const { return static_cast<std::int64_t>(d->ids.size()); }
const std::vector<std::int64_t> &EmbeddingStore::ids() const { return d->ids; }
std::string EmbeddingStore::dataPath() const { return d->dataPath; }

std::int64_t EmbeddingStore::rowOf(std::int64_t imageId) const
{
    const auto it = d->rowOf.find(imageId);
    return it == d->rowOf.end() ? -1 : it->second;
}

const std::uint16_t *EmbeddingStore::halfRows() const
{
    return d->mapping ? reinterpret_cast<const std::uint16_t *>(static_cast<const char *>(d->mapping->map) + kHeader)
                      : nullptr;
}

std::shared_ptr<const void> EmbeddingStore::mapping() const { return d->mapping; }

std::uint64_t EmbeddingStore::rowKey(std::int64_t row) const
{
    return row >= 0 && row < count() ? d->keys[static_cast<std::size_t>(row)] : 0;
}

std::uint64_t EmbeddingStore::contentKey(const std::string &hexHash)
{
    std::uint64_t k = 0;
    for (std::size_t i = 0; i < hexHash.size() && i < 16; ++i) {
        const char c = hexHash[i];
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
        k = (k << 4) | static_cast<std::uint64_t>(v);
    }
    return k ? k : 1;
}

bool EmbeddingStore::adoptKeys(const std::vector<std::pair<std::int64_t, std::uint64_t>> &keys, std::string *error)
{
    if (keys.empty()) return true;
    const int fk = ::open(d->keyPath.c_str(), O_RDWR | O_CREAT, 0644);
    struct stat sk {};
    bool ok = fk >= 0 && ::fstat(fk, &sk) == 0;
    // Rows without a key so far read as 0: make the file cover every row.
    if (ok && static_cast<std::size_t>(sk.st_size) < d->ids.size() * 8)
        ok = ::ftruncate(fk, static_cast<off_t>(d->ids.size() * 8)) == 0;
    for (const auto &[row, key] : keys) {
        if (!ok) break;
        if (row < 0 || row >= count() || d->keys[static_cast<std::size_t>(row)] != 0) continue;
        ok = ::pwrite(fk, &key, 8, static_cast<off_t>(row * 8)) == 8;
        if (ok) d->keys[static_cast<std::size_t>(row)] = key;
    }
    if (fk >= 0) ::close(fk);
    if (!ok && error) *error = "cannot write " + d->keyPath + ": " + std::strerror(errno);
    return ok;
}

void EmbeddingStore::rowFloat(std::int64_t row, float *out) const
{
    const std::uint16_t *r = halfRows() + row * d->dim;
    for (int i = 0; i < d->dim; ++i)
        out[i] = halfToFloat(r[i]);
}

std::vector<float> EmbeddingStore::gatherFloat(const std::vector<std::int64_t> &rows) const
{
    std::vector<float> out(rows.size() * static_cast<std::size_t>(d->dim));
    for (std::size_t i = 0; i < rows.size(); ++i)
        rowFloat(rows[i], out.data() + i * static_cast<std::size_t>(d->dim));
    return out;
}

bool EmbeddingStore::append(const std::vector<std::int64_t> &ids, const std::vector<std::uint64_t> &keys,
                            const float *rows, std::string *error)
{
    if (ids.empty()) return true;
    // Truncate rows that have no id (an interrupted earlier append), then append
    // the rows, their keys and last their ids.
    const std::size_t rowBytes = static_cast<std::size_t>(d->dim) * 2;
    const off_t keep = static_cast<off_t>(kHeader + d->ids.size() * rowBytes);
    const off_t keepIds = static_cast<off_t>(d->ids.size() * 8);
    const int fd = ::open(d->dataPath.c_str(), O_WRONLY);
    const int fi = ::open(d->idsPath.c_str(), O_WRONLY);
    const int fk = ::open(d->keyPath.c_str(), O_WRONLY | O_CREAT, 0644);
    bool ok = fd >= 0 && fi >= 0 && fk >= 0 && ::ftruncate(fd, keep) == 0 && ::ftruncate(fi, keepIds) == 0
        && ::ftruncate(fk, keepIds) == 0; // also pads an older cache's missing keys with 0
    if (ok) {
        std::vector<std::uint16_t> half(ids.size() * static_cast<std::size_t>(d->dim));
        for (std::size_t i = 0; i < half.size(); ++i)
            half[i] = floatToHalf(rows[i]);
        std::vector<std::uint64_t> k = keys;
        k.resize(ids.size(), 0);
        ok = ::lseek(fd, keep, SEEK_SET) >= 0 && writeAll(fd, half.data(), half.size() * 2) && ::fdatasync(fd) == 0
            && ::lseek(fk, keepIds, SEEK_SET) >= 0 && writeAll(fk, k.data(), k.size() * 8)
            && ::lseek(fi, 0, SEEK_END) >= 0 && writeAll(fi, ids.data(), ids.size() * 8);
    }
    if (fd >= 0) ::close(fd);
    if (fi >= 0) ::close(fi);
    if (fk >= 0) ::close(fk);
    if (!ok) {
        if (error) *error = "cannot append to " + d->dataPath + ": " + std::strerror(errno);
        return false;
    }
    return refresh(error);
}

} // namespace magpie::training
