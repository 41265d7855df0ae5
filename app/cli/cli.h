#pragma once

#include <QCommandLineParser>
#include <QJsonObject>
#include <QStringList>

#include <atomic>
#include <memory>

namespace magpie {
class Library;
struct ImportProgress;

namespace cli {

// Exit codes of magpie-cli; documented in the README.
enum Exit : int {
    Ok = 0,
    Failed = 1,       // the operation failed (message on stderr)
    Usage = 2,        // bad arguments
    NoLibrary = 3,    // the library cannot be opened: missing, locked, read-only, corrupt, too new
    Cancelled = 130,  // interrupted (Ctrl+C); what was written stays written
};

// What every subcommand gets: its own arguments and the global options.
struct Context
{
    QStringList args;       // the subcommand's arguments (argv[0] = "magpie-cli <command>")
    QString libraryPath;    // --library, or $MAGPIE_LIBRARY, or ./magpie.library
    bool json = false;      // --json: machine-readable output on stdout
    bool quiet = false;     // --quiet: no progress bar
    std::atomic<bool> *cancel = nullptr; // set by SIGINT

    // Parses args with `parser` (adds --help). Returns false and sets *exit
    // when the command should stop (help shown or a usage error).
    bool parse(QCommandLineParser &parser, const QString &description, int *exit) const;
    // The parser's help, its usage line naming this command ("magpie-cli train").
    QString helpText(const QCommandLineParser &parser) const;
    // Opens the library read-write or read-only; prints the error and sets *exit on failure.
    std::unique_ptr<Library> open(bool readOnly, int *exit) const;

    void print(const QString &text) const;             // stdout, human output (suppressed by --json)
    void printJson(const QJsonObject &o) const;        // stdout, with --json only
    void error(const QString &text) const;             // stderr
    // With --json, a command that fails without having written JSON gets
    // {"error": its last error, "exit": code} on stdout, so a script always
    // has an object to read.
    int finish(int exitCode) const;

    mutable bool jsonWritten = false;
    mutable QString lastError;
    void progress(const ImportProgress &p) const;      // stderr progress bar on a terminal
    void endProgress() const;
};

int cmdInit(const Context &c);
int cmdImport(const Context &c);
int cmdInfo(const Context &c);
int cmdCategory(const Context &c);
int cmdLabels(const Context &c);
int cmdDemo(const Context &c);
int cmdMap(const Context &c);

// "No category “x”. Categories: a, b": one wording for every command.
QString noSuchCategory(const Library &lib, const QString &name);

} // namespace cli
} // namespace magpie
