#pragma once

#include "core/types.h"

#include <QHash>
#include <QString>

#include <memory>

class QSqlDatabase;

namespace magpie {

// What went wrong when a library could not be opened or written.
enum class LibraryError {
    None,
    NotFound,   // no library at that path
    Exists,     // create(): a library is already there
    Locked,     // another Magpie process has it open
    ReadOnly,   // the file or its folder cannot be written
    TooNew,     // written by a newer Magpie (schema version above ours)
    Corrupt,    // not a SQLite file, or not a Magpie library
    Io,         // anything else SQLite or the file system reported
};

// What the importer needs to know about files already in the library.
struct KnownFile
{
    ImageId id = 0;
    qint64 byteSize = 0;
    qint64 mtimeMs = 0;
    ImageStatus status = ImageStatus::Ok;
};

// The user's catalogue of an archive: one SQLite file (WAL, foreign keys,
// versioned schema) and a cache folder beside it ("<file>-cache/").
//
// Thread contract: a Library object, and the SQLite connection inside it,
// belongs to the thread that opened it. Another thread opens its own Library
// on the same path (the process holds one lock file for all of them). Every
// write is its own transaction unless it says otherwise, so a crash loses
// nothing that a call has returned from.
//
// Concurrency between processes: one process at a time opens a library for
// writing (lock file "<file>.lock"); a second gets LibraryError::Locked.
class Library
{
public:
    enum class Mode { ReadWrite, ReadOnly };

    ~Library();
    Library(const Library &) = delete;
    Library &operator=(const Library &) = delete;

    // Creates a new library file (and its cache folder). Fails with Exists if
    // one is there already.
    static std::unique_ptr<Library> create(const QString &path, QString *error,
                                           LibraryError *kind = nullptr);
    // Opens an existing library, migrating its schema forward when needed.
    static std::unique_ptr<Library> open(const QString &path, Mode mode, QString *error,
                                         LibraryError *kind = nullptr);

    static int currentSchemaVersion();

    QString path() const;
    QString cacheDir() const;
    // Where the thumbnail of content `hash` lives (the file may not exist).
    QString thumbnailPath(const QByteArray &hash) const;
    // The same for the library file at `libraryPath`, without opening it.
    static QString thumbnailPath(const QString &libraryPath, const QByteArray &hash);
    bool isReadOnly() const;
    int schemaVersion() const;
    QString lastError() const;

    // --- import roots -----------------------------------------------------
    // Returns the id of the root at `absPath`, adding it when new; 0 on error.
    qint64 addRoot(const QString &absPath);
    QHash<qint64, QString> roots() const;
    void touchRoot(qint64 rootId);
    // Files or folders an import skipped, with the reason (path, reason).
    // `complete`: the import went through the whole root, so these issues
    // replace the root's earlier ones (a file fixed since is no longer listed).
    bool recordImportIssues(qint64 rootId, const QVector<QPair<QString, QString>> &issues, bool complete = false);
    // The newest issue of each path, newest first.
    QVector<QPair<QString, QString>> importIssues(int limit = -1) const;

    // --- images -----------------------------------------------------------
    std::optional<ImageRecord> image(ImageId id) const;
    QHash<QString, KnownFile> knownFiles(qint64 rootId) const;
    // An image with this content: Ok first, else Missing (a moved file). 0 if none.
    ImageId findByHash(const QByteArray &hash, ImageStatus status) const;
    // Finds an image by absolute path, by path relative to a root, or by a
    // file name that is unique in the library, or by such a name without its
    // extension ("img_00779"). 0 if none or ambiguous.
    ImageId findByPath(const QString &path) const;
    // Every image (at most `limit`) that `path` could name, by the same rules,
    // for saying which ones an ambiguous name matches.
    QVector<ImageId> findAllByPath(const QString &path, int limit) const;
    // Inserts (id == 0) or updates rows, all in one transaction. New ids are
    // written back into `rows`.
    bool writeImages(QVector<ImageRecord> &rows);
    bool markMissing(const QVector<ImageId> &ids, const QString &reason);
    QVector<ImageId> imageIds(ImageStatus status, int limit = -1) const;
    // Images answered (yes, no or skip) in any category, by id.
    QVector<ImageId> answeredImageIds() const;
    QVector<ImageRecord> images(ImageStatus status, int limit = -1) const;
    qint64 imageCount() const;
    // Ok images with no answer yet in `category`: in import order, or in a
    // fixed pseudo-random order for `seed` != 0. Skips the ids in `exclude`.
    // In a class set, images told only "not this class" follow the others.
    QVector<ImageRecord> unanswered(CategoryId category, int limit, quint32 seed = 0,
                                    const QVector<ImageId> &exclude = {}) const;

