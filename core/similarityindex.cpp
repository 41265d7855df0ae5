#include "core/similarityindex.h"

#include <QFile>
#include <QFloat16>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MAGPIE_X86 1
#endif

#ifdef MAGPIE_HAVE_FAISS
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/VectorTransform.h>
#include <faiss/clone_index.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <omp.h>
#endif

namespace magpie {

namespace {

// ---- float16 rows: conversion and exact cosine (F16C/AVX2 when the CPU has them)

#ifdef MAGPIE_X86
__attribute__((target("avx2,fma,f16c"))) void halfToFloatAvx2(const std::uint16_t *in, float *out, std::int64_t n)
{
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(in + i))));
    for (; i < n; ++i)
        out[i] = _cvtsh_ss(in[i]);
}

__attribute__((target("avx2,fma,f16c"))) inline float hsum(__m256 v)
{
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// Dot product with `q` and squared norm of one half row.
__attribute__((target("avx2,fma,f16c"))) void dotNormAvx2(const std::uint16_t *r, const float *q, int dim, float *dot,
                                                          float *norm2)
{
    __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps(), n0 = _mm256_setzero_ps(), n1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= dim; k += 16) {
        const __m256 a = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(r + k)));
        const __m256 b = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(r + k + 8)));
        d0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(q + k), d0);
        d1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(q + k + 8), d1);
        n0 = _mm256_fmadd_ps(a, a, n0);
        n1 = _mm256_fmadd_ps(b, b, n1);
    }
    float dd = hsum(_mm256_add_ps(d0, d1)), nn = hsum(_mm256_add_ps(n0, n1));
    for (; k < dim; ++k) {
        const float v = _cvtsh_ss(r[k]);
        dd += v * q[k];
        nn += v * v;
    }
    *dot = dd;
    *norm2 = nn;
}

bool haveAvx2()
{
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("f16c");
    return yes;
}
#endif

float halfScalar(std::uint16_t h)
{
    float f = 0;
    qFloatFromFloat16(&f, reinterpret_cast<const qfloat16 *>(&h), 1);
    return f;
}

[[maybe_unused]] void halfToFloat(const std::uint16_t *in, float *out, std::int64_t n)
{
#ifdef MAGPIE_X86
    if (haveAvx2())
        return halfToFloatAvx2(in, out, n);
#endif
    qFloatFromFloat16(out, reinterpret_cast<const qfloat16 *>(in), n);
}

void dotNorm(const std::uint16_t *r, const float *q, int dim, float *dot, float *norm2)
{
#ifdef MAGPIE_X86
    if (haveAvx2())
        return dotNormAvx2(r, q, dim, dot, norm2);
#endif
    float dd = 0, nn = 0;
    for (int k = 0; k < dim; ++k) {
        const float v = halfScalar(r[k]);
        dd += v * q[k];
        nn += v * v;
    }
    *dot = dd;
    *norm2 = nn;
}

std::vector<float> unit(const float *v, int dim)
{
    std::vector<float> out(v, v + dim);
    double n = 0;
    for (float x : out)
        n += double(x) * x;
    const float s = n > 0 ? float(1.0 / std::sqrt(n)) : 0.0f;
    for (float &x : out)
        x *= s;
    return out;
}

// Cosine of a half row with a unit query.
float cosineOf(const HalfRows &rows, std::int64_t row, const float *unitQuery)
{
    float dot = 0, n2 = 0;
    dotNorm(rows.data + row * rows.dim, unitQuery, rows.dim, &dot, &n2);
    return n2 > 0 ? dot / std::sqrt(n2) : -2.0f;
}

// The k best (row, cosine) seen so far; a min-heap on cosine.
class TopK
{
public:
    explicit TopK(int k) : m_k(std::max(0, k)) { m_heap.reserve(static_cast<std::size_t>(m_k)); }
    float threshold() const { return int(m_heap.size()) < m_k ? -3.0f : m_heap.front().cosine; }
    void push(std::int64_t row, float cosine)
    {
        if (m_k == 0) return;
        if (int(m_heap.size()) < m_k) {
            m_heap.push_back({row, cosine});
            std::push_heap(m_heap.begin(), m_heap.end(), worse);
        } else if (cosine > m_heap.front().cosine) {
            std::pop_heap(m_heap.begin(), m_heap.end(), worse);
            m_heap.back() = {row, cosine};
            std::push_heap(m_heap.begin(), m_heap.end(), worse);
        }
    }
    std::vector<Neighbour> sorted()
    {
        std::vector<Neighbour> out = m_heap;
        std::sort(out.begin(), out.end(), [](const Neighbour &a, const Neighbour &b) {
            return a.cosine != b.cosine ? a.cosine > b.cosine : a.row < b.row;
        });
        return out;
    }

private:
    static bool worse(const Neighbour &a, const Neighbour &b) { return a.cosine > b.cosine; }
    int m_k;
    std::vector<Neighbour> m_heap;
};

