#pragma once

#include "ui/libraryworker.h"

#include <QElapsedTimer>
#include <QHash>
#include <QImage>
#include <QObject>
#include <QSet>
#include <QThread>
#include <QThreadPool>

#include <deque>
#include <map>

namespace magpie {

// The logic behind the swipe view: the queue of proposals, images decoded
// ahead on a worker pool, answers and undo, the history strip, and session
// statistics. No widgets here, so tests drive it directly.
//
// Thread contract: lives on the UI thread. Database work goes to a
// LibraryWorker on its own thread; decoding goes to a private QThreadPool.
// Only values (QImage, Answer, Proposal) come back.
class SwipeController : public QObject
{
    Q_OBJECT
public:
    struct Decoded
    {
        QImage image; // fitted to the display box; null when decoding failed
        QString error;
    };
    struct HistoryItem
    {
        Proposal proposal;
        Answer answer;
        bool thisSession = false; // given in this window (the session count), not read back from earlier ones
    };

    explicit SwipeController(QObject *parent = nullptr);
    ~SwipeController() override;

    // Opens `path` on the worker thread; libraryOpened() tells how it went.
    void openLibrary(const QString &path);
    QString libraryPath() const { return m_path; }
    // Waits for every answer given so far to be committed, then closes the
    // worker's library. Called on window close; safe to call twice.
    void shutdown();

    void setCategory(const Category &category);
    // The same category under a new name: the card and queue stay.
    void setCategoryName(const QString &name)
    {
        m_category.name = name;
        Q_EMIT currentChanged();
    }
    const Category &category() const { return m_category; }
    bool hasCategory() const { return m_category.id != 0; }
    // Waits until every answer given so far is written (before a category's
    // answers are saved and it is deleted).
    void flushAnswers();
    // A deleted category: its strip and undo go; shown, the card goes too.
    void forgetCategory(CategoryId id);

    static QStringList modes();
    void setMode(const QString &mode);
    QString mode() const { return m_mode; }
    void cycleMode();

    // The box the view shows images in (px). Decoding scales each image to
    // fit it on the worker pool, so the UI thread only blits.
    void setDisplayBox(const QSize &box);
    QSize displayBox() const { return m_box; }
    // How an image of `image` size is shown in `box`: scaled to fit, small
    // scans enlarged at most 2 times.
    static QSize fitInto(const QSize &image, const QSize &box);
    // How many images to keep decoded ahead of the current one (>= 8).
    void setPrefetchDepth(int n) { m_prefetch = std::max(8, n); }

    bool hasCurrent() const { return m_hasCurrent; }
    const Proposal &current() const { return m_current; }
    // The decoded current image; null while it is still decoding or when it
    // could not be decoded (then currentError() says why).
    QImage currentImage() const;
    // Full resolution of the current image, for zoom: requestDetail() decodes
    // it in the background and emits detailReady(); null until then.
    void requestDetail();
    QImage detailImage() const;
    QString currentError() const;
    bool currentReady() const;
    bool isFetching() const { return m_fetchRequest != 0; }
    int queued() const { return int(m_upcoming.size()); }
    int decodedAhead() const;
    QImage imageFor(ImageId id) const; // a decoded image still in the cache, or null

    // --- answers -----------------------------------------------------------
    void answer(AnswerValue value, ClassId cls = 0);
    void answerClass(const QString &className);
    void undo();
    // Changes a past decision (index 0 = newest); it becomes the newest.
    void changeHistory(int index, AnswerValue value, ClassId cls = 0);
    // This session's decisions in the current category, newest first: each
    // category keeps its own, so undo and the strip never reach into another.
    const std::deque<HistoryItem> &history() const;

    // The library changed under the queue (an import): what follows the card
    // on screen is fetched again; the card stays.
    void refill();
    // A new model version proposes a fresh queue: the current image stays,
    // the rest is replaced without a visible jump.
    void refreshQueue(const QVector<Proposal> &fresh);
    // The model's guess for the current image when it was picked before any
    // model scored the queue (the first card after opening); no-op otherwise.
    void fillCurrentGuess(ImageId id, const QString &guess, float confidence,
                          const QVector<QPair<QString, float>> &runnersUp = {});