    // --- categories -------------------------------------------------------
    // A binary theme has no classes; a class set needs at least two.
    std::optional<Category> createCategory(const QString &name, CategoryKind kind,
                                           const QStringList &classes = {});
    std::optional<Category> category(const QString &name) const;
    std::optional<Category> category(CategoryId id) const;
    QVector<Category> categories() const;
    // Adds a class to a class set (returns the existing one if present).
    ClassId addClass(CategoryId category, const QString &name);
    // A new name for a category; its answers, models and own backbone stay.
    // Fails (lastError) when the name is empty or another category has it.
    bool renameCategory(CategoryId category, const QString &newName);
    // Deletes a category with its classes, answers, decision log, model
    // versions and its settings ("<...>/category/<id>[/...]" meta keys) in one
    // transaction, then its models' files in the cache (fast heads, a deep
    // pass's backbone and its embeddings). The images stay; its id is never
    // given to another category. `expectedAnswers` >= 0: refused unless the
    // category still has that many answers (none came after they were saved).
    // Callers save the answers first (labelio::removeCategorySavingAnswers).
    bool removeCategory(CategoryId category, qint64 expectedAnswers = -1);

    // --- answers ----------------------------------------------------------
    // Records one answer and its decision-log entry in one transaction. In a
    // class set a Yes for one class replaces any other Yes for that image.
    bool answer(const Answer &a);
    // Many answers in one transaction (imports). Returns how many were written.
    int answerBatch(const QVector<Answer> &answers);
    // Reverts the newest decision not yet undone (of `origin`, or any when
    // empty; in `category`, or any when 0). Returns the decision undone.
    std::optional<Decision> undoLast(CategoryId category = 0, const QString &origin = Origin::Person);
    // The answers undoLast() would revert one after another, newest first
    // (at most `limit`): what a reopened window shows in its history strip.
    QVector<Decision> undoable(CategoryId category, const QString &origin = Origin::Person, int limit = 30) const;
    // The current answers (one per image and class) in a category.
    QVector<Answer> answers(CategoryId category, ImageId image = 0) const; // of one image when `image` != 0
    // When the newest yes/no answer in a category was given (ms since the
    // epoch; 0 when it has none): one indexed query, for "is there anything a
    // model has not seen?".
    qint64 newestAnswerMs(CategoryId category) const;
    // The newest `limit` decisions, newest first (all when limit < 0).
    QVector<Decision> decisions(int limit = -1) const;
    qint64 decisionCount() const;

    LibraryCounts counts() const;

    // --- collections and models --------------------------------------------
    qint64 createCollection(const QString &name, const QString &title = {}, const QString &subtitle = {});
    bool setCollectionItems(qint64 collection, const QVector<ImageId> &ordered);
    QVector<ImageId> collectionItems(qint64 collection) const;
    QVector<CollectionInfo> collections() const;
    // Items with their captions, in order; replacing them is one transaction.
    // A title marked as counting its items (collections::setTitleCounts:
    // "16 portraits") follows the new count while it starts with the old one.
    QVector<CollectionItem> collectionEntries(qint64 collection) const;
    bool setCollectionEntries(qint64 collection, const QVector<CollectionItem> &ordered);
    bool setCollectionTitle(qint64 collection, const QString &title, const QString &subtitle);
    bool removeCollection(qint64 collection); // its items go with it
    qint64 addModelVersion(const ModelVersion &m);
    QVector<ModelVersion> modelVersions(CategoryId category) const;

    // --- key/value settings stored in the library ---------------------------
    QString meta(const QString &key, const QString &fallback = {}) const;
    bool setMeta(const QString &key, const QString &value);

private:
    Library();
    struct Private;
    std::unique_ptr<Private> d;
};

QString libraryErrorName(LibraryError e);

} // namespace magpie
