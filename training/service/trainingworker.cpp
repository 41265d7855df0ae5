#include "training/service/trainingworker.h"

#ifdef Q_OS_LINUX
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/library.h"

#include <QMetaObject>
#include <QThread>

#include <algorithm>

namespace magpie::training {

// The object that lives on the worker thread and owns the Library and Curator.
class TrainingWorker::Job : public QObject
{
public:
    Job(TrainingWorker *owner, QString libraryPath, QString backbonePath)
        : m_owner(owner), m_libraryPath(std::move(libraryPath)), m_backbonePath(std::move(backbonePath)) {}

    bool ready(const QString &job)
    {
        // Closing: jobs still queued behind the cancelled one do not start
        // (the event loop runs every posted job before it sees quit()).
        if (m_owner->m_stopping.load()) return false;
        if (m_curator) return true;
        QString err;
        m_library = Library::open(m_libraryPath, Library::Mode::ReadWrite, &err);
        if (!m_library) {
            Q_EMIT m_owner->failed(job, err);
            return false;
        }
        m_curator = std::make_unique<Curator>(*m_library, m_backbonePath);
        return true;
    }
    // A long archive is embedded in parts (TrainingWorker::setEmbedPart):
    // after each part the rest goes to the back of the queue, so that a
    // retrain, a suggestion or "more like this" asked for meanwhile runs
    // within seconds instead of after the whole archive (answered images are
    // embedded first).
    void embed()
    {
        if (!ready(QStringLiteral("embed"))) return;
        EmbedReport r;
        // "embed: 2 backbones": the steps count every image once per backbone
        const int backbones = m_curator->embeddingBackbones();
        const QString job = backbones > 1 ? QStringLiteral("embed: %1 backbones").arg(backbones) : QStringLiteral("embed");
        const bool ok = m_curator->embed(&r, [this, &job](qint64 done, qint64 total) {
            Q_EMIT m_owner->progress(job, done, total);
        }, &m_owner->m_cancel, 32, m_owner->m_embedPart);
        const bool cancelled = m_owner->m_cancel.load() || r.cancelled;
        if (!m_owner->m_stopping.load()) m_owner->m_cancel.store(false); // a cancel stops the running job only
        m_partsEmbedded += r.embedded;
        if (ok && r.remaining > 0 && !cancelled && !m_owner->m_stopping.load()) {
            if (!m_embedQueued) { // one chain of parts, however often embedding was asked for
                m_embedQueued = true;
                QMetaObject::invokeMethod(this, [this] { m_embedQueued = false; embed(); }, Qt::QueuedConnection);
            }
            return;
        }
        r.embedded = m_partsEmbedded; // the whole run, over its parts
        m_partsEmbedded = 0;
        if (ok) Q_EMIT m_owner->embedded(r);
        else Q_EMIT m_owner->failed(QStringLiteral("embed"), m_curator->lastError());
    }
    void train(CategoryId id, const TrainOptions &o)
    {
        if (!ready(QStringLiteral("train"))) return;
        const auto cat = m_library->category(id);
        TrainReport r;
        QString stage;
        TrainOptions opts = o;
        opts.onStage = [&stage](const QString &s) { stage = s; };
        if (!cat) Q_EMIT m_owner->failed(QStringLiteral("train"), QStringLiteral("no category %1").arg(id));
        else if (m_curator->train(*cat, opts, &r, &m_owner->m_cancel, [this, &o, &stage](qint64 done, qint64 total) {
                     // a deep pass names its stage: its bar starts again for each
                     Q_EMIT m_owner->progress(o.deep ? (stage.isEmpty() ? QStringLiteral("deep") : QStringLiteral("deep: ") + stage)
                                                     : QStringLiteral("train"),
                                              done, total);
                 }))
            Q_EMIT m_owner->trained(r);
        else Q_EMIT m_owner->failed(QStringLiteral("train"), m_curator->lastError());
        if (!m_owner->m_stopping.load()) m_owner->m_cancel.store(false); // a cancel stops the running job only
    }
    void suggest(CategoryId id, Queue q, int n, ClassId cls)
    {
        if (!ready(QStringLiteral("suggest"))) return;
        const auto cat = m_library->category(id);
        if (!cat) {
            Q_EMIT m_owner->failed(QStringLiteral("suggest"), QStringLiteral("no category %1").arg(id));
            return;
        }
        Q_EMIT m_owner->suggested(id, m_curator->suggest(*cat, q, n, cls));
    }
    void score(CategoryId id, const QVector<ImageId> &images)
    {
        if (!ready(QStringLiteral("score"))) return;
        const auto cat = m_library->category(id);
        if (!cat) {
            Q_EMIT m_owner->failed(QStringLiteral("score"), QStringLiteral("no category %1").arg(id));
            return;
        }
        Q_EMIT m_owner->imagesScored(id, m_curator->scoreImages(*cat, images));
    }
    void similar(ImageId image, int n)
    {
        if (!ready(QStringLiteral("similar"))) return;
        const auto list = m_curator->similar(image, n);
        if (list.isEmpty() && !m_curator->lastError().isEmpty()) {
            Q_EMIT m_owner->failed(QStringLiteral("similar"), m_curator->lastError());
            return;
        }
        QVector<qint64> ids;
        for (const auto &[id, cosine] : list) ids << id;
        Q_EMIT m_owner->similarFound(image, ids);
    }
    void chain(ImageId from, ImageId to, int between)
    {
        if (!ready(QStringLiteral("chain"))) return;
        const auto list = m_curator->chain(from, to, between);
        if (list.isEmpty()) {
            Q_EMIT m_owner->failed(QStringLiteral("chain"), m_curator->lastError());
            return;
        }
        QVector<qint64> ids;
        float weakest = 1.0f;
        for (const auto &[id, cosine] : list) {
            ids << id;
            weakest = std::min(weakest, cosine);
        }
        Q_EMIT m_owner->chainFound(from, to, ids, weakest);
    }

