#include "core/collections.h"

#include "core/library.h"

#include <QDir>
#include <QFileInfo>
#include <QSet>

#include <algorithm>

namespace magpie::collections {

std::optional<CollectionInfo> find(const Library &lib, const QString &name)
{
    for (const CollectionInfo &c : lib.collections())
        if (c.name == name)
            return c;
    return std::nullopt;
}

QVector<ImageId> yesImages(const Library &lib, const Category &category, ClassId classId)
{
    QSet<ImageId> seen;
    QVector<ImageId> out;
    for (const Answer &a : lib.answers(category.id)) {
        if (a.value != AnswerValue::Yes)
            continue;
        if (category.kind == CategoryKind::ClassSet && classId != 0 && a.classId != classId)
            continue;
        if (seen.contains(a.imageId))
            continue;
        const auto rec = lib.image(a.imageId);
        if (!rec || rec->status != ImageStatus::Ok)
            continue;
        seen.insert(a.imageId);
        out << a.imageId;
    }
    std::sort(out.begin(), out.end());
    return out;
}

QVector<ImageId> resolveImages(const Library &lib, const QStringList &tokens, QStringList *unresolved)
{
    QVector<ImageId> out;
    for (const QString &t : tokens) {
        const QString token = t.trimmed();
        if (token.isEmpty())
            continue;
        bool isNumber = false;
        const bool explicitId = token.startsWith(QLatin1String("id:"));
        const ImageId asId = (explicitId ? token.mid(3) : token).toLongLong(&isNumber);
        ImageId id = 0;
        if (isNumber && asId > 0 && lib.image(asId))
            id = asId;
        if (explicitId) {
            if (id) out << id;
            else if (unresolved) *unresolved << token;
            continue;
        }
        if (id) {
            // "3" may also be the file 3.jpg (scans are often numbered): never guess
            const ImageId byName = lib.findByPath(token);
            if (byName && byName != id) {
                if (unresolved)
                    *unresolved << QStringLiteral("%1 (ambiguous: image id %1 is %2, and %3 is another image; write id:%1 or "
                                                  "the file name with its extension)")
                                       .arg(token, lib.image(id)->relPath, lib.image(byName)->relPath);
                continue;
            }
        }
        if (!id)
            id = lib.findByPath(QFileInfo(token).isAbsolute() ? QDir::cleanPath(token) : token);
        if (!id && QFileInfo::exists(token))
            id = lib.findByPath(QFileInfo(token).absoluteFilePath());
        if (id) {
            out << id;
        } else if (unresolved) {
            // a name that two folders share: say which, rather than "not found"
            const QVector<ImageId> all = QFileInfo(token).isAbsolute() ? QVector<ImageId>() : lib.findAllByPath(token, 3);
            if (all.size() > 1) {
                QStringList paths;
                for (ImageId m : all.mid(0, 2))
                    if (const auto rec = lib.image(m)) paths << rec->absPath;
                *unresolved << QStringLiteral("%1 (ambiguous: it names %2 images, e.g. %3; give the path)")
                                   .arg(token, all.size() > 2 ? QStringLiteral("several") : QStringLiteral("2"),
                                        paths.join(QStringLiteral(" and ")));
            } else {
                *unresolved << token;
            }
        }
    }
    return out;
}

int add(Library &lib, qint64 collection, const QVector<ImageId> &ids)
{
    QVector<CollectionItem> items = lib.collectionEntries(collection);
    QSet<ImageId> present;
    for (const CollectionItem &i : items)
        present.insert(i.imageId);
    int added = 0;
    for (ImageId id : ids) {
        if (present.contains(id))
            continue;
        present.insert(id);
        items << CollectionItem{id, {}};
        ++added;
    }
    if (added && !lib.setCollectionEntries(collection, items))
        return -1;
    return added;
}

int remove(Library &lib, qint64 collection, const QVector<ImageId> &ids)
{
    const QSet<ImageId> drop(ids.begin(), ids.end());
    QVector<CollectionItem> items = lib.collectionEntries(collection);
    const auto before = items.size();
    items.erase(std::remove_if(items.begin(), items.end(),
                               [&](const CollectionItem &i) { return drop.contains(i.imageId); }),
                items.end());
    const int removed = int(before - items.size());
    if (removed && !lib.setCollectionEntries(collection, items))
        return -1;
    return removed;
}

bool move(Library &lib, qint64 collection, int from, int to)
{
    QVector<CollectionItem> items = lib.collectionEntries(collection);
    if (from < 0 || from >= items.size() || to < 0 || to >= items.size())
        return false;
    items.move(from, to);
    return lib.setCollectionEntries(collection, items);
}

bool keepsOwnOrder(const Library &lib, qint64 collection)
{
    return lib.meta(QStringLiteral("collection/%1/order").arg(collection)) == u"collection";
}

bool setTitleCounts(Library &lib, qint64 collection, bool counts)
{
    return lib.setMeta(QStringLiteral("collection/%1/counting_title").arg(collection), counts ? QStringLiteral("1") : QString());
}

bool setKeepsOwnOrder(Library &lib, qint64 collection, bool own)
{
    return lib.setMeta(QStringLiteral("collection/%1/order").arg(collection),
                       own ? QStringLiteral("collection") : QStringLiteral("similar"));
}

bool reorder(Library &lib, qint64 collection, const QVector<int> &order)
{
    const QVector<CollectionItem> items = lib.collectionEntries(collection);
    if (order.size() != items.size())
        return false;
    QVector<bool> used(items.size(), false);
    QVector<CollectionItem> out;
    for (int pos : order) {
        if (pos < 0 || pos >= items.size() || used[pos])
            return false;
        used[pos] = true;
        out << items[pos];
    }
    return lib.setCollectionEntries(collection, out);
}

bool setCaption(Library &lib, qint64 collection, ImageId id, const QString &caption)
{
    QVector<CollectionItem> items = lib.collectionEntries(collection);
    bool found = false;
    for (CollectionItem &i : items)
        if (i.imageId == id) {
            i.caption = caption;
            found = true;
        }
    return found && lib.setCollectionEntries(collection, items);
}

QString caption(const ImageRecord &rec, const QHash<qint64, QString> &roots, const QString &own,
                CaptionSource source)
{
    if (!own.isEmpty())
        return own;
    switch (source) {
    case CaptionSource::FileName:
        return QFileInfo(rec.relPath).fileName();
    case CaptionSource::RelPath:
        return rec.relPath;
    case CaptionSource::SourcePath:
        return rec.absPath;
    case CaptionSource::RootAndPath:
        return QFileInfo(roots.value(rec.rootId)).fileName() + QLatin1Char('/') + rec.relPath;
    }
    return rec.relPath;
}

QString caption(const Library &lib, const CollectionItem &item, CaptionSource source)
{
    if (!item.caption.isEmpty())
        return item.caption;
    const auto rec = lib.image(item.imageId);
    if (!rec)
        return QStringLiteral("#%1").arg(item.imageId);
    return caption(*rec, source == CaptionSource::RootAndPath ? lib.roots() : QHash<qint64, QString>{}, {},
                   source);
}

} // namespace magpie::collections
