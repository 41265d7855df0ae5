#include "core/labelio.h"

#include "core/library.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QTextStream>

namespace magpie::labelio {

ClassId classIdOf(const Category &category, const QString &name)
{
    for (const ClassInfo &c : category.classes)
        if (c.name == name)
            return c.id;
    for (const ClassInfo &c : category.classes)
        if (c.name.compare(name, Qt::CaseInsensitive) == 0)
            return c.id;
    return 0;
}

QString safeFileName(const QString &name)
{
    QString out;
    for (const QChar c : name.trimmed()) {
        if (c == u'/' || c == u'\\' || c == u':' || c == u'*' || c == u'?' || c == u'"' || c == u'<'
            || c == u'>' || c == u'|' || c.unicode() < 32)
            out += QLatin1Char('_');
        else
            out += c;
    }
    while (out.startsWith(QLatin1Char('.')))
        out[0] = QLatin1Char('_');
    if (out.isEmpty())
        out = QStringLiteral("_");
    return out.left(120);
}

QStringList parseCsvLine(const QString &line, bool *unclosed)
{
    QStringList fields;
    QString cur;
    bool quoted = false;
    for (int i = 0; i < line.size(); ++i) {
        const QChar c = line[i];
        if (quoted) {
            if (c == u'"') {
                if (i + 1 < line.size() && line[i + 1] == u'"') {
                    cur += c;
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                cur += c;
            }
        } else if (c == u'"') {
            quoted = true;
        } else if (c == u',') {
            fields << cur;
            cur.clear();
        } else if (c != u'\r') {
            cur += c;
        }
    }
    fields << cur;
    if (unclosed)
        *unclosed = quoted;
    return fields;
}

QString csvField(const QString &value)
{
    if (!value.contains(QLatin1Char(',')) && !value.contains(QLatin1Char('"')) && !value.contains(QLatin1Char('\n')))
        return value;
    QString v = value;
    v.replace(QStringLiteral("\""), QStringLiteral("\"\""));
    return QLatin1Char('"') + v + QLatin1Char('"');
}

namespace {

std::optional<AnswerValue> binaryFolder(const QString &name)
{
    const QString n = name.toLower();
    if (n == u"yes" || n == u"positive" || n == u"pos" || n == u"1" || n == u"true")
        return AnswerValue::Yes;
    if (n == u"no" || n == u"negative" || n == u"neg" || n == u"0" || n == u"false")
        return AnswerValue::No;
    return std::nullopt;
}

// Resolves a label into (class, value) for `category`; creates a class when asked.
bool resolveLabel(Library &lib, Category &category, const QString &label, bool createClasses, ClassId *cls,
                  AnswerValue *value, QStringList *created)
{
    if (category.kind == CategoryKind::Binary) {
        auto v = parseAnswer(label);
        if (!v)
            return false;
        *cls = 0;
        *value = *v;
        return true;
    }
    const QString name = label.trimmed();
    if (name.isEmpty())
        return false;
    // exact, else the one class that matches ignoring case ("a" answers A)
    if (const ClassId id = classIdOf(category, name)) {
        *cls = id;
        *value = AnswerValue::Yes;
        return true;
    }
    if (name.compare(QLatin1String("skip"), Qt::CaseInsensitive) == 0) {
        *cls = 0;
        *value = AnswerValue::Skip;
        return true;
    }
    if (!createClasses)
        return false;
    const ClassId id = lib.addClass(category.id, name);
    if (!id)
        return false;
    category.classes.push_back({id, name, int(category.classes.size())});
    if (created)
        *created << name;
    *cls = id;
    *value = AnswerValue::Yes;
    return true;
}

QString className(const Category &category, ClassId id)
{
    for (const ClassInfo &c : category.classes)
        if (c.id == id)
            return c.name;
    return {};
}

QString labelText(const Category &category, const Answer &a)
{
    if (category.kind == CategoryKind::Binary)
        return answerName(a.value);
    return a.value == AnswerValue::Skip ? QStringLiteral("skip") : className(category, a.classId);
}

} // namespace

LabelImportReport importFolders(Library &lib, const Category &categoryIn, const QString &folder, bool createClasses,
                                const ImportOptions &options,
                                const std::function<void(const ImportProgress &)> &progress,
                                const std::atomic<bool> *cancel)
{
    LabelImportReport rep;
    Category category = categoryIn;
    rep.import = importFolder(lib, folder, options, progress, cancel);
    if (!rep.import.error.isEmpty()) {
        rep.error = rep.import.error;
        return rep;
    }
    if (rep.import.cancelled) {
        rep.error = QStringLiteral("Cancelled; images imported so far are kept, no labels were written.");
        return rep;
    }
    const QHash<QString, KnownFile> files = lib.knownFiles(rep.import.rootId);
    QVector<Answer> answers;
    QSet<QString> badFolders;
    for (auto it = files.constBegin(); it != files.constEnd(); ++it) {
        const QString &rel = it.key();
        const int slash = rel.indexOf(QLatin1Char('/'));
        if (slash <= 0) {
            rep.issues << qMakePair(rel, QStringLiteral("not inside a class folder"));
            ++rep.unmatched;
            continue;
        }
        const QString folderName = rel.left(slash);
        Answer a;
        a.categoryId = category.id;
        a.origin = Origin::FolderImport;
        if (category.kind == CategoryKind::Binary) {
            auto v = binaryFolder(folderName);
            if (!v) {
                if (!badFolders.contains(folderName)) {
                    badFolders.insert(folderName);
                    rep.issues << qMakePair(folderName, QStringLiteral("a binary theme takes yes/ and no/ folders"));
                }
                ++rep.invalid;
                continue;
            }
            a.value = *v;
        } else if (!resolveLabel(lib, category, folderName, createClasses, &a.classId, &a.value,
                                 &rep.createdClasses)) {
            if (!badFolders.contains(folderName)) {
                badFolders.insert(folderName);
                rep.issues << qMakePair(folderName, QStringLiteral("not a class of %1").arg(category.name));
            }
            ++rep.invalid;
            continue;
        }
        if (it->status == ImageStatus::Unreadable || it->status == ImageStatus::Missing) {
            ++rep.unmatched;
            continue; // the import already recorded why
        }
        a.imageId = it->id;
        if (it->status == ImageStatus::Duplicate) {
            const auto rec = lib.image(it->id);
            if (rec && rec->duplicateOf)
                a.imageId = rec->duplicateOf;
        }
        answers << a;
    }
    rep.answers = lib.answerBatch(answers);
    if (rep.answers != answers.size())
        rep.error = QStringLiteral("Writing answers failed: ") + lib.lastError();
    return rep;
}

LabelImportReport importCsv(Library &lib, const Category &categoryIn, const QString &csvPath, bool createClasses)
{
    LabelImportReport rep;
    Category category = categoryIn;
    QFile f(csvPath);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) {
        rep.error = QStringLiteral("Cannot read %1: %2").arg(QDir::toNativeSeparators(csvPath), f.errorString());
        return rep;
    }
    const QDir csvDir = QFileInfo(csvPath).absoluteDir();
    QTextStream in(&f);
    int fileCol = 0, labelCol = 1, valueCol = -1, atCol = -1, durationCol = -1;
    bool first = true;
    int lineNo = 0;
    QVector<Answer> answers;
    while (!in.atEnd()) {
        const QString line = in.readLine();
        ++lineNo;
        if (line.trimmed().isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        bool unclosed = false;
        const QStringList cols = parseCsvLine(line, &unclosed);
        if (unclosed) {
            rep.issues << qMakePair(QStringLiteral("line %1").arg(lineNo), QStringLiteral("a quote is left open"));
            ++rep.malformed;
            first = false;
            continue;
        }
        if (first) {
            first = false;
            // a header: Magpie's own names, or what other tools call them
            // (Label Studio's CSV: image, choice)
            const auto column = [&cols](std::initializer_list<const char *> names) {
                for (const char *n : names)
                    for (qsizetype i = 0; i < cols.size(); ++i)
                        if (cols[i].trimmed().compare(QLatin1String(n), Qt::CaseInsensitive) == 0)
                            return int(i);
                return -1;
            };
            const int fc = column({"file", "image", "path", "filename"});
            const int lc = column({"label", "class", "choice"});
            if (fc >= 0 && lc >= 0) {
                fileCol = fc;
                labelCol = lc;
                valueCol = column({"value", "answer"});
                atCol = column({"answered_at"});
                durationCol = column({"duration_ms"});
                continue;
            }
        }
        if (cols.size() <= std::max(fileCol, labelCol)) {
            rep.issues << qMakePair(QStringLiteral("line %1").arg(lineNo), QStringLiteral("needs file,label"));
            ++rep.malformed;
            continue;
        }
        const QString file = cols[fileCol].trimmed();
        ImageId id = 0;
        if (!QDir::isAbsolutePath(file))
            id = lib.findByPath(csvDir.absoluteFilePath(file));
        if (!id)
            id = lib.findByPath(file);
        if (!id) {
            rep.issues << qMakePair(file, QStringLiteral("line %1: no such image in the library").arg(lineNo));
            ++rep.unmatched;
            continue;
        }
        if (const auto rec = lib.image(id); rec && rec->status == ImageStatus::Duplicate && rec->duplicateOf)
            id = rec->duplicateOf;
        Answer a;
        a.imageId = id;
        a.categoryId = category.id;
        a.origin = Origin::CsvImport;
        // when it was answered and how long it took, as exportCsv writes them (a restore keeps them)
        if (const QDateTime at = QDateTime::fromString(cols.value(atCol).trimmed(), Qt::ISODateWithMs); at.isValid())
            a.atMs = at.toMSecsSinceEpoch();
        bool durationOk = false;
        if (const int ms = cols.value(durationCol).trimmed().toInt(&durationOk); durationOk && ms >= 0)
            a.durationMs = ms;
        if (!resolveLabel(lib, category, cols[labelCol], createClasses, &a.classId, &a.value, &rep.createdClasses)) {
            rep.issues << qMakePair(file, QStringLiteral("line %1: \u201c%2\u201d is not a label of %3")
                                              .arg(lineNo)
                                              .arg(cols[labelCol], category.name));
            ++rep.invalid;
            continue;
        }
        // a class set's row may say "not this class" (value no) or skip
        if (category.kind == CategoryKind::ClassSet && a.classId && valueCol >= 0
            && !cols.value(valueCol).trimmed().isEmpty()) {
            const auto v = parseAnswer(cols.value(valueCol));
            if (!v) {
                rep.issues << qMakePair(file, QStringLiteral("line %1: value \u201c%2\u201d is not yes, no or skip")
                                                  .arg(lineNo)
                                                  .arg(cols.value(valueCol)));
                ++rep.invalid;
                continue;
            }
            a.value = *v;
            if (a.value == AnswerValue::Skip)
                a.classId = 0;
        }
        answers << a;
    }
    rep.answers = lib.answerBatch(answers);
    if (rep.answers != answers.size())
        rep.error = QStringLiteral("Writing answers failed: ") + lib.lastError();
    return rep;
}

ExportReport exportCsv(const Library &lib, const Category &category, const QString &outPath, bool everyAnswer)
{
    ExportReport rep;
    QDir().mkpath(QFileInfo(outPath).absolutePath()); // as imagefolder makes its folder
    QSaveFile f(outPath);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
        rep.error = QStringLiteral("Cannot write %1: %2").arg(QDir::toNativeSeparators(outPath), f.errorString());
        return rep;
    }
    QTextStream out(&f);
    out << (everyAnswer ? "file,label,value,origin,answered_at,duration_ms\n" : "file,label,origin,answered_at,duration_ms\n");
    for (const Answer &a : lib.answers(category.id)) {
        if (category.kind == CategoryKind::ClassSet && a.value == AnswerValue::No && !everyAnswer)
            continue;
        const auto rec = lib.image(a.imageId);
        if (!rec)
            continue;
        const QString label = category.kind == CategoryKind::ClassSet && a.value == AnswerValue::No
                                  ? className(category, a.classId) // "not this class"
                                  : labelText(category, a);
        out << csvField(rec->absPath) << ',' << csvField(label) << ',';
        if (everyAnswer)
            out << answerName(a.value) << ',';
        out << a.origin << ','
            << QDateTime::fromMSecsSinceEpoch(a.atMs).toUTC().toString(Qt::ISODateWithMs) << ',' << a.durationMs
            << '\n';
        ++rep.written;
    }
    out.flush();
    if (!f.commit())
        rep.error = QStringLiteral("Cannot write %1: %2").arg(QDir::toNativeSeparators(outPath), f.errorString());
    return rep;
}

bool removeCategorySavingAnswers(Library &lib, const Category &category, QString *savedTo, QString *error)
{
    savedTo->clear();
    if (lib.isReadOnly()) {
        *error = QStringLiteral("The library is open read-only; nothing was deleted.");
        return false;
    }
    const qsizetype answers = lib.answers(category.id).size();
    if (answers > 0) {
        const QString dir = lib.cacheDir() + QStringLiteral("/deleted");
        const QString stem = dir + QLatin1Char('/') + safeFileName(category.name) + QLatin1Char('-')
                             + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
        QString base = stem;
        for (int n = 2; QFileInfo::exists(base + QStringLiteral(".csv")); ++n)
            base = stem + QStringLiteral("-%1").arg(n);
        const QString path = base + QStringLiteral(".csv");
        const ExportReport rep = exportCsv(lib, category, path, true);
        // and the whole decision log (earlier answers, undos, who and when) beside it
        const ExportReport log = rep.error.isEmpty() ? exportJsonl(lib, base + QStringLiteral(".jsonl"), category.id)
                                                     : ExportReport{};
        const QString why = !rep.error.isEmpty() ? rep.error
                            : !log.error.isEmpty() ? log.error
                            : rep.written != answers
                                ? QStringLiteral("%1 of its %2 answers could be written").arg(rep.written).arg(answers)
                                : QString();
        if (!why.isEmpty()) {
            *error = QStringLiteral("Could not save the answers of \u201c%1\u201d, so nothing was deleted: %2")
                         .arg(category.name, why);
            return false;
        }
        *savedTo = path;
    }
    if (!lib.removeCategory(category.id, answers)) {
        *error = QStringLiteral("Could not delete \u201c%1\u201d: %2").arg(category.name, lib.lastError());
        return false;
    }
    return true;
}

ExportReport exportJsonl(const Library &lib, const QString &outPath, CategoryId only)
{
    ExportReport rep;
    QDir().mkpath(QFileInfo(outPath).absolutePath());
    QSaveFile f(outPath);
    if (!f.open(QIODevice::WriteOnly)) {
        rep.error = QStringLiteral("Cannot write %1: %2").arg(QDir::toNativeSeparators(outPath), f.errorString());
        return rep;
    }
    QHash<CategoryId, Category> cats;
    for (const Category &c : lib.categories())
        cats.insert(c.id, c);
    const QVector<Decision> all = lib.decisions(-1);
    QHash<ImageId, QString> paths;
    for (int i = all.size() - 1; i >= 0; --i) { // oldest first
        const Decision &d = all[i];
        const Answer &a = d.answer;
        if (only && a.categoryId != only)
            continue;
        if (!paths.contains(a.imageId)) {
            const auto rec = lib.image(a.imageId);
            paths.insert(a.imageId, rec ? rec->absPath : QString());
        }
        const Category cat = cats.value(a.categoryId);
        QJsonObject o;
        o.insert(QStringLiteral("id"), d.id);
        o.insert(QStringLiteral("at"), QDateTime::fromMSecsSinceEpoch(a.atMs).toUTC().toString(Qt::ISODateWithMs));
        o.insert(QStringLiteral("action"), d.action);
        o.insert(QStringLiteral("image"), a.imageId);
        o.insert(QStringLiteral("file"), paths.value(a.imageId));
        o.insert(QStringLiteral("category"), cat.name);
        if (cat.kind == CategoryKind::ClassSet)
            o.insert(QStringLiteral("class"), className(cat, a.classId));
        o.insert(QStringLiteral("value"), answerName(a.value));
        o.insert(QStringLiteral("origin"), a.origin);
        o.insert(QStringLiteral("duration_ms"), a.durationMs);
        o.insert(QStringLiteral("model_version"), a.modelVersion);
        if (d.undoes)
            o.insert(QStringLiteral("undoes"), d.undoes);
        f.write(QJsonDocument(o).toJson(QJsonDocument::Compact));
        f.write("\n");
        ++rep.written;
    }
    if (!f.commit())
        rep.error = QStringLiteral("Cannot write %1: %2").arg(QDir::toNativeSeparators(outPath), f.errorString());
    return rep;
}

ExportReport exportImageFolder(const Library &lib, const Category &category, const QString &outDirIn, bool copy)
{
    ExportReport rep;
    const QString outDir = QDir::cleanPath(QFileInfo(outDirIn).absoluteFilePath());
    if (!QDir().mkpath(outDir)) {
        rep.error = QStringLiteral("Cannot create the folder %1.").arg(QDir::toNativeSeparators(outDir));
        return rep;
    }
    for (const Answer &a : lib.answers(category.id)) {
        if (a.value == AnswerValue::Skip)
            continue;
        if (category.kind == CategoryKind::ClassSet && a.value != AnswerValue::Yes)
            continue;
        const QString label = labelText(category, a);
        const auto rec = lib.image(a.imageId);
        if (!rec || label.isEmpty())
            continue;
        const QString dir = outDir + QLatin1Char('/') + safeFileName(label);
        const QString target = dir + QLatin1Char('/') + QString::number(rec->id) + QLatin1Char('_')
                               + safeFileName(QFileInfo(rec->relPath).fileName());
        // safeFileName() leaves no separator or leading dot, so this holds; check anyway
        if (!QDir::cleanPath(target).startsWith(outDir + QLatin1Char('/'))) {
            rep.issues << qMakePair(target, QStringLiteral("would be outside the export folder; skipped"));
            ++rep.skipped;
            continue;
        }
        if (!QFileInfo::exists(rec->absPath)) {
            rep.issues << qMakePair(rec->absPath, QStringLiteral("source file is missing; skipped"));
            ++rep.skipped;
            continue;
        }
        QDir().mkpath(dir);
        QFile::remove(target);
        const bool ok = copy ? QFile::copy(rec->absPath, target) : QFile::link(rec->absPath, target);
        if (!ok) {
            rep.issues << qMakePair(target, copy ? QStringLiteral("copy failed") : QStringLiteral("link failed"));
            ++rep.skipped;
            continue;
        }
        ++rep.written;
    }
    return rep;
}

} // namespace magpie::labelio