    ~Job() override
    {
        m_curator.reset();
        m_library.reset();
    }

private:
    TrainingWorker *m_owner;
    QString m_libraryPath, m_backbonePath;
    std::unique_ptr<Library> m_library;
    std::unique_ptr<Curator> m_curator;
    bool m_embedQueued = false; // the next part of a long embedding is in the queue
    qint64 m_partsEmbedded = 0; // images embedded by the parts so far
};

TrainingWorker::TrainingWorker(const QString &libraryPath, const QString &backbonePath, QObject *parent)
    : QObject(parent), m_thread(std::make_unique<QThread>())
{
    qRegisterMetaType<EmbedReport>();
    qRegisterMetaType<TrainReport>();
    qRegisterMetaType<QVector<Suggestion>>();
    qRegisterMetaType<QVector<qint64>>();
    m_thread->setObjectName(QStringLiteral("magpie-training"));
    m_job = new Job(this, libraryPath, backbonePath);
    m_job->moveToThread(m_thread.get());
    connect(m_thread.get(), &QThread::finished, m_job, &QObject::deleteLater);
    // Training yields the cores to the person: QThread priorities do nothing
    // under Linux's default scheduler, so lower this thread's nice value; the
    // compute threads LibTorch starts from here inherit it.
    connect(m_thread.get(), &QThread::started, m_thread.get(), [] {
#ifdef Q_OS_LINUX
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 15);
#endif
    }, Qt::DirectConnection);
    m_thread->start(QThread::LowPriority);
}

TrainingWorker::~TrainingWorker()
{
    m_stopping.store(true);
    cancel();
    m_thread->quit();
    m_thread->wait();
}

void TrainingWorker::requestEmbed()
{
    QMetaObject::invokeMethod(m_job, [j = m_job] { j->embed(); }, Qt::QueuedConnection);
}

void TrainingWorker::requestTrain(CategoryId category, const TrainOptions &options)
{
    QMetaObject::invokeMethod(m_job, [j = m_job, category, options] { j->train(category, options); }, Qt::QueuedConnection);
}

void TrainingWorker::requestSuggest(CategoryId category, Queue queue, int n, ClassId onlyClass)
{
    QMetaObject::invokeMethod(m_job, [j = m_job, category, queue, n, onlyClass] { j->suggest(category, queue, n, onlyClass); },
                              Qt::QueuedConnection);
}

void TrainingWorker::requestSimilar(ImageId image, int n)
{
    QMetaObject::invokeMethod(m_job, [j = m_job, image, n] { j->similar(image, n); }, Qt::QueuedConnection);
}

void TrainingWorker::requestChain(ImageId from, ImageId to, int between)
{
    QMetaObject::invokeMethod(m_job, [j = m_job, from, to, between] { j->chain(from, to, between); }, Qt::QueuedConnection);
}

void TrainingWorker::requestScore(CategoryId category, const QVector<ImageId> &images)
{
    QMetaObject::invokeMethod(m_job, [j = m_job, category, images] { j->score(category, images); }, Qt::QueuedConnection);
}

void TrainingWorker::cancel()
{
    m_cancel.store(true);
}

} // namespace magpie::training
