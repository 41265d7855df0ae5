#pragma once

#include <QHash>
#include <QKeySequence>
#include <QList>
#include <QString>

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

    void load(const QSettings &s);
    void save(QSettings &s) const;
};

} // namespace magpie
