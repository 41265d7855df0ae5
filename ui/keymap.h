#pragma once

#include "core/types.h"

#include <QHash>
#include <QKeySequence>
#include <QList>
#include <QPair>
#include <QString>
#include <QVector>

class QKeyEvent;
class QSettings;

namespace magpie {

// The swipe view's keys, remappable in the settings (stored in QSettings
// under "keys/<action>" as a comma-separated list of key sequences).
struct Keymap
{
    enum Action { None, Yes, No, Skip, Undo, CycleMode, Zoom };

    QHash<Action, QList<QKeySequence>> keys;

    static Keymap defaults();
    static QString actionName(Action a);      // settings key ("cycle-queue")
    static QString actionLabel(Action a);     // what people read ("next queue")
    static QList<Action> actions();
    Action actionFor(const QKeyEvent *e) const;
    QString describe(Action a) const;         // "→ / L"
    // The same without the keys in `taken` (a class set's class keys, which
    // answer their class there instead).
    QString describe(Action a, const QStringList &taken) const;

    void load(const QSettings &s);
    void save(QSettings &s) const;
};

// The keys that answer "it is this class" in a class set, in class order: a
// one-character name is its own key (A, 7); a longer name gets 0 when it is
// the only one ("none" beside A-Z), else 1-9 in order, skipping digits that
// are class names. Classes past 9 get no key (→ still accepts the guess).
QVector<QPair<QString, ClassId>> classKeys(const Category &category);

} // namespace magpie