void scanExact(const HalfRows &rows, const float *unitQuery, std::int64_t from, std::int64_t to,
               const SimilarityIndex::RowFilter &accept, TopK *top)
{
    for (std::int64_t r = from; r < to; ++r) {
        const float c = cosineOf(rows, r, unitQuery);
        if (c > top->threshold() && (!accept || accept(r)))
            top->push(r, c);
    }
}

// FNV-1a over a few rows: tells whether an index file was built from these rows.
std::uint64_t fingerprint(const HalfRows &rows, std::int64_t n)
{
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const void *p, std::size_t bytes) {
        const unsigned char *c = static_cast<const unsigned char *>(p);
        for (std::size_t i = 0; i < bytes; ++i) {
            h ^= c[i];
            h *= 1099511628211ull;
        }
    };
    mix(&n, sizeof n);
    mix(&rows.dim, sizeof rows.dim);
    if (n > 0)
        for (std::int64_t r : {std::int64_t(0), n / 3, n / 2, n - 1})
            mix(rows.data + r * rows.dim, std::size_t(rows.dim) * 2);
    return h;
}

[[maybe_unused]] int autoLists(std::int64_t rows) // unused without FAISS
{
    const double target = std::sqrt(double(std::max<std::int64_t>(rows, 1)));
    int lists = 64;
    while (lists < 4096 && lists * 1.5 < target)
        lists *= 2;
    return lists;
}

#ifdef MAGPIE_HAVE_FAISS
// FAISS checks this during k-means and distance computations: an update that
// is cancelled stops there too (the check throws, update() reports "cancelled").
// The callback is process-wide, so a cancel also stops other indexes' updates
// running at that moment; they report "cancelled" and the next update redoes them.
std::mutex g_cancelMutex;
std::vector<const std::atomic<bool> *> g_cancelFlags;

struct CancelCallback : faiss::InterruptCallback
{
    bool want_interrupt() override
    {
        std::lock_guard<std::mutex> lock(g_cancelMutex);
        for (const std::atomic<bool> *f : g_cancelFlags)
            if (f->load())
                return true;
        return false;
    }
};

class CancelRegistration
{
public:
    explicit CancelRegistration(const std::atomic<bool> *flag) : m_flag(flag)
    {
        static std::once_flag once;
        std::call_once(once, [] { faiss::InterruptCallback::instance.reset(new CancelCallback); });
        if (!m_flag) return;
        std::lock_guard<std::mutex> lock(g_cancelMutex);
        g_cancelFlags.push_back(m_flag);
    }
    ~CancelRegistration()
    {
        if (!m_flag) return;
        std::lock_guard<std::mutex> lock(g_cancelMutex);
        g_cancelFlags.erase(std::find(g_cancelFlags.begin(), g_cancelFlags.end(), m_flag));
    }

private:
    const std::atomic<bool> *m_flag;
};
#endif

constexpr char kMagic[8] = {'M', 'G', 'P', 'S', 'I', 'M', '0', '1'};
// The product quantizer learns 256 centroids per sub-vector: fewer rows than
// this are always searched exactly, whatever the options say.
constexpr std::int64_t kMinIndexedRows = 2000;

struct FileHeader
{
    char magic[8];
    std::int32_t dim = 0, reducedDim = 0, lists = 0, reserved = 0;
    std::int64_t indexed = 0, trainedRows = 0;
    std::uint64_t fingerprint = 0;
};

// An approximate index over rows [0, indexed); immutable once published
// (searches share it without a lock).
struct AnnState
{
    int dim = 0;
    std::int64_t indexed = 0;
    std::int64_t trainedRows = 0;
    std::uint64_t fingerprint = 0;
#ifdef MAGPIE_HAVE_FAISS
    std::shared_ptr<const faiss::PCAMatrix> pca;
    std::unique_ptr<faiss::IndexIVF> ivf;
#endif
};

} // namespace

struct SimilarityIndex::Impl
{
    QString path;
    SimilarityIndexOptions options;

