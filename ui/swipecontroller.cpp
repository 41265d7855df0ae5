#include "ui/swipecontroller.h"

#include "core/imagedecoder.h"
#include "core/labelio.h"
#include "ui/keymap.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

namespace magpie {

namespace {
constexpr int kHistoryLength = 30;
constexpr int kFetchBatch = 48;
} // namespace

SwipeController::SwipeController(QObject *parent) : QObject(parent)
{
    registerUiMetaTypes();
    m_pool.setMaxThreadCount(std::max(2, QThread::idealThreadCount()));
    m_worker = new LibraryWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // The worker answers in order: what it sends before opened() is about the
    // library before (a fetch, the history, counts asked for then), and is dropped.
    connect(m_worker, &LibraryWorker::opened, this, [this](bool ok, const QString &err) {
        m_opening = false;
        Q_EMIT libraryOpened(ok, err);
        if (ok)
            requestCounts();
    });
    connect(m_worker, &LibraryWorker::answered, this, [this](const Answer &a) {
        --m_pending;
        ++m_committed;
        Q_EMIT answerCommitted(a);
        Q_EMIT statsChanged();
        // counts are cheap but not free on a million rows: refresh every few answers
        if (m_committed % 5 == 0 || m_pending == 0)
            requestCounts();
    });
    connect(m_worker, &LibraryWorker::undone, this, [this](const Answer &, bool ok) {
        --m_pending;
        if (!ok)
            Q_EMIT message(tr("Nothing left to undo."));
        requestCounts();
    });
    connect(m_worker, &LibraryWorker::fetched, this, [this](int request, const QVector<Proposal> &proposals) {
        if (!m_opening)
            onFetched(request, proposals);
    });
    connect(m_worker, &LibraryWorker::recentAnswers, this,
            [this](qint64 category, const QVector<Proposal> &images, const QVector<Answer> &answers) {
                if (m_opening)
                    return;
                // earlier sessions' answers go behind this session's (they are older)
                std::deque<HistoryItem> &history = m_histories[category];
                QSet<ImageId> shown;
                for (const HistoryItem &h : history)
                    shown.insert(h.proposal.image.id);
                for (qsizetype i = 0; i < images.size() && history.size() < size_t(kHistoryLength); ++i)
                    if (!shown.contains(images[i].image.id))
                        history.push_back({images[i], answers[i]});
                if (category == m_category.id)
                    Q_EMIT historyChanged();
            });
    connect(m_worker, &LibraryWorker::countsReady, this, [this](const LibraryCounts &counts, qint64 decisions) {
        if (!m_opening)
            Q_EMIT countsChanged(counts, decisions);
    });
    connect(m_worker, &LibraryWorker::failed, this, [this](const QString &msg) {
        --m_pending;
        Q_EMIT message(msg);
    });
    m_thread.setObjectName(QStringLiteral("magpie-library"));
    m_thread.start();
    m_session.start();
}

SwipeController::~SwipeController()
{
    shutdown();
    m_pool.clear();
    m_pool.waitForDone();
}

QString SwipeController::classKeysHint(const Category &category)
{
    // "Press the letter of the class" where classes are letters; the keys of
    // the others ("0 none", "1 rock") named beside them
    const auto keys = classKeys(category);
    if (keys.isEmpty())
        return tr("Press \u2192 to take the model's guess (or Space to skip).");
    QStringList named, own;
    bool letters = true;
    for (const auto &[key, id] : keys)
        for (const ClassInfo &c : category.classes) {
            if (c.id != id)
                continue;
            if (c.name == key) { // a one-character class is its own key
                own << key;
                letters = letters && key.at(0).isLetter();
            } else {
                named << QStringLiteral("%1 %2").arg(key, c.name);
            }
        }
    const auto list = [](QStringList l) {
        if (l.size() > 6)
            l = l.mid(0, 6) << QStringLiteral("\u2026");
        return l.join(QStringLiteral(", "));
    };
    if (!own.isEmpty() && letters)
        return named.isEmpty() ? tr("Press the letter of the class (or Space to skip).")
                               : tr("Press the letter of the class, or %1 (or Space to skip).").arg(list(named));
    return tr("Press the class's key: %1 (or Space to skip).").arg(list(own + named));
}

void SwipeController::openLibrary(const QString &path)
{
    m_sessionAnswers = 0; // this session's answers in this library
    m_session.restart();
    m_path = path;
    m_category = {};
    m_hasCurrent = false;
    m_upcoming.clear();
    m_histories.clear();
    m_cache.clear();
    m_decoding.clear();
    ++m_generation; // image ids start again in another library: what is still decoding is not this one's
    m_detail = {};
    m_detailFor = 0;
    m_fetchRequest = 0;
    m_opening = true;
    Q_EMIT historyChanged(); // the strip and the card of the library before go now
    Q_EMIT currentChanged();
    QMetaObject::invokeMethod(m_worker, "open", Qt::QueuedConnection, Q_ARG(QString, path));
}

void SwipeController::shutdown()
{
    if (m_shutdown)
        return;
    m_shutdown = true;
    // Queued slots run in order: close() runs after every pending answer, and
    // blocking here keeps the thread's loop alive until they have all run.
    if (m_thread.isRunning())
        QMetaObject::invokeMethod(m_worker, "close", Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

void SwipeController::flushAnswers()
{
    // queued slots run in order: this returns once the answers queued before it are written
    if (m_thread.isRunning() && !m_shutdown)
        QMetaObject::invokeMethod(m_worker, [] {}, Qt::BlockingQueuedConnection);
}

void SwipeController::forgetCategory(CategoryId id)
{
    m_histories.erase(id);
    if (m_category.id == id)
        setCategory(Category{});
    else
        Q_EMIT historyChanged();
}

QStringList SwipeController::modes()
{
    return {QStringLiteral("mix"), QStringLiteral("harvest"), QStringLiteral("teach"), QStringLiteral("audit"),
            QStringLiteral("novel"), QStringLiteral("random")};
}

void SwipeController::setCategory(const Category &category)
{
    m_category = category;
    // a category seen for the first time in this window: its strip (and undo)
    // starts with the answers given before, in earlier sessions too
    if (category.id && m_histories.find(category.id) == m_histories.end()) {
        m_histories[category.id];
        QMetaObject::invokeMethod(m_worker, "recent", Qt::QueuedConnection, Q_ARG(qint64, category.id),
                                  Q_ARG(int, kHistoryLength));
    }
    m_modelActive = false;
    m_hasCurrent = false;
    m_current = {};
    m_upcoming.clear();
    m_exhausted = false;
    m_fetchRequest = 0; // results of an older request are ignored
    evict();
    Q_EMIT currentChanged();
    Q_EMIT historyChanged(); // the strip shows this category's decisions
    requestFill();
}

void SwipeController::refill()
{
    if (!hasCategory())
        return;
    m_upcoming.clear();
    m_exhausted = false;
    m_fetchRequest = 0; // an older fetch may predate the change
    requestFill();
}

const std::deque<SwipeController::HistoryItem> &SwipeController::history() const
{
    static const std::deque<HistoryItem> none;
    const auto it = m_histories.find(m_category.id);
    return it == m_histories.end() ? none : it->second;
}

void SwipeController::setMode(const QString &mode)
{
    if (mode == m_mode || !modes().contains(mode))
        return;
    m_mode = mode;
    Q_EMIT modeChanged(mode);
    // the new queue's first image replaces the card on screen when it comes
    // (until then the card stays, so the stage never goes blank); the card
    // left unanswered comes back in a later queue
    m_replaceCurrent = m_hasCurrent;
    m_upcoming.clear();
    m_exhausted = false;
    m_fetchRequest = 0;
    requestFill();
}

void SwipeController::cycleMode()
{
    const QStringList all = modes();
    setMode(all[(all.indexOf(m_mode) + 1) % all.size()]);
}

QImage SwipeController::currentImage() const
{
    return m_hasCurrent ? m_cache.value(m_current.image.id).image : QImage();
}

QString SwipeController::currentError() const
{
    return m_hasCurrent ? m_cache.value(m_current.image.id).error : QString();
}

bool SwipeController::currentReady() const
{
    return m_hasCurrent && m_cache.contains(m_current.image.id);
}

int SwipeController::decodedAhead() const
{
    int n = 0;
    for (const Proposal &p : m_upcoming)
        n += m_cache.contains(p.image.id) ? 1 : 0;
    return n;
}

QImage SwipeController::imageFor(ImageId id) const { return m_cache.value(id).image; }

QImage SwipeController::detailImage() const
{
    return m_hasCurrent && m_detailFor == m_current.image.id ? m_detail : QImage();
}

void SwipeController::requestDetail()
{
    if (!m_hasCurrent || m_detailFor == m_current.image.id)
        return;
    const ImageId id = m_current.image.id;
    const QString path = m_current.image.absPath;
    QtConcurrent::run(&m_pool, [path] {
        QString err;
        return decoder::decodeFile(path, 0, &err); // full resolution, within the pixel limit
    }).then(this, [this, id, generation = m_generation](const QImage &img) {
        if (generation != m_generation || !m_hasCurrent || m_current.image.id != id || img.isNull())
            return;
        m_detail = img;
        m_detailFor = id;
        Q_EMIT detailReady();
    });
}

QSize SwipeController::fitInto(const QSize &image, const QSize &box)
{
    if (image.isEmpty() || box.isEmpty())
        return image;
    QSize s = image.scaled(box, Qt::KeepAspectRatio);
    // small scans (a 96-px initial, a 60-px stamp): enlarged up to 4 times, so
    // that the letter reads on a large screen, but not into a blur of blocks
    if (s.width() > image.width() * 4)
        s = image * 4;
    return s;
}

void SwipeController::setDisplayBox(const QSize &box)
{
    if (box == m_box || box.isEmpty())
        return;
    m_box = box;
    // images decoded for the old size are re-done for the new one
    const QSet<ImageId> keep = m_hasCurrent ? QSet<ImageId>{m_current.image.id} : QSet<ImageId>{};
    for (auto it = m_cache.begin(); it != m_cache.end();)
        it = keep.contains(it.key()) ? std::next(it) : m_cache.erase(it);
    prefetch();
}

double SwipeController::answersPerHour() const
{
    const double hours = m_session.elapsed() / 3.6e6;
    return hours > 0 ? m_sessionAnswers / hours : 0;
}

void SwipeController::answer(AnswerValue value, ClassId cls)
{
    if (!m_hasCurrent || !hasCategory())
        return;
    if (!currentReady()) {
        // the person has not seen it yet: no blind answers
        Q_EMIT message(tr("Still decoding this image…"));
        return;
    }
    if (!currentError().isEmpty()) {
        // an image that cannot be shown cannot be judged: move on, record nothing
        Q_EMIT message(tr("Skipped %1: %2").arg(m_current.image.relPath, currentError()));
        advance();
        return;
    }
    Answer a;
    a.imageId = m_current.image.id;
    a.categoryId = m_category.id;
    a.classId = m_category.kind == CategoryKind::ClassSet ? cls : 0;
    a.value = value;
    a.origin = Origin::Person;
    a.durationMs = m_shownAt.isValid() ? int(std::min<qint64>(m_shownAt.elapsed(), INT_MAX)) : -1;
    a.modelVersion = m_current.modelVersion;
    if (m_category.kind == CategoryKind::ClassSet && value != AnswerValue::Skip && cls == 0) {
        Q_EMIT message(classKeysHint(m_category));
        return;
    }
    ++m_pending;
    QMetaObject::invokeMethod(m_worker, "answer", Qt::QueuedConnection, Q_ARG(magpie::Answer, a));
    std::deque<HistoryItem> &history = currentHistory();
    history.push_front({m_current, a, true});
    while (history.size() > kHistoryLength)
        history.pop_back();
    ++m_sessionAnswers;
    advance();
    Q_EMIT historyChanged();
    Q_EMIT statsChanged();
}

void SwipeController::answerClass(const QString &className)
{
    if (const ClassId id = labelio::classIdOf(m_category, className)) {
        answer(AnswerValue::Yes, id);
        return;
    }
    Q_EMIT message(tr("\u201c%1\u201d is not a class of %2.").arg(className, m_category.name));
}

void SwipeController::undo()
{
    std::deque<HistoryItem> &history = currentHistory();
    if (history.empty()) {
        Q_EMIT message(m_category.name.isEmpty() ? tr("Nothing to undo.") : tr("Nothing to undo in %1.").arg(m_category.name));
        return;
    }
    const HistoryItem item = history.front();
    history.pop_front();
    ++m_pending;
    QMetaObject::invokeMethod(m_worker, "undo", Qt::QueuedConnection, Q_ARG(qint64, m_category.id));
    if (m_hasCurrent)
        m_upcoming.push_front(m_current);
    if (item.thisSession) // an answer from an earlier session was never counted in this one
        --m_sessionAnswers;
    setCurrent(item.proposal);
    if (item.proposal.confidence < 0 && m_modelActive)
        Q_EMIT guessWanted(item.proposal.image.id);
    Q_EMIT historyChanged();
    Q_EMIT statsChanged();
}

void SwipeController::changeHistory(int index, AnswerValue value, ClassId cls)
{
    std::deque<HistoryItem> &history = currentHistory();
    if (index < 0 || index >= int(history.size()))
        return;
    HistoryItem item = history[size_t(index)];
    history.erase(history.begin() + index);
    item.answer.value = value;
    item.answer.classId = m_category.kind == CategoryKind::ClassSet ? cls : 0;
    item.answer.atMs = 0;
    ++m_pending;
    QMetaObject::invokeMethod(m_worker, "answer", Qt::QueuedConnection, Q_ARG(magpie::Answer, item.answer));
    history.push_front(item);
    Q_EMIT historyChanged();
}

void SwipeController::refreshQueue(const QVector<Proposal> &fresh)
{
    m_upcoming.clear();
    for (const Proposal &p : fresh)
        if (!m_hasCurrent || p.image.id != m_current.image.id)
            m_upcoming.push_back(p);
    if (m_hasCurrent && m_replaceCurrent && !m_upcoming.empty()) {
        advance(); // the queue was changed: its first image replaces the card
    } else if (m_hasCurrent) {
        // the current image stays; only its guess may change
        for (const Proposal &p : fresh)
            if (p.image.id == m_current.image.id) {
                m_current.guess = p.guess;
                m_current.confidence = p.confidence;
                m_current.runnersUp = p.runnersUp;
                m_current.modelVersion = p.modelVersion;
                Q_EMIT currentChanged();
            }
    } else {
        advance();
    }
    m_exhausted = false;
    evict();
    prefetch();
}

void SwipeController::fillFromModel()
{
    setModelActive(true);
    if (m_hasCurrent || !hasCategory())
        return;
    m_fetchRequest = 0; // the library's answer to an earlier fetch is dropped (onFetched checks the request)
    m_upcoming.clear();
    m_exhausted = false;
    requestFill();
    Q_EMIT currentChanged(); // "Filling the queue..."
}

void SwipeController::modelFetchFailed(int request)
{
    if (request != m_fetchRequest)
        return;
    m_fetchRequest = 0;
    setModelActive(false);
    requestFill();
}

void SwipeController::fillCurrentGuess(ImageId id, const QString &guess, float confidence,
                                       const QVector<QPair<QString, float>> &runnersUp)
{
    if (!m_hasCurrent || m_current.image.id != id || m_current.confidence >= 0)
        return;
    m_current.guess = guess;
    m_current.confidence = confidence;
    m_current.runnersUp = runnersUp;
    Q_EMIT currentChanged();
}

void SwipeController::advance()
{
    m_replaceCurrent = false;
    if (m_upcoming.empty()) {
        m_hasCurrent = false;
        m_current = {};
        Q_EMIT currentChanged();
        requestFill();
        return;
    }
    const Proposal next = m_upcoming.front();
    m_upcoming.pop_front();
    setCurrent(next);
    requestFill();
}

void SwipeController::setCurrent(const Proposal &p)
{
    m_current = p;
    m_detail = {};
    m_detailFor = 0;
    m_hasCurrent = true;
    m_shownAt.start();
    evict();
    prefetch();
    Q_EMIT currentChanged();
}

void SwipeController::requestFill()
{
    if (!hasCategory() || m_fetchRequest != 0 || m_exhausted || int(m_upcoming.size()) >= m_prefetch + 8)
        return;
    const QVector<qint64> exclude = busyIds();
    m_fetchRequest = m_nextRequest++;
    if (m_modelActive) {
        Q_EMIT modelFetchRequested(m_fetchRequest, m_category, m_mode, kFetchBatch, exclude);
        return;
    }
    QMetaObject::invokeMethod(m_worker, "fetch", Qt::QueuedConnection, Q_ARG(int, m_fetchRequest),
                              Q_ARG(qint64, m_category.id), Q_ARG(QString, m_mode), Q_ARG(int, kFetchBatch),
                              Q_ARG(QVector<qint64>, exclude));
}

QVector<ImageId> SwipeController::upcomingIds(int n) const
{
    QVector<ImageId> ids;
    if (m_hasCurrent)
        ids << m_current.image.id;
    for (size_t i = 0; i < m_upcoming.size() && ids.size() < n; ++i)
        ids << m_upcoming[i].image.id;
    return ids;
}

QVector<qint64> SwipeController::busyIds() const
{
    QVector<qint64> ids;
    if (m_hasCurrent)
        ids << m_current.image.id;
    for (const Proposal &p : m_upcoming)
        ids << p.image.id;
    for (const HistoryItem &h : history())
        ids << h.proposal.image.id;
    return ids;
}

void SwipeController::onFetched(int request, const QVector<Proposal> &proposals)
{
    if (request != m_fetchRequest)
        return; // an answer to an older question (category or mode changed since)
    m_fetchRequest = 0;
    QSet<ImageId> have;
    if (m_hasCurrent)
        have.insert(m_current.image.id);
    for (const Proposal &p : m_upcoming)
        have.insert(p.image.id);
    int added = 0;
    for (const Proposal &p : proposals)
        if (!have.contains(p.image.id)) {
            m_upcoming.push_back(p);
            ++added;
        }
    m_exhausted = added == 0;
    if ((!m_hasCurrent || m_replaceCurrent) && !m_upcoming.empty())
        advance();
    else
        prefetch();
    if (!m_hasCurrent)
        Q_EMIT currentChanged(); // the empty state may change its text
}

void SwipeController::prefetch()
{
    QVector<Proposal> want;
    if (m_hasCurrent)
        want << m_current;
    for (size_t i = 0; i < m_upcoming.size() && want.size() < m_prefetch + 1; ++i)
        want << m_upcoming[i];
    for (const Proposal &p : want) {
        const ImageId id = p.image.id;
        if (m_cache.contains(id) || m_decoding.contains(id))
            continue;
        m_decoding.insert(id);
        const QString path = p.image.absPath;
        const QSize box = m_box;
        QtConcurrent::run(&m_pool, [path, box] {
            Decoded d;
            d.image = decoder::decodeFile(path, std::max(box.width(), box.height()), &d.error);
            if (d.image.isNull() && d.error.isEmpty())
                d.error = QStringLiteral("could not be decoded");
            if (!d.image.isNull()) {
                const QSize fit = fitInto(d.image.size(), box);
                if (fit != d.image.size())
                    d.image = d.image.scaled(fit, Qt::KeepAspectRatio, Qt::SmoothTransformation);
            }
            return d;
        }).then(this, [this, id, generation = m_generation](const Decoded &d) {
            if (generation == m_generation)
                onDecoded(id, d);
        });
    }
}

void SwipeController::onDecoded(ImageId id, const Decoded &d)
{
    m_decoding.remove(id);
    m_cache.insert(id, d);
    if (m_hasCurrent && id == m_current.image.id) {
        m_shownAt.start(); // the person sees it only now
        Q_EMIT currentChanged();
    }
    evict();
}

void SwipeController::evict()
{
    // keep: current, the upcoming window, and the newest few history images (for undo)
    QSet<ImageId> keep;
    if (m_hasCurrent)
        keep.insert(m_current.image.id);
    for (size_t i = 0; i < m_upcoming.size() && i < size_t(m_prefetch + 4); ++i)
        keep.insert(m_upcoming[i].image.id);
    const std::deque<HistoryItem> &history = this->history();
    for (size_t i = 0; i < history.size() && i < 4; ++i)
        keep.insert(history[i].proposal.image.id);
    for (auto it = m_cache.begin(); it != m_cache.end();)
        it = keep.contains(it.key()) ? std::next(it) : m_cache.erase(it);
}

void SwipeController::requestCounts()
{
    QMetaObject::invokeMethod(m_worker, "refreshCounts", Qt::QueuedConnection);
}

} // namespace magpie
