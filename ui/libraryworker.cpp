#include "ui/libraryworker.h"

#include "core/library.h"

#include <QSet>

#include <QThread>

namespace magpie {

void registerUiMetaTypes()
{
    qRegisterMetaType<Answer>();
    qRegisterMetaType<Proposal>();
    qRegisterMetaType<QVector<Proposal>>();
    qRegisterMetaType<QVector<Answer>>();
    qRegisterMetaType<LibraryCounts>();
    qRegisterMetaType<Category>();
    qRegisterMetaType<QVector<qint64>>();
}

LibraryWorker::LibraryWorker(QObject *parent) : QObject(parent) {}
LibraryWorker::~LibraryWorker() = default;

void LibraryWorker::open(const QString &path)
{
    QString err;
    m_lib = Library::open(path, Library::Mode::ReadWrite, &err);
    Q_EMIT opened(bool(m_lib), err);
}

void LibraryWorker::close() { m_lib.reset(); }

void LibraryWorker::answer(const Answer &a)
{
    if (!m_lib)
        return;
    // A busy library (an import writing in another thread) is waited for by
    // SQLite itself; retry a few times more before telling the person.
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (m_lib->answer(a)) {
            Q_EMIT answered(a);
            return;
        }
        QThread::msleep(50 << attempt);
    }
    Q_EMIT failed(QStringLiteral("The answer could not be saved: ") + m_lib->lastError());
}

void LibraryWorker::undo(qint64 category)
{
    if (!m_lib)
        return;
    const auto d = m_lib->undoLast(category, Origin::Person);
    Q_EMIT undone(d ? d->answer : Answer{}, bool(d));
}

void LibraryWorker::fetch(int request, qint64 category, const QString &mode, int count, const QVector<qint64> &exclude)
{
    if (!m_lib)
        return;
    // Without a model every mode draws from the unanswered images in a fixed
    // shuffled order (import order would show the first book's pages first).
    const quint32 seed = kShuffleSeed;
    QVector<Proposal> out;
    for (const ImageRecord &r : m_lib->unanswered(category, count, seed, exclude)) {
        Proposal p;
        p.image = r;
        p.queue = mode;
        out << p;
    }
    Q_EMIT fetched(request, out);
}

void LibraryWorker::recent(qint64 category, int count)
{
    if (!m_lib)
        return;
    QVector<Proposal> images;
    QVector<Answer> answers;
    QSet<ImageId> seen;
    for (const Decision &d : m_lib->undoable(category, Origin::Person, count)) {
        if (seen.contains(d.answer.imageId))
            continue; // changed later: the newest answer stands for the image
        seen.insert(d.answer.imageId);
        const auto rec = m_lib->image(d.answer.imageId);
        if (!rec)
            continue;
        Proposal p;
        p.image = *rec;
        p.queue = QStringLiteral("history");
        images << p;
        answers << d.answer;
    }
    Q_EMIT recentAnswers(category, images, answers);
}

void LibraryWorker::refreshCounts()
{
    if (!m_lib)
        return;
    Q_EMIT countsReady(m_lib->counts(), m_lib->decisionCount());
}

} // namespace magpie