    mutable std::mutex mutex;             // guards the members below
    std::shared_ptr<const AnnState> state;
    bool loadTried = false;
    bool validated = false;               // state's fingerprint checked against the rows

    std::mutex updateMutex;               // one update at a time
    std::thread worker;
    std::condition_variable idle;
    bool workerRunning = false;
    bool hasPending = false;
    HalfRows pending;
    QString lastError;
    bool lastOk = true;
    std::atomic<bool> cancel{false};

    // The published index if it belongs to `rows`, loading it on first use.
    std::shared_ptr<const AnnState> current(const HalfRows &rows);
    std::shared_ptr<AnnState> load(QString *why) const;
    [[maybe_unused]] bool save(const AnnState &s, QString *error) const;
    bool run(const HalfRows &rows, const std::atomic<bool> *cancel, QString *error);
    void startWorker();
};

SimilarityIndex::SimilarityIndex(const QString &path, const SimilarityIndexOptions &options)
    : d(std::make_unique<Impl>())
{
    d->path = path;
    d->options = options;
}

SimilarityIndex::~SimilarityIndex()
{
    d->cancel = true;
    std::unique_lock<std::mutex> lock(d->mutex);
    d->hasPending = false;
    lock.unlock();
    if (d->worker.joinable())
        d->worker.join();
}

bool SimilarityIndex::approximateAvailable()
{
#ifdef MAGPIE_HAVE_FAISS
    return true;
#else
    return false;
#endif
}

QString SimilarityIndex::path() const { return d->path; }

std::shared_ptr<AnnState> SimilarityIndex::Impl::load(QString *why) const
{
#ifdef MAGPIE_HAVE_FAISS
    FILE *f = std::fopen(QFile::encodeName(path).constData(), "rb");
    if (!f)
        return nullptr;
    auto s = std::make_shared<AnnState>();
    try {
        FileHeader h;
        if (std::fread(&h, sizeof h, 1, f) != 1 || std::memcmp(h.magic, kMagic, 8) != 0)
            throw std::runtime_error("not a Magpie similarity index");
        faiss::FileIOReader reader(f);
        reader.need_close = false;
        std::unique_ptr<faiss::VectorTransform> vt(faiss::read_VectorTransform(&reader));
        std::unique_ptr<faiss::Index> index(faiss::read_index(&reader));
        auto *pca = dynamic_cast<faiss::PCAMatrix *>(vt.get());
        auto *ivf = dynamic_cast<faiss::IndexIVF *>(index.get());
        if (!pca || !ivf || pca->d_in != h.dim || pca->d_out != ivf->d || ivf->ntotal != h.indexed)
            throw std::runtime_error("inconsistent similarity index");
        vt.release();
        index.release();
        s->pca.reset(pca);
        s->ivf.reset(ivf);
        s->dim = h.dim;
        s->indexed = h.indexed;
        s->trainedRows = h.trainedRows;
        s->fingerprint = h.fingerprint;
    } catch (const std::exception &e) {
        std::fclose(f);
        if (why) *why = QStringLiteral("%1: %2").arg(path, QString::fromUtf8(e.what()));
        return nullptr;
    }
    std::fclose(f);
    return s;
#else
    Q_UNUSED(why)
    return nullptr;
#endif
}

bool SimilarityIndex::Impl::save(const AnnState &s, QString *error) const
{
#ifdef MAGPIE_HAVE_FAISS
    const QByteArray tmp = QFile::encodeName(path + QStringLiteral(".tmp"));
    FILE *f = std::fopen(tmp.constData(), "wb");
    if (!f) {
        if (error) *error = QStringLiteral("cannot write %1").arg(QFile::decodeName(tmp));
        return false;
    }
    bool ok = true;
    try {
        FileHeader h;
        std::memcpy(h.magic, kMagic, 8);
        h.dim = s.dim;
        h.reducedDim = s.pca->d_out;
        h.lists = int(s.ivf->nlist);
        h.indexed = s.indexed;
        h.trainedRows = s.trainedRows;
        h.fingerprint = s.fingerprint;
        ok = std::fwrite(&h, sizeof h, 1, f) == 1;
        faiss::FileIOWriter writer(f);
        writer.need_close = false;
        faiss::write_VectorTransform(s.pca.get(), &writer);
        faiss::write_index(s.ivf.get(), &writer);
    } catch (const std::exception &) {
        ok = false;
    }
    ok = std::fflush(f) == 0 && ok;
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.constData(), QFile::encodeName(path).constData()) != 0) {
        std::remove(tmp.constData());
        if (error) *error = QStringLiteral("cannot write %1").arg(path);
        return false;
    }
    return true;
