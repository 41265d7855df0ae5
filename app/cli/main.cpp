// magpie-cli: the headless face of Magpie, for scripts, benchmarks and batch work.
#include "app/common/ompenv.h"
#include "app/cli/cli.h"
#include "core/imagedecoder.h"
#ifdef MAGPIE_HAVE_TRAINING
#include "app/cli/training_commands.h"
#endif
#include "app/cli/collection_commands.h"

#include <QCoreApplication>
#include <QTextStream>

#include <csignal>

namespace {

std::atomic<bool> g_cancel{false};

void onSignal(int)
{
    if (g_cancel.load()) // second Ctrl+C: leave now
        std::_Exit(magpie::cli::Cancelled);
    g_cancel.store(true);
}

const char *const kUsage =
    "Usage: magpie-cli [--library FILE] [--json] [--quiet] <command> [options]\n"
    "       (the global options may also follow the command)\n"
    "\n"
    "Curate a large image archive with a classifier in the loop.\n"
    "\n"
    "Commands:\n"
    "  init FILE                 create a new library file\n"
    "  import FOLDER...          import image folders (recursive, incremental)\n"
    "  info                      counts per status, category and class\n"
    "  category create|list      binary themes and class sets\n"
    "  labels import|export      answers from class folders or CSV; CSV, JSONL, ImageFolder out\n"
    "  collection create|add|remove|list|export  collections; grid prints as PDF, PNG, TIFF or a folder\n"
    "  map --out FILE.png        a 2-D map of the archive: similar pictures near each other\n"
    "  demo                      run Magpie's main job on the bundled sample archive\n"
    "\n"
    "Global options:\n"
    "  -L, --library FILE        the library (default: $MAGPIE_LIBRARY, else ./magpie.library)\n"
    "  --json                    machine-readable output on stdout\n"
    "  --quiet                   no progress bar\n"
    "  -h, --help                this text; `magpie-cli <command> --help` for a command\n"
    "  -v, --version             version\n"
    "\n"
    "Exit codes: 0 ok, 1 failed, 2 usage error, 3 library cannot be opened, 130 interrupted.\n";

} // namespace

int main(int argc, char **argv)
{
    magpie::app::ensurePassiveOpenMp(argv); // before any thread starts
    const auto app = magpie::cli::makeApplication(argc, argv); // QGuiApplication (offscreen) for `collection`
    QCoreApplication::setApplicationName(QStringLiteral("magpie-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MAGPIE_VERSION));
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    using namespace magpie::cli;
    Context ctx;
    ctx.cancel = &g_cancel;
    ctx.libraryPath = qEnvironmentVariable("MAGPIE_LIBRARY", QStringLiteral("magpie.library"));
    // the pixel limit of every decode (import, embed, export); import --max-megapixels overrides it
    if (bool ok = false; qEnvironmentVariableIsSet("MAGPIE_MAX_MEGAPIXELS")) {
        const double mp = qEnvironmentVariable("MAGPIE_MAX_MEGAPIXELS").toDouble(&ok);
        if (ok && mp > 0) magpie::setDefaultMaxPixels(qint64(mp * 1e6));
    }

    // Global options before the command (and after it, below).
    const QStringList all = QCoreApplication::arguments();
    int i = 1;
    QTextStream err(stderr);
    // --json, --quiet, -L FILE, --library=FILE at all[k]: taken (k moves past
    // a value) -> Taken; not one of them -> Other; -L without a file -> Missing
    enum Global { Other, Taken, Missing };
    const auto global = [&](int &k) -> Global {
        const QString a = all[k];
        if (a == u"--json") {
            ctx.json = true;
        } else if (a == u"--quiet" || a == u"-q") {
            ctx.quiet = true;
        } else if (a == u"-L" || a == u"--library") {
            if (k + 1 >= all.size()) {
                err << "magpie-cli: " << a << " needs a file\n";
                return Missing;
            }
            ctx.libraryPath = all[++k];
        } else if (a.startsWith(QStringLiteral("--library="))) {
            ctx.libraryPath = a.mid(10);
        } else {
            return Other;
        }
        return Taken;
    };
    for (; i < all.size(); ++i) {
        const QString a = all[i];
        if (const Global g = global(i); g != Other) {
            if (g == Missing)
                return Usage;
        } else if (a == u"-h" || a == u"--help" || a == u"help") {
            QTextStream(stdout) << kUsage;
#ifdef MAGPIE_HAVE_TRAINING
            QTextStream(stdout) << "\nTraining commands:\n" << kTrainingUsage;
#endif
            return Ok;
        } else if (a == u"-v" || a == u"--version") {
            QTextStream(stdout) << "magpie-cli " << MAGPIE_VERSION << '\n';
            return Ok;
        } else if (a.startsWith(QLatin1Char('-'))) {
            err << "magpie-cli: unknown option " << a << " (options of a command come after it)\n\n" << kUsage;
            return Usage;
        } else {
            break;
        }
    }
    if (i >= all.size()) {
        err << kUsage;
        return Usage;
    }
    const QString command = all[i];
    // The global options are also taken after the command (`magpie-cli suggest
    // -c x --json`), up to a "--" that ends the options.
    QStringList rest;
    for (int k = i + 1; k < all.size(); ++k) {
        const QString a = all[k];
        if (a == u"--") {
            rest += all.mid(k);
            break;
        }
        const Global g = global(k);
        if (g == Missing)
            return Usage;
        if (g == Other)
            rest += a;
    }
    ctx.args = QStringList{QStringLiteral("magpie-cli ") + command} + rest;
    const auto dispatch = [&]() -> int {
        if (command == u"init")
            return cmdInit(ctx);
        if (command == u"import")
            return cmdImport(ctx);
        if (command == u"info")
            return cmdInfo(ctx);
        if (command == u"category")
            return cmdCategory(ctx);
        if (command == u"labels")
            return cmdLabels(ctx);
        if (command == u"collection")
            return cmdCollection(ctx);
        if (command == u"demo")
            return cmdDemo(ctx);
        if (command == u"map")
            return cmdMap(ctx);
#ifdef MAGPIE_HAVE_TRAINING
        if (command == u"embed")
            return cmdEmbed(ctx);
        if (command == u"train")
            return cmdTrain(ctx);
        if (command == u"score")
            return cmdScore(ctx);
        if (command == u"suggest")
            return cmdSuggest(ctx);
        if (command == u"answer")
            return cmdAnswer(ctx);
        if (command == u"eval")
            return cmdEval(ctx);
        if (command == u"similar")
            return cmdSimilar(ctx);
        if (command == u"chain")
            return cmdChain(ctx);
        if (command == u"backbone")
            return cmdBackbone(ctx);
#endif
        ctx.error(QStringLiteral("unknown command \u201c%1\u201d\n\n%2").arg(command, QString::fromUtf8(kUsage)));
        ctx.lastError = QStringLiteral("unknown command \u201c%1\u201d (magpie-cli --help lists them)").arg(command);
        return Usage;
    };
    return ctx.finish(dispatch());
}

