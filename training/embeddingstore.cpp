#include "training/embeddingstore.h"

#include "training/engine.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

struct EmbeddingStore::Impl
{
    std::string dataPath, idsPath;
    int dim = 0;
    std::vector<std::int64_t> ids;
    std::unordered_map<std::int64_t, std::int64_t> rowOf;
    void *map = nullptr;
    std::size_t mapSize = 0;

    void unmap()
    {
        if (map) ::munmap(map, mapSize);
        map = nullptr;
        mapSize = 0;
    }
};

EmbeddingStore::EmbeddingStore() : d(std::make_unique<Impl>()) {}
EmbeddingStore::~EmbeddingStore() { d->unmap(); }

std::unique_ptr<EmbeddingStore> EmbeddingStore::open(const std::string &dir, const std::string &version, int dim,
                                                     std::string *error)
{
    std::unique_ptr<EmbeddingStore> s(new EmbeddingStore);
    s->d->dim = dim;
    s->d->dataPath = dir + "/embeddings-" + version + ".f16";
    s->d->idsPath = dir + "/embeddings-" + version + ".ids";
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
    d->map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (d->map == MAP_FAILED) {
        d->map = nullptr;
        if (error) *error = "cannot map " + d->dataPath;
        return false;
    }
    d->mapSize = size;
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
    return d->map ? reinterpret_cast<const std::uint16_t *>(static_cast<const char *>(d->map) + kHeader) : nullptr;
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

bool EmbeddingStore::append(const std::vector<std::int64_t> &ids, const float *rows, std::string *error)
{
    if (ids.empty()) return true;
    // Truncate rows that have no id (an interrupted earlier append), then append.
    const std::size_t rowBytes = static_cast<std::size_t>(d->dim) * 2;
    const off_t keep = static_cast<off_t>(kHeader + d->ids.size() * rowBytes);
    const int fd = ::open(d->dataPath.c_str(), O_WRONLY);
    const int fi = ::open(d->idsPath.c_str(), O_WRONLY);
    bool ok = fd >= 0 && fi >= 0 && ::ftruncate(fd, keep) == 0
        && ::ftruncate(fi, static_cast<off_t>(d->ids.size() * 8)) == 0;
    if (ok) {
        std::vector<std::uint16_t> half(ids.size() * static_cast<std::size_t>(d->dim));
        for (std::size_t i = 0; i < half.size(); ++i)
            half[i] = floatToHalf(rows[i]);
        ok = ::lseek(fd, keep, SEEK_SET) >= 0 && writeAll(fd, half.data(), half.size() * 2) && ::fdatasync(fd) == 0
            && ::lseek(fi, 0, SEEK_END) >= 0 && writeAll(fi, ids.data(), ids.size() * 8);
    }
    if (fd >= 0) ::close(fd);
    if (fi >= 0) ::close(fi);
    if (!ok) {
        if (error) *error = "cannot append to " + d->dataPath + ": " + std::strerror(errno);
        return false;
    }
    return refresh(error);
}

} // namespace magpie::training