#else
    Q_UNUSED(s)
    Q_UNUSED(error)
    return false;
#endif
}

std::shared_ptr<const AnnState> SimilarityIndex::Impl::current(const HalfRows &rows)
{
    std::unique_lock<std::mutex> lock(mutex);
    if (!loadTried && !state) {
        loadTried = true;
        lock.unlock();
        std::shared_ptr<const AnnState> loaded = load(nullptr);
        lock.lock();
        if (!state) {
            state = loaded;
            validated = false;
        }
    }
    if (!state)
        return nullptr;
    if (!validated) {
        const bool ok = state->dim == rows.dim && state->indexed <= rows.rows
            && fingerprint(rows, state->indexed) == state->fingerprint;
        if (!ok) {
            state.reset(); // built from other rows (the cache was rebuilt): ignore, rebuild on update
            return nullptr;
        }
        validated = true;
    }
    return state;
}

std::vector<Neighbour> SimilarityIndex::exactSearch(const HalfRows &rows, const float *query, int k,
                                                    const RowFilter &accept, std::int64_t from, std::int64_t to)
{
    if (to < 0 || to > rows.rows) to = rows.rows;
    if (!rows.data || rows.dim <= 0 || k <= 0 || from >= to)
        return {};
    const std::vector<float> q = unit(query, rows.dim);
    TopK top(k);
    scanExact(rows, q.data(), std::max<std::int64_t>(0, from), to, accept, &top);
    return top.sorted();
}

std::vector<Neighbour> SimilarityIndex::search(const HalfRows &rows, const float *query, int k,
                                               const RowFilter &accept, SimilaritySearchInfo *info)
{
    SimilaritySearchInfo local;
    if (!info) info = &local;
    *info = {};
    if (!rows.data || rows.dim <= 0 || k <= 0 || rows.rows <= 0)
        return {};
    std::shared_ptr<const AnnState> s;
    if (rows.rows >= std::max(d->options.exactBelow, kMinIndexedRows))
        s = d->current(rows);
    const std::vector<float> q = unit(query, rows.dim);
    TopK top(k);
    std::int64_t tail = 0;
#ifdef MAGPIE_HAVE_FAISS
    if (s && s->indexed > 0) {
        const int want = int(std::min<std::int64_t>(std::max(d->options.candidates, 2 * k), s->indexed));
        // y = A q + b, by hand: FAISS would call sgemm, and waking BLAS threads
        // for one vector costs milliseconds on a busy machine.
        const int dr = s->pca->d_out;
        std::vector<float> reduced(static_cast<std::size_t>(dr));
        for (int i = 0; i < dr; ++i) {
            const float *a = s->pca->A.data() + std::size_t(i) * std::size_t(rows.dim);
            float acc = s->pca->b.empty() ? 0.0f : s->pca->b[std::size_t(i)];
            for (int j = 0; j < rows.dim; ++j)
                acc += a[j] * q[std::size_t(j)];
            reduced[std::size_t(i)] = acc;
        }
        std::vector<float> dist(static_cast<std::size_t>(want));
        std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(want));
        faiss::SearchParametersIVF params;
        params.nprobe = d->options.probes > 0 ? std::size_t(d->options.probes)
                                              : std::max<std::size_t>(1, s->ivf->nlist / 4);
        bool searched = true;
        try {
            s->ivf->search(1, reduced.data(), want, dist.data(), labels.data(), &params);
        } catch (const std::exception &) {
            // FAISS's interrupt callback is process-wide: while another index's
            // update is being cancelled, this search throws too. Answer exactly.
            searched = false;
        }
        if (searched) {
            tail = std::min(s->indexed, rows.rows);
            for (faiss::Index::idx_t r : labels)
                if (r >= 0 && r < tail && (!accept || accept(r)))
                    top.push(r, cosineOf(rows, r, q.data()));
            info->approximate = true;
            info->indexedRows = tail;
        }
    }
#endif
    scanExact(rows, q.data(), tail, rows.rows, accept, &top);
    info->exactRows = rows.rows - tail;
    return top.sorted();
}

