#pragma once

#include "core/types.h"

#include <QObject>
#include <QPair>
#include <QVector>

#include <memory>

namespace magpie {

class Library;

// Without a model, the "mix", "audit" and "novel" queues show the unanswered
// images in this fixed pseudo-random order (the same for every session).
constexpr quint32 kShuffleSeed = 0x9E3779B9u;

// What the swipe view shows next: an image and, when a model proposed it,
// its guess. Plain values; crosses threads.
struct Proposal
{
    ImageRecord image;
    QString queue;          // "harvest", "teach", "audit", "novel", "mix", "unanswered"
    QString guess;          // class name in a class set, "yes"/"no" in a theme; empty = no model
    double confidence = -1; // 0..1, -1 when there is no model
    QVector<QPair<QString, float>> runnersUp; // a class set's next likeliest classes, likeliest first
    qint64 modelVersion = 0;
};

// All database work of the GUI runs here, on one thread of its own with its
// own Library connection, so that committing an answer or filling the queue
// never delays painting. Slots are invoked through queued connections; results
// come back as signals carrying values only.
//
// Thread contract: construct on the UI thread, then moveToThread(); call
// open() (queued) before anything else. The object owns its Library.
class LibraryWorker : public QObject
{
    Q_OBJECT
public:
    explicit LibraryWorker(QObject *parent = nullptr);
    ~LibraryWorker() override;

public Q_SLOTS:
    void open(const QString &path);
    void close();
    // Commits one answer; emits answered() once it is on disk.
    void answer(const magpie::Answer &a);
    // Undoes the newest answer of a person in `category`; emits undone().
    void undo(qint64 category);
    // Fills a queue: emits fetched(request, proposals).
    void fetch(int request, qint64 category, const QString &mode, int count, const QVector<qint64> &exclude);
    // The person's newest answers in `category` that undo can still revert
    // (one per image, newest first); emits recentAnswers().
    void recent(qint64 category, int count);
    void refreshCounts();

Q_SIGNALS:
    void opened(bool ok, const QString &error);
    void answered(const magpie::Answer &a);
    void undone(const magpie::Answer &a, bool ok);
    void fetched(int request, const QVector<magpie::Proposal> &proposals);
    void recentAnswers(qint64 category, const QVector<magpie::Proposal> &images, const QVector<magpie::Answer> &answers);
    void countsReady(const magpie::LibraryCounts &counts, qint64 decisions);
    void failed(const QString &message);

private:
    std::unique_ptr<Library> m_lib;
};

void registerUiMetaTypes();

} // namespace magpie

Q_DECLARE_METATYPE(magpie::Answer)
Q_DECLARE_METATYPE(magpie::Proposal)
Q_DECLARE_METATYPE(magpie::LibraryCounts)
Q_DECLARE_METATYPE(magpie::Category)
