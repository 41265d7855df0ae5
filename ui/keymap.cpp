#include "ui/keymap.h"

#include <QCoreApplication>
#include <QKeyEvent>
#include <QSet>
#include <QSettings>

namespace magpie {

Keymap Keymap::defaults()
{
    Keymap k;
    k.keys[Yes] = {QKeySequence(Qt::Key_Right), QKeySequence(Qt::Key_L)};
    k.keys[No] = {QKeySequence(Qt::Key_Left), QKeySequence(Qt::Key_H)};
    k.keys[Skip] = {QKeySequence(Qt::Key_Down), QKeySequence(Qt::Key_Space)};
    k.keys[Undo] = {QKeySequence(Qt::Key_Backspace), QKeySequence(Qt::CTRL | Qt::Key_Z)};
    k.keys[CycleMode] = {QKeySequence(Qt::Key_Tab)};
    k.keys[Zoom] = {QKeySequence(Qt::Key_Z)};
    return k;
}

QList<Keymap::Action> Keymap::actions() { return {Yes, No, Skip, Undo, CycleMode, Zoom}; }

QString Keymap::actionName(Action a)
{
    switch (a) {
    case Yes: return QStringLiteral("yes");
    case No: return QStringLiteral("no");
    case Skip: return QStringLiteral("skip");
    case Undo: return QStringLiteral("undo");
    case CycleMode: return QStringLiteral("cycle-queue");
    case Zoom: return QStringLiteral("zoom");
    case None: break;
    }
    return {};
}

QString Keymap::actionLabel(Action a)
{
    switch (a) {
    case Yes: return QCoreApplication::translate("Keymap", "yes");
    case No: return QCoreApplication::translate("Keymap", "no");
    case Skip: return QCoreApplication::translate("Keymap", "skip");
    case Undo: return QCoreApplication::translate("Keymap", "undo the last answer");
    case CycleMode: return QCoreApplication::translate("Keymap", "next queue (mix, harvest, teach, audit, novel, random)");
    case Zoom: return QCoreApplication::translate("Keymap", "zoom to 1:1 and back");
    case None: break;
    }
    return {};
}

Keymap::Action Keymap::actionFor(const QKeyEvent *e) const
{
    const QKeySequence pressed(e->keyCombination());
    // Shift+Tab arrives as Backtab; treat it as Tab
    const QKeySequence alt = e->key() == Qt::Key_Backtab ? QKeySequence(Qt::Key_Tab) : pressed;
    for (auto it = keys.constBegin(); it != keys.constEnd(); ++it)
        for (const QKeySequence &k : it.value())
            if (k == pressed || k == alt)
                return it.key();
    return None;
}

QString Keymap::describe(Action a) const
{
    return describe(a, {});
}

QString Keymap::describe(Action a, const QStringList &taken) const
{
    QStringList parts;
    for (const QKeySequence &k : keys.value(a)) {
        const QString text = k.toString(QKeySequence::NativeText);
        if (!taken.contains(text, Qt::CaseInsensitive))
            parts << text;
    }
    return parts.join(QStringLiteral(" / "));
}

void Keymap::load(const QSettings &s)
{
    for (Action a : actions()) {
        const QString v = s.value(QStringLiteral("keys/") + actionName(a)).toString();
        if (v.isEmpty())
            continue;
        QList<QKeySequence> list;
        for (const QString &part : v.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QKeySequence k(part.trimmed());
            if (!k.isEmpty())
                list << k;
        }
        if (!list.isEmpty())
            keys[a] = list;
    }
}

void Keymap::save(QSettings &s) const
{
    for (Action a : actions()) {
        QStringList parts;
        for (const QKeySequence &k : keys.value(a))
            parts << k.toString(QKeySequence::PortableText);
        s.setValue(QStringLiteral("keys/") + actionName(a), parts.join(QLatin1Char(',')));
    }
}

QVector<QPair<QString, ClassId>> classKeys(const Category &category)
{
    QVector<QPair<QString, ClassId>> out;
    QSet<QString> taken;
    int longNames = 0;
    for (const ClassInfo &c : category.classes) {
        if (c.name.size() == 1)
            taken.insert(c.name.toUpper());
        else
            ++longNames;
    }
    int digit = longNames == 1 ? 0 : 1;
    for (const ClassInfo &c : category.classes) {
        if (c.name.size() == 1) {
            out.append({c.name.toUpper(), c.id});
            continue;
        }
        while (digit <= 9 && taken.contains(QString::number(digit)))
            ++digit;
        if (digit > 9)
            continue;
        out.append({QString::number(digit++), c.id});
    }
    return out;
}

} // namespace magpie