bool SimilarityIndex::isCurrent(std::int64_t rows)
{
    if (rows < std::max(d->options.exactBelow, kMinIndexedRows) || !approximateAvailable())
        return true;
    std::lock_guard<std::mutex> lock(d->mutex);
    if (!d->state && !d->loadTried)
        return false; // not loaded yet: update() will load and check it
    return d->state && d->state->indexed == rows && rows < 4 * d->state->trainedRows;
}

std::int64_t SimilarityIndex::indexedRows()
{
    std::lock_guard<std::mutex> lock(d->mutex);
    return d->state ? d->state->indexed : 0;
}

bool SimilarityIndex::update(const HalfRows &rows, const std::atomic<bool> *cancel, QString *error)
{
    std::lock_guard<std::mutex> serial(d->updateMutex);
    return d->run(rows, cancel, error);
}

bool SimilarityIndex::Impl::run(const HalfRows &rows, const std::atomic<bool> *cancelFlag, QString *error)
{
    if (rows.rows < std::max(options.exactBelow, kMinIndexedRows) || !rows.data)
        return true;
#ifndef MAGPIE_HAVE_FAISS
    Q_UNUSED(cancelFlag)
    Q_UNUSED(error)
    return true;
#else
    const std::shared_ptr<const AnnState> old = current(rows);
    const bool retrain = !old || rows.rows >= 4 * old->trainedRows;
    if (!retrain && old->indexed == rows.rows)
        return true;
    CancelRegistration registered(cancelFlag);
    // OpenMP threads for this build (FAISS and the BLAS under it), on this
    // thread only. One by default: on a busy machine idle OpenMP threads spin at
    // every barrier, and the PQ training has thousands of small ones (3,000 rows
    // took 35-48 s with two threads and a loaded machine).
    struct OmpThreads
    {
        int saved = omp_get_max_threads();
        explicit OmpThreads(int n) { omp_set_num_threads(n > 0 ? n : int(std::thread::hardware_concurrency())); }
        ~OmpThreads() { omp_set_num_threads(saved); }
    } ompThreads(options.threads);
    auto cancelled = [&] { return cancelFlag && cancelFlag->load(); };
    const int D = rows.dim;
    auto next = std::make_shared<AnnState>();
    next->dim = D;
    // The rows `which`, as unit-length floats, into `out`.
    auto unitRows = [&](const std::vector<std::int64_t> &which, float *out) {
        for (std::size_t i = 0; i < which.size(); ++i) {
            float *o = out + i * std::size_t(D);
            halfToFloat(rows.data + which[i] * D, o, D);
            double n2 = 0;
            for (int k = 0; k < D; ++k)
                n2 += double(o[k]) * o[k];
            const float s = n2 > 0 ? float(1.0 / std::sqrt(n2)) : 0.0f;
            for (int k = 0; k < D; ++k)
                o[k] *= s;
        }
    };
    try {
        if (retrain) {
            const int lists = options.lists > 0 ? options.lists : autoLists(rows.rows);
            const int reduced = std::min(options.reducedDim, D);
            // Training rows spread evenly over the library (deterministic).
            const std::int64_t nTrain = std::min<std::int64_t>(rows.rows, std::max<std::int64_t>(40LL * lists, 20000));
            const std::int64_t nPca = std::min<std::int64_t>(nTrain, 20000);
            std::vector<std::int64_t> sample(static_cast<std::size_t>(nTrain));
            for (std::int64_t i = 0; i < nTrain; ++i)
                sample[std::size_t(i)] = i * rows.rows / nTrain;
            auto pca = std::make_shared<faiss::PCAMatrix>(D, reduced, 0.0f, false);
            {
                std::vector<std::int64_t> pcaRows;
                for (std::int64_t i = 0; i < nPca; ++i)
                    pcaRows.push_back(sample[std::size_t(i * nTrain / nPca)]);
                std::vector<float> x(pcaRows.size() * std::size_t(D));
                unitRows(pcaRows, x.data());
                pca->train(faiss::Index::idx_t(pcaRows.size()), x.data());
            }
            if (cancelled()) throw std::runtime_error("cancelled");
            std::vector<float> xr(std::size_t(nTrain) * std::size_t(reduced));
            const std::int64_t chunk = 4096;
            std::vector<float> buf(std::size_t(chunk) * std::size_t(D));
            for (std::int64_t s0 = 0; s0 < nTrain; s0 += chunk) {
                const std::int64_t m = std::min(chunk, nTrain - s0);
                unitRows(std::vector<std::int64_t>(sample.begin() + s0, sample.begin() + s0 + m), buf.data());
                pca->apply_noalloc(m, buf.data(), xr.data() + s0 * reduced);
            }
            auto *quantizer = new faiss::IndexFlatL2(reduced);
            // Product quantizer: `codeBytes` sub-vectors of 8 bits each (32 bytes
            // a row for 256 values), scanned by table look-ups.
            int subQuantizers = std::max(1, std::min(options.codeBytes, reduced));
            while (reduced % subQuantizers != 0) --subQuantizers;
            auto ivfpq = std::make_unique<faiss::IndexIVFPQ>(quantizer, reduced, std::size_t(lists),
                                                             std::size_t(subQuantizers), 8);
            // Small (forced) libraries have fewer training rows than FAISS
            // recommends; it then works as well, but warns on stderr.
            ivfpq->cp.min_points_per_centroid = 1;
            ivfpq->pq.cp.min_points_per_centroid = 1;
            next->ivf = std::move(ivfpq);
            next->ivf->own_fields = true;
            next->ivf->cp.niter = 10;
            next->ivf->train(nTrain, xr.data());
            next->pca = pca;
            next->trainedRows = rows.rows;
        } else {
            next->pca = old->pca;
            next->ivf.reset(dynamic_cast<faiss::IndexIVF *>(faiss::clone_index(old->ivf.get())));
            if (!next->ivf) throw std::runtime_error("cannot copy the similarity index");
            next->indexed = old->indexed;
            next->trainedRows = old->trainedRows;
        }
        // Add the rows not indexed yet, in order: FAISS ids are row numbers.
        const std::int64_t chunk = 8192;
        std::vector<float> buf(std::size_t(chunk) * std::size_t(D));
        std::vector<float> xr(std::size_t(chunk) * std::size_t(next->pca->d_out));
        std::vector<std::int64_t> which;
        for (std::int64_t s0 = next->indexed; s0 < rows.rows; s0 += chunk) {
            if (cancelled()) throw std::runtime_error("cancelled");
            const std::int64_t m = std::min(chunk, rows.rows - s0);
            which.resize(std::size_t(m));
            for (std::int64_t i = 0; i < m; ++i)
                which[std::size_t(i)] = s0 + i;
            unitRows(which, buf.data());
            next->pca->apply_noalloc(m, buf.data(), xr.data());
            next->ivf->add(m, xr.data());
        }
        next->indexed = rows.rows;
        next->fingerprint = fingerprint(rows, next->indexed);
    } catch (const std::exception &e) {
        if (error)
            *error = cancelled() ? QStringLiteral("cancelled")
                                 : QStringLiteral("similarity index: %1").arg(QString::fromUtf8(e.what()));
        return false;
    }
    QString saveError;
    const bool saved = save(*next, &saveError); // an unsaved index still serves this process
    {
        std::lock_guard<std::mutex> lock(mutex);
        state = next;
        validated = true;
        loadTried = true;
    }
    if (!saved && error) *error = saveError;
    return saved;
#endif
}

