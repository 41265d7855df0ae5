#pragma once

#include "core/types.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <QVector>

#include <optional>

namespace magpie {

class Library;

// Collection editing on top of Library's collection tables: each function
// reads the items, changes them and writes them back in one transaction.
// They run on the thread that owns `lib`.
namespace collections {

// The collection called `name`, or nullopt.
std::optional<CollectionInfo> find(const Library &lib, const QString &name);

// The images answered Yes in `category` (for a class set: in class `classId`,
// or in any class when 0), in ascending id order. Duplicate rows resolve to
// themselves; images whose status is not Ok are left out.
QVector<ImageId> yesImages(const Library &lib, const Category &category, ClassId classId = 0);

// Resolves ids ("123", or "id:123") or paths (absolute, relative to a root,
// or a unique file name) to image ids. Unresolved tokens go to *unresolved; a
// number that is both an image's id and another image's file name ("3" and
// 3.jpg) is not guessed: it goes there with a note on how to say which.
QVector<ImageId> resolveImages(const Library &lib, const QStringList &tokens, QStringList *unresolved);

// Appends images not already in the collection (in the given order).
// Returns how many were added, or -1 on a database error.
int add(Library &lib, qint64 collection, const QVector<ImageId> &ids);
// Removes these images. Returns how many were removed, or -1.
int remove(Library &lib, qint64 collection, const QVector<ImageId> &ids);
// Moves the item at position `from` to position `to` (0-based).
bool move(Library &lib, qint64 collection, int from, int to);
// Reorders the items: `order` lists every current position exactly once.
bool reorder(Library &lib, qint64 collection, const QVector<int> &order);
bool setCaption(Library &lib, qint64 collection, ImageId id, const QString &caption);
// Whether a collection is laid out in its own order (a ranking such as "more
// like this", or an order arranged by hand) rather than similar together.
bool keepsOwnOrder(const Library &lib, qint64 collection);
bool setKeepsOwnOrder(Library &lib, qint64 collection, bool own);
// Whether the title counts the items ("16 portraits", as made from a
// category's yes-answers): it then follows removals, additions and undo.
bool setTitleCounts(Library &lib, qint64 collection, bool counts);

enum class CaptionSource {
    FileName,   // "IMG_0042.jpg"
    RelPath,    // "2019/summer/IMG_0042.jpg" (relative to its import root)
    SourcePath, // the absolute path
    RootAndPath // "<root folder name>/2019/summer/IMG_0042.jpg"
};
// The caption an item shows: its own when set, else one drawn from metadata.
QString caption(const Library &lib, const CollectionItem &item,
                CaptionSource source = CaptionSource::FileName);
QString caption(const ImageRecord &rec, const QHash<qint64, QString> &roots, const QString &own,
                CaptionSource source);

} // namespace collections
} // namespace magpie
