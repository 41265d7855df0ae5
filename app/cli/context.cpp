#include "app/cli/cli.h"

#include "core/importer.h"
#include "core/library.h"

#include <QCoreApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonDocument>
#include <QElapsedTimer>
#include <QTextStream>

#include <cstdio>
#include <unistd.h>

namespace magpie::cli {

// Qt's help starts "Usage: <the program's path> [options]"; a command's
// help names the command as it is typed ("magpie-cli collection create").
QString Context::helpText(const QCommandLineParser &parser) const
{
    QString text = parser.helpText();
    const QString program = QStringLiteral("Usage: ") + QCoreApplication::arguments().value(0);
    if (text.startsWith(program) && !args.isEmpty())
        text.replace(0, program.size(), QStringLiteral("Usage: ") + args.first());
    return text;
}

bool Context::parse(QCommandLineParser &parser, const QString &description, int *exit) const
{
    parser.setApplicationDescription(description);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(args)) {
        error(parser.errorText() + QStringLiteral("\n\n") + helpText(parser));
        lastError = parser.errorText();
        *exit = Usage;
        return false;
    }
    if (parser.isSet(help)) {
        QTextStream(stdout) << helpText(parser);
        *exit = Ok;
        return false;
    }
    return true;
}

std::unique_ptr<Library> Context::open(bool readOnly, int *exit) const
{
    QString err;
    LibraryError kind = LibraryError::None;
    auto lib = Library::open(libraryPath, readOnly ? Library::Mode::ReadOnly : Library::Mode::ReadWrite, &err, &kind);
    if (!lib && kind == LibraryError::NotFound)
        err = QStringLiteral("No library at %1. Create one with `magpie-cli init %1`, or name one with --library.")
                  .arg(libraryPath);
    if (!lib && !readOnly && !QFileInfo::exists(libraryPath))
        err = QStringLiteral("No library at %1. Create one with `magpie-cli init %1`, or name one with --library.")
                  .arg(libraryPath);
    if (!lib) {
        if (json)
            printJson(QJsonObject{{QStringLiteral("error"), err},
                                  {QStringLiteral("kind"), libraryErrorName(kind)},
                                  {QStringLiteral("exit"), int(NoLibrary)}});
        error(err);
        *exit = NoLibrary;
    }
    return lib;
}

void Context::print(const QString &text) const
{
    if (json)
        return;
    QTextStream out(stdout);
    out << text << '\n';
}

void Context::printJson(const QJsonObject &o) const
{
    if (!json)
        return;
    jsonWritten = true;
    QTextStream out(stdout);
    out << QJsonDocument(o).toJson(QJsonDocument::Indented);
}

void Context::error(const QString &text) const
{
    QTextStream err(stderr);
    err << "magpie-cli: " << text << '\n';
    if (!text.startsWith(QLatin1String("warning: ")))
        lastError = text.section(QStringLiteral("\n\nUsage:"), 0, 0); // the message, not the help after it
}

int Context::finish(int exitCode) const
{
    if (json && exitCode != Ok && !jsonWritten)
        printJson({{QStringLiteral("error"), lastError.isEmpty() ? QStringLiteral("failed") : lastError},
                   {QStringLiteral("exit"), exitCode}});
    return exitCode;
}

void Context::progress(const ImportProgress &p) const
{
    if (quiet)
        return;
    QTextStream err(stderr);
    if (!isatty(fileno(stderr))) {
        // A log file or a pipe: a plain line every 30 s and at the end, no bar.
        static QElapsedTimer last;
        const bool end = p.total > 0 && p.done >= p.total;
        if (p.phase == u"listing" || (last.isValid() && last.elapsed() < 30000 && !end))
            return;
        last.start();
        err << p.phase << ": " << p.done << '/' << p.total;
        if (p.perSecond > 0)
            err << "  " << int(p.perSecond) << " img/s";
        err << '\n' << Qt::flush;
        return;
    }
    if (p.phase == u"listing") {
        err << "\rlisting files\u2026" << Qt::flush;
        return;
    }
    const int width = 30;
    const double frac = p.total > 0 ? double(p.done) / double(p.total) : 1.0;
    const int filled = int(frac * width);
    QString bar = QString(filled, QLatin1Char('#')) + QString(width - filled, QLatin1Char('.'));
    QString eta = p.etaSeconds >= 0 ? QStringLiteral("ETA %1s").arg(int(p.etaSeconds + 0.5)) : QString();
    const QString rate = p.perSecond > 0 ? QStringLiteral("%1 img/s  ").arg(int(p.perSecond)) : QString();
    err << "\r[" << bar << "] " << p.done << '/' << p.total << "  " << rate << eta << "   " << Qt::flush;
}

void Context::endProgress() const
{
    if (quiet || !isatty(fileno(stderr)))
        return;
    QTextStream err(stderr);
    err << '\n';
}

} // namespace magpie::cli
