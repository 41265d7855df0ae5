// magpie: the desktop application.
//
//   magpie [LIBRARY]          open a library (or the most recent one)
//   magpie --sample           open the bundled sample archive (made on first use)
//   magpie --bench-swipe N    answer N images by script at --rate per second and
//                             print the keypress-to-painted latencies (JSON)
//   magpie --screenshot FILE  save the window to FILE after --after ms, then quit
#include "app/common/ompenv.h"
#include "ui/mainwindow.h"
#include "ui/swipecontroller.h"
#include "ui/swipeview.h"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QKeyEvent>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/resource.h>

using namespace magpie;

namespace {

QString sampleDir()
{
    for (const QString &c : QStringList{qEnvironmentVariable("MAGPIE_SAMPLE_DIR"), QStringLiteral(MAGPIE_SOURCE_SAMPLE_DIR),
                             QCoreApplication::applicationDirPath() + QStringLiteral("/../share/magpie/sample")})
        if (!c.isEmpty() && QFileInfo::exists(c + QStringLiteral("/initials")))
            return QDir(c).absolutePath();
    return {};
}

double percentile(QVector<double> v, double q)
{
    if (v.isEmpty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min<int>(int(v.size()) - 1, int(q * (v.size() - 1) + 0.5))];
}

// Presses → (or a letter) `n` times at `rate` per second, then prints latencies.
void runSwipeBench(MainWindow *w, int n, double rate, const QString &outPath, int deepAt)
{
    auto *timer = new QTimer(w);
    auto *count = new int(0);
    auto *staleAtPress = new int(0);
    w->swipeView()->clearLatencies();
    w->swipeView()->clearStalePaints();
    timer->setInterval(int(1000.0 / rate));
    QObject::connect(timer, &QTimer::timeout, w, [=] {
        SwipeController *c = w->controller();
        if (*count >= n || (!c->hasCurrent() && !c->isFetching())) {
            timer->stop();
            const QVector<double> lat = w->swipeView()->latencies();
            rusage u{};
            getrusage(RUSAGE_SELF, &u);
            const QString json = QStringLiteral("{\"bench\":\"swipe\",\"answers\":%1,\"rate_per_s\":%2,\"p50_ms\":%3,"
                                                "\"p99_ms\":%4,\"max_ms\":%5,\"stale_presses\":%6,\"committed\":%7,"
                                                "\"max_rss_kb\":%8}")
                                     .arg(*count).arg(rate).arg(percentile(lat, 0.5)).arg(percentile(lat, 0.99))
                                     .arg(lat.isEmpty() ? 0 : *std::max_element(lat.begin(), lat.end()))
                                     .arg(*staleAtPress).arg(c->committedAnswers()).arg(u.ru_maxrss);
            std::printf("%s\n", qPrintable(json));
            if (!outPath.isEmpty()) {
                QFile f(outPath);
                if (f.open(QIODevice::WriteOnly | QIODevice::Append))
                    f.write(json.toUtf8() + '\n');
            }
            w->close();
            return;
        }
        if (!c->currentReady())
            ++*staleAtPress; // the person would be looking at a blank or old image
        if (deepAt > 0 && *count == deepAt) // a deep training pass in the background from here on
            for (QAction *a : w->findChildren<QAction *>())
                if (a->text().startsWith(QStringLiteral("&Deep")) && a->isEnabled())
                    a->trigger();
        const bool classSet = c->category().kind == CategoryKind::ClassSet;
        const Qt::Key key = classSet ? Qt::Key(Qt::Key_A + (*count % 26)) : ((*count % 3) ? Qt::Key_Right : Qt::Key_Left);
        QKeyEvent press(QEvent::KeyPress, key, Qt::NoModifier, classSet ? QString(QChar(u'A' + (*count % 26))) : QString());
        QApplication::sendEvent(w->swipeView(), &press);
        ++*count;
    });
    timer->start();
}

} // namespace