void SimilarityIndex::Impl::startWorker()
{
    // called with `mutex` held and no worker running
    if (worker.joinable())
        worker.join();
    workerRunning = true;
    worker = std::thread([this] {
        std::unique_lock<std::mutex> lock(mutex);
        while (hasPending && !cancel) {
            HalfRows rows = pending;
            hasPending = false;
            pending = {};
            lock.unlock();
            QString err;
            bool ok;
            {
                std::lock_guard<std::mutex> serial(updateMutex);
                ok = run(rows, &cancel, &err);
            }
            lock.lock();
            lastOk = ok;
            lastError = err;
        }
        workerRunning = false;
        idle.notify_all();
    });
}

void SimilarityIndex::updateInBackground(const HalfRows &rows)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    d->pending = rows;
    d->hasPending = true;
    if (!d->workerRunning)
        d->startWorker();
}

bool SimilarityIndex::waitForBackground(QString *error, const std::atomic<bool> *cancel)
{
    std::unique_lock<std::mutex> lock(d->mutex);
    while (!d->idle.wait_for(lock, std::chrono::milliseconds(50), [this] { return !d->workerRunning; }))
        if (cancel && cancel->load()) {
            if (error) *error = QStringLiteral("cancelled");
            return false;
        }
    if (!d->lastOk && error) *error = d->lastError;
    return d->lastOk;
}

bool SimilarityIndex::backgroundRunning() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    return d->workerRunning;
}

} // namespace magpie
