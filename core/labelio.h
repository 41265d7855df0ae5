#pragma once

#include "core/importer.h"
#include "core/types.h"

namespace magpie {

class Library;

struct LabelImportReport
{
    QString error;          // set when nothing could be done at all
    int answers = 0;        // answers written
    int unmatched = 0;      // rows or files that matched no image
    int invalid = 0;        // labels that are not yes/no or a class name
    int malformed = 0;      // rows that are not file,label (too few fields, a quote left open)
    QStringList createdClasses;
    ImportReport import;    // the folder import that ran first (folder mode)
    QVector<QPair<QString, QString>> issues; // (file or row, reason)
};

struct ExportReport
{
    QString error;
    int written = 0;  // rows, lines or files
    int skipped = 0;  // e.g. images whose file is missing
    QVector<QPair<QString, QString>> issues;
};

namespace labelio {

// Answers from class folders: `folder/<class>/...` (a class set; unknown
// class folders become new classes when `createClasses`) or
// `folder/yes|no/...` (a binary theme; also positive/negative, 1/0, true/false).
// The folder is imported first (incrementally), so files that are new to the
// library are added; files that duplicate an image already there label that
// image. Origin of the answers: folder-import.
LabelImportReport importFolders(Library &lib, const Category &category, const QString &folder,
                                bool createClasses = true, const ImportOptions &options = {},
                                const std::function<void(const ImportProgress &)> &progress = {},
                                const std::atomic<bool> *cancel = nullptr);

// Answers from a CSV `file,label` (a header naming `file` and `label`
// columns may come first, also called image/path/filename and class/choice;
// other columns are ignored, except `value` (or answer): yes, no or skip for
// the row's class in a class set, as exportCsv's everyAnswer writes, and
// answered_at (ISO 8601) and duration_ms, which the answers keep). `file` is matched as an
// absolute path, a path relative to the CSV's folder, a path relative to an
// import root, or a unique file name. Origin: csv-import.
LabelImportReport importCsv(Library &lib, const Category &category, const QString &csvPath,
                            bool createClasses = false);

// file,label,origin,answered_at,duration_ms — one row per current answer (in a
// class set only the Yes answers, i.e. the class of each image).
// `everyAnswer`: file,label,value,origin,answered_at,duration_ms with a class
// set's "not this class" answers too (label the class, value no), whose
// answers importCsv reads back (as csv-import answers, with their times).
ExportReport exportCsv(const Library &lib, const Category &category, const QString &outPath,
                       bool everyAnswer = false);

// Deletes `category` (Library::removeCategory) after saving every answer of
// it (exportCsv with everyAnswer) to <cache>/deleted/<name>-<time>.csv, whose
// path goes to `savedTo`, and its decision log (exportJsonl) beside it as
// .jsonl. When they cannot all be saved, or an answer comes in meanwhile,
// nothing is deleted.
bool removeCategorySavingAnswers(Library &lib, const Category &category, QString *savedTo, QString *error);
// One JSON object per decision (undos included), oldest first; only the
// category `only`'s when it is not 0.
ExportReport exportJsonl(const Library &lib, const QString &outPath, CategoryId only = 0);
// An ImageFolder tree: outDir/<class or yes|no>/<id>_<file name>, as symbolic
// links or copies. Nothing is ever written outside outDir.
ExportReport exportImageFolder(const Library &lib, const Category &category, const QString &outDir, bool copy);

// The class of `category` called `name`: exactly, else ignoring case ("a" for
// "A", as letter keys give it); 0 if there is none.
ClassId classIdOf(const Category &category, const QString &name);

// A class or folder name made safe as one path component.
QString safeFileName(const QString &name);
// Parses one CSV line (RFC 4180 quoting).
// One CSV line's fields (commas, double quotes, "" inside quotes). `unclosed`:
// set when a quote is left open (the line is not a whole record).
QStringList parseCsvLine(const QString &line, bool *unclosed = nullptr);
QString csvField(const QString &value);

} // namespace labelio
} // namespace magpie