int main(int argc, char **argv)
{
    magpie::app::ensurePassiveOpenMp(argv); // before any thread starts
    // --help and --version need no display (a QApplication without one aborts)
    bool textOnly = false;
    for (int i = 1; i < argc; ++i)
        for (const char *o : {"-h", "--help", "--help-all", "-?", "-v", "--version"})
            textOnly = textOnly || std::strcmp(argv[i], o) == 0;
    std::unique_ptr<QCoreApplication> appHolder(textOnly ? new QCoreApplication(argc, argv) : new QApplication(argc, argv));
    QCoreApplication &app = *appHolder;
    QCoreApplication::setApplicationName(QStringLiteral("Magpie"));
    QCoreApplication::setOrganizationName(QStringLiteral("Magpie"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MAGPIE_VERSION));

    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Curate very large image archives with a classifier in the loop."));
    p.addHelpOption();
    p.addVersionOption();
    p.addPositionalArgument(QStringLiteral("library"), QStringLiteral("A library file to open."));
    const QCommandLineOption sample(QStringLiteral("sample"), QStringLiteral("Open the bundled sample archive."));
    const QCommandLineOption category(QStringLiteral("category"), QStringLiteral("Category to show first."), QStringLiteral("name"));
    const QCommandLineOption bench(QStringLiteral("bench-swipe"), QStringLiteral("Scripted answers; prints latencies."), QStringLiteral("n"));
    const QCommandLineOption rate(QStringLiteral("rate"), QStringLiteral("Answers per second for --bench-swipe (default 10)."), QStringLiteral("r"), QStringLiteral("10"));
    const QCommandLineOption benchDeep(QStringLiteral("bench-deep-at"), QStringLiteral("Start a deep pass after this many scripted answers."), QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption benchOut(QStringLiteral("bench-out"), QStringLiteral("Append the bench JSON line to this file."), QStringLiteral("file"));
    const QCommandLineOption shot(QStringLiteral("screenshot"), QStringLiteral("Save the window to a PNG and quit."), QStringLiteral("file"));
    const QCommandLineOption after(QStringLiteral("after"), QStringLiteral("Milliseconds before --screenshot (default 2500)."), QStringLiteral("ms"), QStringLiteral("2500"));
    const QCommandLineOption keys(QStringLiteral("keys"), QStringLiteral("Before --screenshot, press these keys (e.g. RRLRB)."), QStringLiteral("seq"));
    const QCommandLineOption collectionsTab(QStringLiteral("collections"), QStringLiteral("Start on the Collections tab."));
    p.addOptions({sample, category, bench, rate, benchDeep, benchOut, shot, after, keys, collectionsTab});
    p.process(app);

    auto *w = new MainWindow;
    w->setAttribute(Qt::WA_DeleteOnClose);
    w->show();

    QString library = p.positionalArguments().value(0);
    const auto afterOpen = [&, w] {
        if (p.isSet(category))
            w->selectCategory(p.value(category));
        if (p.isSet(collectionsTab))
            w->showCollections();
        if (p.isSet(bench))
            QTimer::singleShot(1500, w, [w, &p, &bench, &rate, &benchOut, &benchDeep] {
                runSwipeBench(w, p.value(bench).toInt(), p.value(rate).toDouble(), p.value(benchOut),
                              p.value(benchDeep).toInt());
            });
        if (p.isSet(shot)) {
            const QString file = p.value(shot);
            const QString seq = p.value(keys);
            const int ms = p.value(after).toInt();
            QTimer::singleShot(ms, w, [w, file, seq] {
                // one key every 150 ms, as a quick person would press them
                for (int i = 0; i < seq.size(); ++i) {
                    const QChar ch = seq[i];
                    QTimer::singleShot(150 * i, w, [w, ch] {
                        const Qt::Key k = ch == u'R' ? Qt::Key_Right : ch == u'L' ? Qt::Key_Left : ch == u'B' ? Qt::Key_Backspace : Qt::Key_Down;
                        QKeyEvent press(QEvent::KeyPress, k, Qt::NoModifier);
                        QApplication::sendEvent(w->swipeView(), &press);
                    });
                }
                QTimer::singleShot(150 * int(seq.size()) + 4000, w, [w, file] {
                    w->grab().save(file);
                    w->close();
                });
            });
        }
    };

    if (p.isSet(sample)) {
        const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
        QDir().mkpath(dir);
        const QString src = sampleDir();
        // One sample library per sample folder (per clone or install): a library
        // keeps its images' folder, so a second clone must not open the first
        // one's, nor find it gone when that clone is deleted.
        const QString tag = src.isEmpty() ? QString()
                                          : QStringLiteral("-") + QString::fromLatin1(QCryptographicHash::hash(src.toUtf8(),
                                                QCryptographicHash::Sha1).toHex().left(10));
        library = dir + QStringLiteral("/sample%1.magpie").arg(tag);
        const bool fresh = !QFileInfo::exists(library);
        if (!w->openLibrary(library, fresh))
            return 1;
        if (fresh && !src.isEmpty()) {
            w->importSample(src, afterOpen);
        } else {
            afterOpen();
        }
    } else {
        const bool named = !library.isEmpty();
        if (!named)
            library = QSettings().value(QStringLiteral("recent")).toStringList().value(0);
        if (!library.isEmpty() && QFileInfo::exists(library)) {
            w->openLibrary(library);
            afterOpen();
        } else if (named) {
            // a mistyped path: say so (an empty window said nothing), and offer
            // to make a new library there
            QTimer::singleShot(0, w, [w, library, afterOpen] {
                const auto b = QMessageBox::question(
                    w, QObject::tr("No library there"),
                    QObject::tr("There is no Magpie library at\n%1\n\nCreate a new, empty library there? "
                                "(No: open or create one from the Library menu.)")
                        .arg(QDir::toNativeSeparators(QFileInfo(library).absoluteFilePath())),
                    QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
                if (b == QMessageBox::Yes)
                    w->openLibrary(library, true);
                afterOpen();
            });
        } else {
            afterOpen();
        }
    }
    return app.exec();
}
