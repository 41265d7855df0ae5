#pragma once

#include "ui/libraryworker.h"

#include <QObject>

#include <atomic>
#include <memory>

namespace magpie {

namespace training {
class Curator;
}

// The GUI's side of training: embeddings, fast retrains and model-driven
// queues, on a thread of its own with its own Library and Curator. Built only
// when the training engine is (MAGPIE_HAVE_TRAINING); torch-free header.
//
// Thread contract: construct on the UI thread, moveToThread(), then call the
// slots through queued connections. cancel() may be called from any thread.
class TrainerWorker : public QObject
{
    Q_OBJECT
public:
    explicit TrainerWorker(QObject *parent = nullptr);
    ~TrainerWorker() override;
    void cancel() { m_cancel.store(true); }

public Q_SLOTS:
    void open(const QString &libraryPath);
    void close();
    // Embeds every image not embedded yet (incremental, resumable).
    void embed();
    // A fast retrain of `category`'s head on the cached embeddings, then a
    // fresh queue of `count` proposals in `mode`.
    void train(const magpie::Category &category, const QString &mode, int count, const QVector<qint64> &exclude);
    // Proposals from the newest model (request as in LibraryWorker::fetch).
    void suggest(int request, const magpie::Category &category, const QString &mode, int count,
                 const QVector<qint64> &exclude);

Q_SIGNALS:
    void stateChanged(const QString &text); // for the status bar
    void progress(const QString &job, qint64 done, qint64 total);
    void embedded(qint64 embedded, qint64 total);
    void modelReady(qint64 category, qint64 version, const QString &metricsJson, const QVector<magpie::Proposal> &queue);
    void suggested(int request, const QVector<magpie::Proposal> &proposals, bool haveModel);
    void failed(const QString &message);

private:
    QVector<Proposal> proposals(const Category &category, const QString &mode, int count, const QVector<qint64> &exclude,
                                bool *haveModel);

    std::unique_ptr<Library> m_lib;
    std::unique_ptr<training::Curator> m_curator;
    std::atomic<bool> m_cancel{false};
    bool m_ready = false;
};

} // namespace magpie
