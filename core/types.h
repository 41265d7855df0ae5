#pragma once

#include <QDateTime>
#include <QString>
#include <QStringList>
#include <QVector>

#include <cstdint>
#include <optional>

namespace magpie {

using ImageId = qint64;
using CategoryId = qint64;
using ClassId = qint64; // 0 stands for "the category itself" in a binary theme

// Status of one image row. Values are stored in SQLite; never renumber.
enum class ImageStatus : int {
    Ok = 0,         // decoded, thumbnail in the cache
    Unreadable = 1, // could not be decoded; `reason` says why
    Missing = 2,    // was imported, is no longer at its path (answers kept)
    Duplicate = 3,  // same content as `duplicateOf`; answers go to that image
};
QString statusName(ImageStatus s);

// A person's or an importer's answer. Values are stored; never renumber.
enum class AnswerValue : int { No = 0, Yes = 1, Skip = 2 };
QString answerName(AnswerValue v);
std::optional<AnswerValue> parseAnswer(const QString &text); // yes/no/skip, 1/0, true/false, y/n

enum class CategoryKind : int { Binary = 0, ClassSet = 1 };
// The classes of a set of decorative initials: A to Z, then "none".
QStringList letterClasses();

struct ImageRecord
{
    ImageId id = 0;
    qint64 rootId = 0;
    QString relPath;     // relative to the import root, '/'-separated
    QString absPath;     // root path + relPath (filled by queries that join roots)
    QByteArray hash;     // hex BLAKE2b-160 of the file bytes
    qint64 byteSize = 0;
    qint64 mtimeMs = 0;
    int width = 0;       // as displayed, after EXIF orientation
    int height = 0;
    QString format;      // "jpeg", "png", ...
    int orientation = 1; // EXIF orientation 1..8 (1 = as stored)
    int frames = 1;      // pages or frames; only the first is used
    ImageStatus status = ImageStatus::Ok;
    QString reason;      // why unreadable / missing / duplicate
    ImageId duplicateOf = 0;
};

struct ClassInfo
{
    ClassId id = 0;
    QString name;
    int position = 0;
};

struct Category
{
    CategoryId id = 0;
    QString name;
    CategoryKind kind = CategoryKind::Binary;
    QVector<ClassInfo> classes; // empty for a binary theme
    qint64 createdMs = 0;
};

// Where an answer came from. Stored as text.
namespace Origin {
inline const QString Person = QStringLiteral("person");
inline const QString FolderImport = QStringLiteral("folder-import");
inline const QString CsvImport = QStringLiteral("csv-import");
inline const QString Undo = QStringLiteral("undo");
} // namespace Origin

struct Answer
{
    ImageId imageId = 0;
    CategoryId categoryId = 0;
    ClassId classId = 0; // 0 in a binary theme
    AnswerValue value = AnswerValue::Yes;
    QString origin = Origin::Person;
    qint64 atMs = 0;        // filled by the library when 0
    int durationMs = -1;    // how long the person took; -1 when unknown
    qint64 modelVersion = 0; // the model version that proposed it; 0 = none
};

struct Decision
{
    qint64 id = 0;
    Answer answer;
    QString action;   // "answer" or "undo"
    qint64 undoes = 0; // for an undo: the decision it reverts
};

struct ClassCount
{
    ClassId classId = 0;
    QString className; // empty for a binary theme
    int yes = 0;
    int no = 0;
    int skip = 0;
};

struct CategoryCounts
{
    Category category;
    QVector<ClassCount> perClass;
    int answeredImages = 0; // distinct images with any answer in the category
    int answeredOk = 0;     // of them, images that are Ok (readable, present) and settled: "still to answer" subtracts these
                            // (in a class set an image told only "not this class" is not settled)
};

struct LibraryCounts
{
    qint64 images = 0;
    qint64 ok = 0;
    qint64 unreadable = 0;
    qint64 missing = 0;
    qint64 duplicates = 0;
    qint64 roots = 0;
    QVector<CategoryCounts> categories;
};

struct ModelVersion
{
    qint64 id = 0;
    CategoryId categoryId = 0;
    QString backbone;
    QString metricsJson;
    QString checkpointPath;
    qint64 createdMs = 0;
};

struct CollectionInfo
{
    qint64 id = 0;
    QString name;
    QString title;
    QString subtitle;
    qint64 createdMs = 0;
    int itemCount = 0;
};

// One image in a collection, in order. An empty caption means "derive one
// from metadata when printing" (see core/collections.h).
struct CollectionItem
{
    ImageId imageId = 0;
    QString caption;
};

} // namespace magpie
