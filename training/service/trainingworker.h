#pragma once

#include "training/service/curator.h"

#include <QObject>
#include <QString>

#include <algorithm>
#include <atomic>
#include <memory>

class QThread;

namespace magpie::training {

// The GUI's handle on training: a long-lived worker on its own thread that
// runs embed / train / suggest jobs one at a time, in the order requested.
// Torch-free header.
//
// Thread contract: construct and call the request*() methods and cancel() on
// the owner's (UI) thread; jobs run on the worker thread, which opens its own
// Library on `libraryPath` (one SQLite connection per thread). Results and
// progress come back as queued signals carrying plain values. cancel() may be
// called from any thread; it stops the running job soon and drops nothing
// already written. The destructor cancels, stops the thread and waits.
class TrainingWorker : public QObject
{
    Q_OBJECT
public:
    explicit TrainingWorker(const QString &libraryPath, const QString &backbonePath = {}, QObject *parent = nullptr);
    ~TrainingWorker() override;

    void requestEmbed();
    void requestTrain(CategoryId category, const TrainOptions &options = {});
    void requestSuggest(CategoryId category, Queue queue, int n, ClassId onlyClass = 0);
    // "More like this": the n images nearest to `image` (Curator::similar),
    // answered by similarFound().
    void requestSimilar(ImageId image, int n);
    // A chain of similar images from one image to another (Curator::chain),
    // answered by chainFound().
    void requestChain(ImageId from, ImageId to, int between);
    // The current model's guess for a few images (Curator::scoreImages),
    // answered by imagesScored().
    void requestScore(CategoryId category, const QVector<ImageId> &images);
    void cancel();
    // How many images one part of a long embedding holds (default 2,000):
    // jobs asked for meanwhile run between parts. Before the first request.
    void setEmbedPart(qint64 images) { m_embedPart = std::max<qint64>(1, images); }

Q_SIGNALS:
    void progress(const QString &job, qint64 done, qint64 total);
    void embedded(const magpie::training::EmbedReport &report);
    void trained(const magpie::training::TrainReport &report);
    void suggested(qint64 category, const QVector<magpie::training::Suggestion> &suggestions);
    void similarFound(qint64 image, const QVector<qint64> &neighbours); // best first
    // from, the images between, to; `weakest`: the lowest cosine between neighbours in it
    void chainFound(qint64 from, qint64 to, const QVector<qint64> &chain, float weakest);
    void imagesScored(qint64 category, const QVector<magpie::training::Suggestion> &scored);
    void failed(const QString &job, const QString &message);

private:
    class Job;
    std::unique_ptr<QThread> m_thread;
    Job *m_job = nullptr; // lives on m_thread
    std::atomic<bool> m_cancel{false};
    std::atomic<bool> m_stopping{false}; // set by the destructor: queued jobs are dropped
    qint64 m_embedPart = 2000;
};

} // namespace magpie::training

Q_DECLARE_METATYPE(magpie::training::EmbedReport)
Q_DECLARE_METATYPE(magpie::training::TrainReport)
Q_DECLARE_METATYPE(magpie::training::Suggestion)