    // When a model exists for the category, queues come from it: the
    // controller emits modelFetchRequested() instead of reading unanswered
    // images, and the answer comes back through deliverProposals().
    void setModelActive(bool active)
    {
        if (m_modelActive == active) return;
        m_modelActive = active;
        Q_EMIT modelActiveChanged();
    }
    bool modelActive() const { return m_modelActive; }
    // The category has a trained model: its first card comes from the model's
    // queue (the harvest queue starts with the likeliest yes), not from the
    // library's order, which stands in only until a model exists. A library
    // fetch still under way is ignored when it comes back; a card already on
    // screen stays (refreshQueue() replaces what follows it).
    void fillFromModel();
    // The model could not answer a fetch: the queue falls back to the library's order.
    void modelFetchFailed(int request);
    void deliverProposals(int request, const QVector<Proposal> &proposals) { onFetched(request, proposals); }
    // The current image and the next ones in the queue, up to n.
    QVector<ImageId> upcomingIds(int n) const;
    // Ids the queue must not propose again now (current, queued, recent history).
    QVector<qint64> busyIds() const;

    int sessionAnswers() const { return m_sessionAnswers; } // since the library was opened
    // What to press in a class set when a key answered no class.
    static QString classKeysHint(const Category &category);
    double answersPerHour() const;
    qint64 committedAnswers() const { return m_committed; }
    int pendingCommits() const { return m_pending; }
    // The object whose thread writes every answer (tests queue work on it to hold the writes back).
    LibraryWorker *libraryWorker() const { return m_worker; }

Q_SIGNALS:
    void libraryOpened(bool ok, const QString &error);
    void currentChanged();   // the current proposal or its image changed
    void historyChanged();
    void statsChanged();
    void modeChanged(const QString &mode);
    void modelActiveChanged(); // a model (or the backbone's prior) now scores the queue, or no longer
    void countsChanged(const magpie::LibraryCounts &counts, qint64 decisions);
    void message(const QString &text);
    void answerCommitted(const magpie::Answer &a);
    void detailReady();
    // The current image came back (undo) without a model's guess: the window asks the model for one.
    void guessWanted(magpie::ImageId image);
    void modelFetchRequested(int request, const magpie::Category &category, const QString &mode, int count,
                             const QVector<qint64> &exclude);

private:
    void advance();
    void setCurrent(const Proposal &p);
    void requestFill();
    void prefetch();
    void onFetched(int request, const QVector<Proposal> &proposals);
    void onDecoded(ImageId id, const Decoded &d);
    void evict();
    void requestCounts();

    QThread m_thread;
    LibraryWorker *m_worker = nullptr; // lives on m_thread
    QThreadPool m_pool;
    QString m_path;
    Category m_category;
    QString m_mode = QStringLiteral("mix");
    QSize m_box{1200, 900};
    int m_prefetch = 10;

    bool m_hasCurrent = false;
    bool m_replaceCurrent = false; // the queue changed: its first image takes the card's place
    Proposal m_current;
    std::deque<Proposal> m_upcoming;
    std::map<CategoryId, std::deque<HistoryItem>> m_histories; // per category
    std::deque<HistoryItem> &currentHistory() { return m_histories[m_category.id]; }
    QHash<ImageId, Decoded> m_cache;
    QSet<ImageId> m_decoding;
    int m_generation = 0; // one per opened library: a decode of the library before is dropped
    bool m_opening = false; // from openLibrary() to the worker's opened(): its signals are the library before's
    int m_fetchRequest = 0;
    int m_nextRequest = 1;
    bool m_exhausted = false;
    QImage m_detail;
    ImageId m_detailFor = 0;
    QElapsedTimer m_shownAt;   // since the current image was shown
    QElapsedTimer m_session;
    int m_sessionAnswers = 0;
    qint64 m_committed = 0;
    int m_pending = 0;
    bool m_shutdown = false;
    bool m_modelActive = false;
};

} // namespace magpie
