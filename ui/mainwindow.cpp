#include "ui/mainwindow.h"

#include "core/collections.h"
#include "core/importer.h"
#include "core/labelio.h"
#include "core/library.h"
#include "ui/collectionpanel.h"
#include "ui/mapview.h"
#include "ui/historystrip.h"
#include "ui/swipecontroller.h"
#include "ui/swipeview.h"
#ifdef MAGPIE_HAVE_TRAINING
#include "training/service/trainingworker.h"
#endif

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCryptographicHash>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeyEvent>
#include <QKeySequenceEdit>
#include <QLabel>
#include <QListWidget>
#include <QTreeWidget>
#include <QHeaderView>
#include <QClipboard>
#include <QGuiApplication>
#include <QMap>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QActionGroup>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextBrowser>
#include <QTimer>
#include <QScreen>
#include <QWindow>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace magpie {

namespace {
std::unique_ptr<Library> openUiLibrary(const QString &path, bool create, QString *err)
{
    LibraryError kind = LibraryError::None;
    auto lib = create ? Library::create(path, err, &kind) : Library::open(path, Library::Mode::ReadWrite, err, &kind);
    if (!lib && kind == LibraryError::ReadOnly) // the window answers, so it needs to write
        *err += QCoreApplication::translate("MainWindow", "\n\nThe window records every answer at once, so it opens only "
                                                          "libraries it can write. To read this one as it is, use "
                                                          "magpie-cli info or magpie-cli labels export.");
    return lib;
}
// "1 answer" or "3 answers": `many` has %1 for the count (tr's %n leaves its
// "(s)" in place when no translation is loaded).
QString counted(qint64 n, const QString &one, const QString &many)
{
    return n == 1 ? one : many.arg(n);
}
// Where the category last shown in a library is remembered (QSettings).
QString lastCategoryKey(const QString &libraryPath)
{
    return QStringLiteral("lastCategory/")
           + QString::fromLatin1(QCryptographicHash::hash(QFileInfo(libraryPath).absoluteFilePath().toUtf8(),
                                                          QCryptographicHash::Sha1).toHex().left(16));
}
} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    m_controller = new SwipeController(this);
    // the queue the person last worked in, kept between sessions
    m_controller->setMode(QSettings().value(QStringLiteral("queue"), QStringLiteral("mix")).toString());
    connect(m_controller, &SwipeController::modeChanged, this,
            [](const QString &mode) { QSettings().setValue(QStringLiteral("queue"), mode); });
    // Settings > Largest Image: the pixel limit of every decode in this process
    if (const QSettings s; s.contains(QStringLiteral("import/maxMegapixels"))) {
        bool ok = false;
        const double mp = s.value(QStringLiteral("import/maxMegapixels")).toDouble(&ok);
        if (ok && mp > 0) // a damaged setting never lifts the guard
            setDefaultMaxPixels(qint64(mp * 1e6));
    }
    buildUi();
    buildMenus();
    connect(m_controller, &SwipeController::countsChanged, this, &MainWindow::onCounts);
    connect(m_controller, &SwipeController::statsChanged, this, &MainWindow::updateStatus);
    connect(m_controller, &SwipeController::message, this, [this](const QString &m) { statusBar()->showMessage(m, 6000); });
    connect(m_controller, &SwipeController::libraryOpened, this, [this](bool ok, const QString &err) {
        if (!ok)
            QMessageBox::warning(this, tr("Cannot open the library"), err);
    });
    connect(m_controller, &SwipeController::currentChanged, this, &MainWindow::updateEmptyHint);
    setUpTraining();
    auto *tick = new QTimer(this); // the pace per hour changes with time, not only with answers
    connect(tick, &QTimer::timeout, this, &MainWindow::updateStatus);
    tick->start(5000);
    resize(1280, 860);
    setWindowTitle(tr("Magpie"));
    updateEmptyHint();
    updateStatus();
}

MainWindow::~MainWindow() = default;

void MainWindow::setUpTraining()
{
#ifdef MAGPIE_HAVE_TRAINING
    connect(m_controller, &SwipeController::modelFetchRequested, this,
            [this](int request, const Category &category, const QString &mode, int count, const QVector<qint64> &) {
                if (!m_trainer)
                    return m_controller->deliverProposals(request, {});
                m_pendingFetch = request;
                m_trainer->requestSuggest(category.id, training::parseQueue(mode).value_or(training::Queue::Mix),
                                          count + int(m_controller->busyIds().size()));
            });
    connect(m_controller, &SwipeController::answerCommitted, this, [this](const Answer &a) {
        if (!m_trainer || a.categoryId != m_controller->category().id)
            return;
        // the first model comes after a handful of answers, later ones every `every`
        const int setting = QSettings().value(QStringLiteral("training/every"), 20).toInt();
        const int every = m_hasModel ? setting : std::min(setting, 6);
        if (++m_answersSinceTrain >= every && !m_training)
            trainNow(m_controller->category());
    });
    // a category with a model shows the model's queue at once; so does a class
    // set that the backbone's prior head knows (letters), before any training
    connect(m_categories, &QListWidget::currentRowChanged, this, [this](int row) {
        if (!m_trainer || row < 0 || row >= m_cats.size())
            return;
        m_answersSinceTrain = 0;
        QString err;
        auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
        if (!lib)
            return;
        const auto versions = lib->modelVersions(m_cats[row].id);
        m_hasModel = !versions.isEmpty();
        // the status bar speaks of this category's model (a class set the
        // backbone's prior head knows gets its text when the prior scores it)
        m_modelText = m_hasModel ? modelSummary(versions.last().id, versions.last().metricsJson)
                      : m_cats[row].kind == CategoryKind::ClassSet
                          ? QString()
                          : tr("model: none yet for \u201c%1\u201d (it trains after a few answers)").arg(m_cats[row].name);
        updateStatus();
        if (m_hasModel && !m_controller->hasCurrent()) {
            // a trained model picks the first card too (harvest starts with its likeliest yes)
            m_controller->fillFromModel();
        } else if (m_hasModel || m_cats[row].kind == CategoryKind::ClassSet) {
            // a class set the prior knows: the first card comes at once from the
            // library's order (the archive may not be embedded yet), the queue after it from the prior
            m_pendingFetch = -1; // refresh the whole queue
            m_trainer->requestSuggest(m_cats[row].id, training::parseQueue(m_controller->mode()).value_or(training::Queue::Mix), 64);
        }
        // answers that no model has seen yet (made by the CLI, an import of
        // labels, or before the last model): train on them now, not after the
        // next batch of answers
        const qint64 newest = lib->newestAnswerMs(m_cats[row].id);
        if (newest > 0 && !m_training && (!m_hasModel || newest > versions.last().createdMs))
            trainNow(m_cats[row]);
    });
#endif
}

void MainWindow::trainNow(const Category &category)
{
#ifdef MAGPIE_HAVE_TRAINING
    if (!m_trainer)
        return;
    m_answersSinceTrain = 0;
    m_training = true;
    m_modelText = tr("model: training \u201c%1\u201d\u2026").arg(category.name);
    updateStatus();
    m_trainer->requestEmbed(); // answered images must have embeddings
    m_trainer->requestTrain(category.id);
#else
    Q_UNUSED(category);
#endif
}

void MainWindow::startTraining()
{
#ifdef MAGPIE_HAVE_TRAINING
    delete m_trainer;
    m_trainer = nullptr;
    m_deepRunning = false; // its jobs went with it
    m_modelText.clear();
    QString backbone = QStringLiteral("general");
    bool empty = false;
    {
        QString err;
        if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err)) {
            backbone = training::Curator::libraryBackbone(*lib);
            empty = lib->images(ImageStatus::Ok, 1).isEmpty(); // one row, not a count of the archive
        }
    }
    if (training::Curator::resolveBackbone(qEnvironmentVariable("MAGPIE_BACKBONE", backbone)).isEmpty()) {
        m_modelText = tr("model: no backbone installed (the build fetches it with npm); queues show unanswered images");
        return;
    }
    m_trainer = new training::TrainingWorker(m_path, {}, this);
    connect(m_trainer, &training::TrainingWorker::embedded, this, [this](const training::EmbedReport &r) {
        // a class set the backbone's prior knows (letters) gets the prior's queue and guesses
        // once the archive is embedded (after a backbone switch, or on a new library)
        if (r.embedded > 0 && !m_hasModel && m_controller->hasCategory()
            && m_controller->category().kind == CategoryKind::ClassSet) {
            m_pendingFetch = -1;
            m_trainer->requestSuggest(m_controller->category().id,
                                      training::parseQueue(m_controller->mode()).value_or(training::Queue::Mix), 64);
        }
    });
    connect(m_trainer, &training::TrainingWorker::failed, this, [this](const QString &job, const QString &m) {
        if (job == u"suggest" && m_pendingFetch > 0) { // the cards come from the library's order instead
            const int request = m_pendingFetch;
            m_pendingFetch = 0;
            m_controller->modelFetchFailed(request);
        }
        m_training = false;
        if (job == u"train")
            m_deepRunning = false;
        if (!isBusy()) { // the job's progress bar goes with it (an import owns the bar while it runs)
            m_progress->setVisible(false);
            m_cancel->setVisible(false);
            m_job->clear();
        }
        // the model in use is still the newest one (if any): say so, not "failed"
        QString current;
        if (m_controller->hasCategory()) {
            QString err;
            if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err)) {
                const auto versions = lib->modelVersions(m_controller->category().id);
                if (!versions.isEmpty())
                    current = modelSummary(versions.last().id, versions.last().metricsJson);
            }
        }
        const bool cancelled = m == u"cancelled";
        statusBar()->showMessage(cancelled ? tr("%1 cancelled.").arg(job == u"train" ? tr("Training") : job)
                                           : tr("%1: %2").arg(job, m),
                                 10000);
        if (job == u"train") // deep passes too
            m_modelText = !current.isEmpty() ? current
                          : cancelled        ? tr("model: none yet (training was cancelled)")
                                             : tr("model: none yet (%1)").arg(m);
        updateStatus();
    });
    connect(m_trainer, &training::TrainingWorker::progress, this, [this](const QString &job, qint64 done, qint64 total) {
        if (isBusy())
            return; // the import owns the progress bar
        const bool on = total > 0 && done < total;
        m_progress->setVisible(on);
        m_cancel->setVisible(on);
        const QString name = job == u"embed"                   ? tr("embedding")
                             : job == u"deep"                  ? tr("deep pass")
                             : job.startsWith(QLatin1String("deep: ")) ? tr("deep pass, %1:").arg(job.mid(6))
                                                                       : job;
        m_job->setText(!on ? QString()
                       : job.startsWith(QLatin1String("embed: "))
                           ? tr("embedding %1 / %2 (%3)").arg(done).arg(total).arg(job.mid(7)) // "(2 backbones)"
                           : tr("%1 %2 / %3").arg(name).arg(done).arg(total));
        if (on) {
            m_progress->setRange(0, int(total));
            m_progress->setValue(int(done));
        }
    });
    connect(m_trainer, &training::TrainingWorker::trained, this, [this](const training::TrainReport &r) {
        // (a deep pass that validates worse ends in failed(), which says so)
        if (m_deepRunning && r.metricsJson.contains(QLatin1String("\"mode\":\"deep\""))) {
            m_deepRunning = false;
            statusBar()->showMessage(tr("Deep pass finished: its model is now in use."), 10000);
        }
        if (r.categoryId != m_controller->category().id) {
            // trained for the category the person has since left: it is kept
            // and shown when they come back to it
            m_training = false;
            return;
        }
        onModelReady(r.modelVersion, r.metricsJson);
    });
    connect(m_trainer, &training::TrainingWorker::suggested, this,
            [this](qint64 category, const QVector<training::Suggestion> &list) {
                if (category != m_controller->category().id)
                    return;
                const QVector<Proposal> props = toProposals(list);
                if (m_modelText.isEmpty() && !list.isEmpty() && list.first().scored && !m_training) {
                    QString backbone = QStringLiteral("backbone");
                    QString err;
                    if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err))
                        backbone = tr("%1 backbone").arg(qEnvironmentVariable(
                            "MAGPIE_BACKBONE", training::Curator::categoryBackbone(*lib, category)));
                    m_modelText = tr("model: the %1\u2019s prior head for these classes (nothing trained yet)").arg(backbone);
                    updateStatus();
                }
                if (m_pendingFetch > 0) {
                    const int request = m_pendingFetch;
                    m_pendingFetch = 0;
                    m_controller->deliverProposals(request, props);
                } else if (!props.isEmpty() && props.first().confidence >= 0) { // a new model, a category that has one, or a prior
                    m_pendingFetch = 0;
                    m_controller->setModelActive(true);
                    m_controller->refreshQueue(props); // the current image stays
                    if (m_controller->hasCurrent() && m_controller->current().confidence < 0) // picked before any score
                        m_trainer->requestScore(category, {m_controller->current().image.id});
                }
            });
    connect(m_controller, &SwipeController::guessWanted, this, [this](ImageId image) {
        if (m_trainer && m_controller->hasCategory())
            m_trainer->requestScore(m_controller->category().id, {image});
    });
    connect(m_trainer, &training::TrainingWorker::imagesScored, this,
            [this](qint64 category, const QVector<training::Suggestion> &list) {
                if (category != m_controller->category().id)
                    return;
                const bool classSet = m_controller->category().kind == CategoryKind::ClassSet;
                for (const training::Suggestion &s : list)
                    m_controller->fillCurrentGuess(s.imageId, classSet ? s.className : QStringLiteral("yes"), s.score,
                                                   s.runnersUp);
            });
    connect(m_trainer, &training::TrainingWorker::similarFound, this, [this](qint64 image, const QVector<qint64> &near) {
        if (near.isEmpty())
            return statusBar()->showMessage(tr("No other embedded images yet."), 5000);
        QString file;
        QString err;
        if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err))
            if (const auto rec = lib->image(image))
                file = QFileInfo(rec->relPath).completeBaseName();
        makeCollection(tr("More like %1").arg(file.isEmpty() ? QString::number(image) : file),
                       QVector<ImageId>{image} + near, tr("%1 and the %2 images most like it").arg(file).arg(near.size()),
                       true, true);
    });
    connect(m_trainer, &training::TrainingWorker::chainFound, this,
            [this](qint64 from, qint64 to, const QVector<qint64> &chain, float weakest) {
                QString names[2];
                QString err;
                if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err))
                    for (int k = 0; k < 2; ++k)
                        if (const auto rec = lib->image(k ? to : from))
                            names[k] = QFileInfo(rec->relPath).completeBaseName();
                // cosine between neighbours: near 1 alike, below about 0.5 a jump
                makeCollection(tr("From %1 to %2").arg(names[0], names[1]), chain,
                               weakest < 0.5f
                                   ? tr("a chain of %1 images; one step is a jump (similarity %2 of 1): this archive has "
                                        "little between the two")
                                         .arg(chain.size())
                                         .arg(weakest, 0, 'f', 2)
                                   : tr("a chain of %1 images, each like the one before (similarity %2 of 1 at least)")
                                         .arg(chain.size())
                                         .arg(weakest, 0, 'f', 2),
                               true, true);
            });
    // "more like this" from an image of a collection (its context menu, Ctrl+M)
    // (the trainer is the context: the connection goes with it when another library opens)
    connect(m_collections, &CollectionPanel::moreLikeThisRequested, m_trainer,
            [this](ImageId id) { m_trainer->requestSimilar(id, 35); });
    connect(m_map, &MapView::moreLikeThisRequested, m_trainer, [this](ImageId id) { m_trainer->requestSimilar(id, 35); });
    // a new embedding (backbone switch, new images) redraws the map
    connect(m_trainer, &training::TrainingWorker::embedded, m_map, [this](const training::EmbedReport &r) {
        // once the whole archive is embedded, not after every part; a category's own backbone is not what the map shows
        if (r.libraryEmbedded > 0 && r.remaining == 0)
            m_map->refresh();
    });
    // Embed what an opened library holds and has no embedding for. A new,
    // empty library has nothing: its first import asks once it is done (an
    // embedding started here would take the images of an import still running
    // half-way, and its bar would fall back when the rest came).
    if (!empty)
        m_trainer->requestEmbed();
#endif
}

void MainWindow::makeCollection(const QString &title, const QVector<ImageId> &ids, const QString &what, bool show,
                                bool ranked)
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib)
        return statusBar()->showMessage(err, 8000);
    QString name = title;
    for (int i = 2; collections::find(*lib, name); ++i)
        name = QStringLiteral("%1 (%2)").arg(title).arg(i);
    const qint64 id = lib->createCollection(name, name);
    lib->setCollectionItems(id, ids);
    if (ranked)
        collections::setKeepsOwnOrder(*lib, id, true);
    lib.reset();
    m_collections->reload(id);
    if (show)
        showCollections();
    statusBar()->showMessage(tr("Made the collection \u201c%1\u201d from %2%3.")
                                 .arg(name, what, show ? QString() : tr(" (Collections & prints tab)")), 8000);
}

QVector<Proposal> MainWindow::toProposals(const QVector<training::Suggestion> &list) const
{
    QVector<Proposal> out;
#ifdef MAGPIE_HAVE_TRAINING
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    if (!lib)
        return out;
    const QVector<qint64> busy = m_controller->busyIds();
    const QSet<qint64> skip(busy.begin(), busy.end());
    const auto versions = lib->modelVersions(m_controller->category().id);
    const qint64 version = versions.isEmpty() ? 0 : versions.last().id;
    for (const training::Suggestion &s : list) {
        if (skip.contains(s.imageId))
            continue;
        const auto rec = lib->image(s.imageId);
        if (!rec)
            continue;
        Proposal p;
        p.image = *rec;
        p.queue = training::queueName(s.queue);
        p.confidence = s.scored ? s.score : -1; // before any training: the backbone's prior head, if it has one
        p.guess = m_controller->category().kind == CategoryKind::ClassSet ? s.className : QStringLiteral("yes");
        p.runnersUp = s.runnersUp;
        p.modelVersion = version;
        out << p;
    }
#else
    Q_UNUSED(list);
#endif
    return out;
}

QString MainWindow::modelSummary(qint64 version, const QString &metricsJson)
{
    const QJsonObject m = QJsonDocument::fromJson(metricsJson.toUtf8()).object();
    QString text = tr("model v%1").arg(version);
    const QJsonObject per = m.value(QStringLiteral("per_class")).toObject();
    if (per.contains(QStringLiteral("yes")) && per.contains(QStringLiteral("no"))) {
        // a theme: say how many of each answer it gets right when held out
        // (one overall percentage hides a model that never finds a "yes")
        auto right = [&](const QString &k) {
            const QJsonObject c = per.value(k).toObject();
            const int n = c.value(QStringLiteral("support")).toInt();
            return tr("%1 of %2 %3").arg(qRound(std::max(0.0, c.value(QStringLiteral("recall")).toDouble()) * n)).arg(n).arg(k);
        };
        text += tr(" \u00b7 held out, it calls %1 and %2 right").arg(right(QStringLiteral("yes")), right(QStringLiteral("no")));
    } else if (m.contains(QStringLiteral("accuracy"))) {
        text += tr(" \u00b7 %1% validated (%2, %3 answers)")
                    .arg(m.value(QStringLiteral("accuracy")).toDouble() * 100, 0, 'f', 0)
                    .arg(m.value(QStringLiteral("validation")).toString())
                    .arg(m.value(QStringLiteral("validated_answers")).toInt());
    } else if (m.contains(QStringLiteral("temperature_note"))) { // a theme: softened (Curator::train)
        text += tr(" \u00b7 not validated yet (that needs 6 answers, at least one yes and one no among them): "
                    "its scores are kept modest");
    } else if (m.contains(QStringLiteral("validation"))) {
        text += tr(" \u00b7 not validated yet (too few answers)");
    }
    return text;
}

void MainWindow::onModelReady(qint64 version, const QString &metricsJson)
{
    m_training = false;
    m_hasModel = true;
    m_modelText = modelSummary(version, metricsJson);
    updateStatus();
#ifdef MAGPIE_HAVE_TRAINING
    // the new model's queue replaces the rest of the current one
    m_pendingFetch = -1;
    m_trainer->requestSuggest(m_controller->category().id,
                              training::parseQueue(m_controller->mode()).value_or(training::Queue::Mix), 64);
#endif
}

void MainWindow::buildUi()
{
    setStyleSheet(QStringLiteral(
        "QMainWindow, QWidget#side { background: #232428; color: #e8e6e3; }"
        "QListWidget { background: #1e1f22; color: #e8e6e3; border: none; font-size: 11pt; }"
        "QListWidget::item { padding: 8px 10px; border-bottom: 1px solid #2c2d31; }"
        "QListWidget::item:selected { background: #34507a; color: white; }"
        "QPushButton { background: #34363b; color: #e8e6e3; border: 1px solid #44464c; border-radius: 4px; padding: 5px 10px; }"
        "QPushButton:hover { background: #3e4046; }"
        "QTabWidget::pane { border: none; } QTabBar::tab { background: #1b1c1f; color: #b8b8be; padding: 6px 16px; }"
        "QTabBar::tab:selected { background: #2f3136; color: white; }"
        "QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox { background: #1e1f22; color: #e8e6e3; border: 1px solid #44464c;"
        " border-radius: 3px; padding: 3px 6px; }"
        "QCheckBox, QLabel { color: #e8e6e3; }"
        "QLabel#sideTitle { color: #9a9aa0; font-size: 9pt; letter-spacing: 1px; }"
        "QStatusBar { background: #1b1c1f; color: #b8b8be; }"
        "QStatusBar QLabel { color: #b8b8be; padding: 0 8px; }"
        // Dialogs inherit this sheet (they are the window's children): give
        // them the dark ground too, or its light label text sits on the
        // platform's light grey and cannot be read.
        "QDialog { background: #2b2d31; color: #e8e6e3; }"
        "QAbstractItemView { background: #1e1f22; color: #e8e6e3; selection-background-color: #34507a;"
        " selection-color: white; }"
        "QHeaderView::section { background: #2b2d31; color: #e8e6e3; border: none; padding: 3px 6px; }"
        "QKeySequenceEdit, QPlainTextEdit, QTextEdit { background: #1e1f22; color: #e8e6e3; }"
        // what cannot be used now looks it (the colours above hid it)
        "QPushButton:disabled { background: #2a2b2f; color: #6b6d73; border-color: #35373c; }"
        "QLineEdit:disabled, QComboBox:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled { background: #26272b;"
        " color: #6b6d73; border-color: #35373c; }"
        "QCheckBox:disabled, QLabel:disabled { color: #6b6d73; }"));

    auto *side = new QWidget;
    side->setObjectName(QStringLiteral("side"));
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(10, 12, 10, 10);
    auto *title = new QLabel(tr("CATEGORIES"));
    title->setObjectName(QStringLiteral("sideTitle"));
    sideLayout->addWidget(title);
    m_categories = new QListWidget;
    m_categories->setFocusPolicy(Qt::NoFocus);
    m_categories->setWordWrap(true);
    m_categories->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_categories->setTextElideMode(Qt::ElideRight);
    sideLayout->addWidget(m_categories, 1);
    auto *buttons = new QHBoxLayout;
    auto *theme = new QPushButton(tr("+ Theme"));
    theme->setToolTip(tr("A yes/no theme such as \u201cvery sad girls\u201d"));
    auto *classes = new QPushButton(tr("+ Class set"));
    classes->setToolTip(tr("One class per image, such as the letters A\u2013Z"));
    theme->setFocusPolicy(Qt::NoFocus);
    classes->setFocusPolicy(Qt::NoFocus);
    buttons->addWidget(theme);
    buttons->addWidget(classes);
    sideLayout->addLayout(buttons);
    connect(theme, &QPushButton::clicked, this, [this] { newCategory(false); });
    connect(classes, &QPushButton::clicked, this, [this] { newCategory(true); });
    connect(m_categories, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row < m_cats.size() && m_controller->category().id != m_cats[row].id) {
            m_controller->setCategory(m_cats[row]);
            m_view->setFocus();
            QSettings().setValue(lastCategoryKey(m_path), m_cats[row].id); // opened there next time (an id survives a rename)
        }
    });

    m_view = new SwipeView(m_controller);
    QSettings settings;
    Keymap km = Keymap::defaults();
    km.load(settings);
    m_view->setKeymap(km);
    connect(m_view, &SwipeView::requestImport, this, &MainWindow::chooseAndImport);
    m_history = new HistoryStrip(m_controller);

    auto *center = new QWidget;
    auto *centerLayout = new QVBoxLayout(center);
    centerLayout->setContentsMargins(0, 0, 0, 0);
    centerLayout->setSpacing(0);
    centerLayout->addWidget(m_view, 1);
    centerLayout->addWidget(m_history);

    auto *split = new QSplitter;
    split->addWidget(side);
    split->addWidget(center);
    split->setStretchFactor(1, 1);
    split->setSizes({290, 990});
    m_collections = new CollectionPanel;
    connect(m_collections, &CollectionPanel::message, this, [this](const QString &m) { statusBar()->showMessage(m, 12000); });
    auto *tabs = m_tabs = new QTabWidget;
    tabs->setDocumentMode(true);
    tabs->setFocusPolicy(Qt::NoFocus);
    tabs->addTab(split, tr("Swipe"));
    tabs->addTab(m_collections, tr("Collections && prints"));
    m_map = new MapView;
    connect(m_map, &MapView::message, this, [this](const QString &m) { statusBar()->showMessage(m, 12000); });
    tabs->addTab(m_map, tr("Map"));
    connect(tabs, &QTabWidget::currentChanged, this, [this](int i) {
        if (i == 1)
            m_collections->reload(); // answers given since may add to a category's yes-set
        else if (i == 2)
            m_map->setFocus();
        else
            m_view->setFocus();
    });
    setCentralWidget(tabs);

    m_session = new QLabel;
    m_model = new QLabel;
    m_job = new QLabel;
    m_job->setObjectName(QStringLiteral("jobText"));
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("jobProgress"));
    m_progress->setMaximumWidth(220);
    m_progress->setVisible(false);
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setVisible(false);
    m_cancel->setFocusPolicy(Qt::NoFocus);
    statusBar()->addWidget(m_session);
    statusBar()->addWidget(m_model);
    statusBar()->addPermanentWidget(m_job);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_cancelFlag)
            m_cancelFlag->store(true);
#ifdef MAGPIE_HAVE_TRAINING
        if (m_trainer)
            m_trainer->cancel();
#endif
        m_job->setText(tr("cancelling\u2026"));
    });
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&Library"));
    file->addAction(tr("&New Library\u2026"), QKeySequence::New, this, &MainWindow::chooseAndCreate);
    file->addAction(tr("&Open Library\u2026"), QKeySequence::Open, this, &MainWindow::chooseAndOpen);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, [this] {
        m_recentMenu->clear();
        const QStringList recent = QSettings().value(QStringLiteral("recent")).toStringList();
        for (const QString &p : recent)
            m_recentMenu->addAction(p, this, [this, p] { openLibrary(p); });
        if (recent.isEmpty())
            m_recentMenu->addAction(tr("(none yet)"))->setEnabled(false);
    });
    file->addSeparator();
    file->addAction(tr("&Import Folder\u2026"), QKeySequence(Qt::CTRL | Qt::Key_I), this, &MainWindow::chooseAndImport);
    file->addAction(tr("Import &Problems\u2026"), this, &MainWindow::showImportProblems);
    file->addSeparator();
    m_swipeTabAction = file->addAction(tr("Go to &Swipe"), QKeySequence(Qt::CTRL | Qt::Key_1), this,
                                       [this] { m_tabs->setCurrentIndex(0); });
    m_collectionsTabAction = file->addAction(tr("Go to &Collections"), QKeySequence(Qt::CTRL | Qt::Key_2), this,
                                             &MainWindow::showCollections);
    m_mapTabAction = file->addAction(tr("Go to the &Map"), QKeySequence(Qt::CTRL | Qt::Key_3), this,
                                     [this] { m_tabs->setCurrentIndex(2); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu *cat = menuBar()->addMenu(tr("&Category"));
    cat->addAction(tr("New &Theme (yes/no)\u2026"), QKeySequence(Qt::CTRL | Qt::Key_T), this, [this] { newCategory(false); });
    cat->addAction(tr("New &Class Set\u2026"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T), this, [this] { newCategory(true); });
    cat->addAction(tr("&Rename\u2026"), QKeySequence(Qt::Key_F2), this, &MainWindow::renameCategory);
    cat->addSeparator();
    cat->addAction(tr("&Import Answers (CSV)\u2026"), this, &MainWindow::importAnswers);
    cat->addAction(tr("Import Answers from Class &Folders\u2026"), this, &MainWindow::importAnswerFolders);
    cat->addAction(tr("&Export Answers\u2026"), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportAnswers);
    cat->addSeparator();
    cat->addAction(tr("&Delete\u2026"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Delete), this, &MainWindow::deleteCategory);

    QMenu *view = menuBar()->addMenu(tr("&Queue"));
    auto *queues = new QActionGroup(this); // the current queue is checked (Tab cycles it)
    for (const QString &m : SwipeController::modes()) {
        QAction *a = view->addAction(m, this, [this, m] { m_controller->setMode(m); });
        a->setCheckable(true);
        a->setChecked(m == m_controller->mode());
        queues->addAction(a);
        connect(m_controller, &SwipeController::modeChanged, a, [a, m](const QString &now) { a->setChecked(now == m); });
    }

    view->addSeparator();
    view->addAction(tr("Collection from the &Queue (next 36)"), this, [this] {
        const QVector<ImageId> ids = m_controller->upcomingIds(36);
        if (ids.isEmpty())
            return statusBar()->showMessage(tr("The queue is empty."), 5000);
        makeCollection(tr("%1 \u2014 %2 queue").arg(m_controller->category().name, m_controller->mode()), ids,
                       tr("the next %1 images of the queue").arg(ids.size()));
    });
    // More like this: the image on screen and its 35 nearest neighbours by
    // embedding, found by the training worker (core's similarity index).
    [[maybe_unused]] QAction *like = view->addAction(tr("Collection: More &Like This (36)"), this, [this] {
#ifdef MAGPIE_HAVE_TRAINING
        const ImageId id = focusedImage();
        if (!id)
            return statusBar()->showMessage(m_tabs->currentIndex() == 0 ? tr("No image on screen.")
                                                                        : tr("Select an image first (click it)."), 5000);
        if (!m_trainer)
            return statusBar()->showMessage(tr("More like this needs the training engine's embeddings."), 5000);
        m_trainer->requestSimilar(id, 35);
#endif
    });
    like->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    m_likeAction = like;
    // A chain of similar images from one picture to another: mark where it
    // starts, then ask for it on the picture where it should end.
    [[maybe_unused]] QAction *chainFrom = view->addAction(tr("Chain: Start &Here"), this, [this] {
        const ImageId id = focusedImage();
        if (!id)
            return statusBar()->showMessage(tr("No image on screen (in a collection or the map: select one first)."), 5000);
        m_chainStart = id;
        QString name;
        QString err;
        if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err))
            if (const auto rec = lib->image(id))
                name = QFileInfo(rec->relPath).fileName();
        statusBar()->showMessage(tr("The chain starts at %1. Go to another image and choose Queue \u2192 Chain to Here (%2).")
                                     .arg(name, QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M).toString(QKeySequence::NativeText)),
                                 12000);
    });
    [[maybe_unused]] QAction *chainTo = view->addAction(tr("Chain to Here (a collection of 12)"), this, [this] {
#ifdef MAGPIE_HAVE_TRAINING
        const ImageId id = focusedImage();
        if (!m_chainStart)
            return statusBar()->showMessage(tr("Mark where the chain starts first: Queue \u2192 Chain: Start Here."), 6000);
        if (!id || id == m_chainStart)
            return statusBar()->showMessage(tr("Go to another image, where the chain should end."), 5000);
        if (!m_trainer)
            return statusBar()->showMessage(tr("A chain needs the training engine's embeddings."), 5000);
        m_trainer->requestChain(m_chainStart, id, 10);
#endif
    });
    chainTo->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M));
#ifndef MAGPIE_HAVE_TRAINING
    chainFrom->setEnabled(false);
    chainTo->setEnabled(false);
#endif
#ifndef MAGPIE_HAVE_TRAINING
    like->setEnabled(false);
#endif

    QMenu *model = menuBar()->addMenu(tr("&Model"));
    [[maybe_unused]] QAction *deep = model->addAction(tr("&Deep Pass (fine-tune the backbone)"), this, [this] {
#ifdef MAGPIE_HAVE_TRAINING
        if (!m_trainer || !m_controller->hasCategory())
            return statusBar()->showMessage(tr("Pick a category first (and build Magpie with its training engine)."), 6000);
        if (m_deepRunning) // a second request would queue another pass behind this one, even after Cancel
            return statusBar()->showMessage(tr("A deep pass is already running (Cancel, beside its progress bar, stops it)."), 6000);
        training::TrainOptions o;
        o.deep = true;
        m_deepRunning = true;
        o.timeBoxSeconds = QSettings().value(QStringLiteral("training/deepSeconds"), 120).toDouble();
        m_training = true;
        m_modelText = tr("model: deep pass on \u201c%1\u201d (up to %2 s, in the background)\u2026")
                          .arg(m_controller->category().name).arg(int(o.timeBoxSeconds));
        updateStatus();
        m_trainer->requestEmbed();
        m_trainer->requestTrain(m_controller->category().id, o);
#endif
    });
    QAction *fast = model->addAction(tr("&Retrain Now"), this, [this] {
#ifdef MAGPIE_HAVE_TRAINING
        if (!m_trainer || !m_controller->hasCategory())
            return;
        m_training = true;
        m_trainer->requestEmbed();
        m_trainer->requestTrain(m_controller->category().id);
#endif
    });
    fast->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_retrainAction = fast;
    QMenu *backbones = model->addMenu(tr("&Backbone"));
#ifdef MAGPIE_HAVE_TRAINING
    // Rebuilt each time it opens: the library's backbone, then the current
    // category's own choice (a letters class set gets the letters backbone).
    connect(backbones, &QMenu::aboutToShow, this, [this, backbones] {
        backbones->clear();
        qDeleteAll(backbones->findChildren<QActionGroup *>(Qt::FindDirectChildrenOnly)); // clear() leaves them
        const QStringList labels{tr("General (MobileNetV2, ImageNet)"), tr("Letters (tuned on decorative initials)")};
        const QStringList names = training::Curator::backboneNames();
        QString current = QStringLiteral("general");
        QString own;
        bool hasOwn = false;
        QString err;
        if (!m_path.isEmpty())
            if (auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err)) {
                current = training::Curator::libraryBackbone(*lib);
                if (m_controller->hasCategory())
                    own = training::Curator::categoryBackbone(*lib, m_controller->category().id, &hasOwn);
            }
        backbones->addSection(tr("Library"));
        auto *libGroup = new QActionGroup(backbones);
        for (int i = 0; i < names.size(); ++i) {
            QAction *a = backbones->addAction(QStringLiteral("&%1").arg(i < labels.size() ? labels[i] : names[i]));
            a->setCheckable(true);
            a->setChecked(names[i] == current);
            a->setEnabled(!m_path.isEmpty() && !training::Curator::resolveBackbone(names[i]).isEmpty());
            libGroup->addAction(a);
            connect(a, &QAction::triggered, this, [this, name = names[i]] { setBackbone(name); });
        }
        if (!m_controller->hasCategory())
            return;
        const Category cat = m_controller->category();
        backbones->addSection(tr("\u201c%1\u201d only").arg(cat.name));
        auto *catGroup = new QActionGroup(backbones);
        QAction *follow = backbones->addAction(tr("Same as the library"));
        follow->setCheckable(true);
        follow->setChecked(!hasOwn);
        catGroup->addAction(follow);
        connect(follow, &QAction::triggered, this, [this, id = cat.id] { setCategoryBackbone(id, QString()); });
        for (int i = 0; i < names.size(); ++i) {
            QAction *a = backbones->addAction(i < labels.size() ? labels[i] : names[i]);
            a->setCheckable(true);
            a->setChecked(hasOwn && names[i] == own);
            a->setEnabled(!training::Curator::resolveBackbone(names[i]).isEmpty());
            catGroup->addAction(a);
            connect(a, &QAction::triggered, this, [this, id = cat.id, name = names[i]] { setCategoryBackbone(id, name); });
        }
    });
    backbones->addAction(tr("General"))->setEnabled(false); // replaced when it opens (an empty menu does not open)
#else
    backbones->setEnabled(false);
#endif
#ifndef MAGPIE_HAVE_TRAINING
    deep->setEnabled(false);
    fast->setEnabled(false);
#endif

    QMenu *settings = menuBar()->addMenu(tr("&Settings"));
    settings->addAction(tr("&Keys\u2026"), this, &MainWindow::editKeys);
    settings->addAction(tr("&Retrain Every\u2026"), this, [this] {
        QSettings s;
        bool ok = false;
        const int n = QInputDialog::getInt(this, tr("Retrain every"), tr("Retrain the model after this many answers:"),
                                           s.value(QStringLiteral("training/every"), 20).toInt(), 1, 1000, 1, &ok);
        if (ok)
            s.setValue(QStringLiteral("training/every"), n);
    });
    settings->addAction(tr("&Largest Image\u2026"), this, [this] {
        // the decompression-bomb guard of imports, for real scans larger than it
        QSettings s;
        bool ok = false;
        const double mp = QInputDialog::getDouble(
            this, tr("Largest image"),
            tr("Import images up to this many megapixels (larger ones are skipped and listed in Import Problems; "
               "import the folder again after raising it):"),
            defaultMaxPixels() / 1e6, 1, 10000, 0, &ok);
        if (ok) {
            s.setValue(QStringLiteral("import/maxMegapixels"), mp);
            setDefaultMaxPixels(qint64(mp * 1e6)); // imports, the card and embedding alike
        }
    });
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keys and Queues"), QKeySequence::HelpContents, this, &MainWindow::showKeysHelp);

    // A menu closed with Escape leaves the menu bar in keyboard mode, holding
    // the focus: the next H or L would go to it, not to the card. Give the
    // keys back to the card (a dialog a menu opened has its own focus).
    for (QMenu *menu : menuBar()->findChildren<QMenu *>())
        connect(menu, &QMenu::aboutToHide, this, [this] {
            QTimer::singleShot(0, this, [this] {
                QWidget *f = QApplication::focusWidget();
                if (m_view->isVisible() && (!f || qobject_cast<QMenuBar *>(f)))
                    m_view->setFocus();
            });
        });
}

void MainWindow::setBackbone(const QString &name)
{
#ifdef MAGPIE_HAVE_TRAINING
    QString err;
    auto lib = m_path.isEmpty() ? nullptr : Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib || !training::Curator::setLibraryBackbone(*lib, name, &err)) {
        QMessageBox::warning(this, tr("Cannot change the backbone"), err);
        return;
    }
    lib.reset();
    statusBar()->showMessage(tr("Backbone: %1. Embedding the archive again in the background; the next retrain "
                                "(%2 now) builds the model on it.")
                                 .arg(name, m_retrainAction->shortcut().toString(QKeySequence::NativeText)),
                             10000);
    startTraining(); // a new worker embeds with the new backbone
#else
    Q_UNUSED(name)
#endif
}

void MainWindow::setCategoryBackbone(CategoryId category, const QString &name)
{
#ifdef MAGPIE_HAVE_TRAINING
    QString err;
    auto lib = m_path.isEmpty() ? nullptr : Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib || !training::Curator::setCategoryBackbone(*lib, category, name, &err)) {
        QMessageBox::warning(this, tr("Cannot change the backbone"), err);
        return;
    }
    const QString effective = training::Curator::categoryBackbone(*lib, category);
    const auto cat = lib->category(category);
    const bool answered = lib->newestAnswerMs(category) > 0;
    lib.reset();
    if (!cat)
        return;
    statusBar()->showMessage(tr("\u201c%1\u201d: %2 backbone. Embedding the archive with it in the background if needed%3.")
                                 .arg(cat->name, effective,
                                      answered ? tr("; its model is trained again on it") : QString()),
                             10000);
    if (!m_trainer)
        return startTraining();
    // the worker reads the category's backbone for each job: no need to stop
    // what it is doing (a deep pass of another category runs on)
    if (answered) {
        trainNow(*cat); // embeds (answered images first), then a model on the new backbone
    } else {
        m_trainer->requestEmbed();
        if (m_controller->hasCategory() && m_controller->category().id == category) {
            m_pendingFetch = -1; // the queue from the new backbone (its prior, for a letters set)
            m_trainer->requestSuggest(category, training::parseQueue(m_controller->mode()).value_or(training::Queue::Mix), 64);
        }
    }
#else
    Q_UNUSED(category)
    Q_UNUSED(name)
#endif
}

bool MainWindow::openLibrary(const QString &path, bool create)
{
    QString err;
    auto lib = openUiLibrary(path, create, &err);
    if (!lib) {
        QMessageBox::warning(this, create ? tr("Cannot create the library") : tr("Cannot open the library"), err);
        return false;
    }
    m_path = lib->path();
    lib.reset(); // the controller's worker keeps its own connection
    m_controller->openLibrary(m_path);
    m_collections->setLibrary(m_path);
    m_map->setLibrary(m_path);
    startTraining();
    addRecent(m_path);
    setWindowTitle(tr("Magpie \u2014 %1").arg(QFileInfo(m_path).fileName()));
    reloadCategories();
    return true;
}

void MainWindow::reloadCategories()
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    m_cats = lib ? lib->categories() : QVector<Category>{};
    m_counts = lib ? lib->counts() : LibraryCounts{};
    lib.reset();
    const CategoryId current = m_controller->category().id;
    m_categories->blockSignals(true);
    m_categories->clear();
    for (const Category &c : m_cats)
        m_categories->addItem(c.name);
    m_categories->blockSignals(false);
    onCounts(m_counts, 0);
    int row = -1;
    for (int i = 0; i < m_cats.size(); ++i)
        if (m_cats[i].id == current)
            row = i;
    if (row < 0 && current == 0) { // just opened: the category last worked in
        const qint64 last = QSettings().value(lastCategoryKey(m_path)).toLongLong();
        for (int i = 0; i < m_cats.size(); ++i)
            if (m_cats[i].id == last)
                row = i;
    }
    if (row < 0 && !m_cats.isEmpty())
        row = 0;
    if (row >= 0)
        m_categories->setCurrentRow(row);
    updateEmptyHint();
}

void MainWindow::selectCategory(const QString &name)
{
    for (int i = 0; i < m_cats.size(); ++i)
        if (m_cats[i].name == name)
            m_categories->setCurrentRow(i);
}

void MainWindow::onCounts(const LibraryCounts &counts, qint64)
{
    m_counts = counts;
    for (int i = 0; i < m_categories->count() && i < m_cats.size(); ++i) {
        for (const CategoryCounts &cc : counts.categories) {
            if (cc.category.id != m_cats[i].id)
                continue;
            int yes = 0, no = 0;
            for (const ClassCount &k : cc.perClass) {
                yes += k.yes;
                no += k.no;
            }
            const qint64 open = std::max<qint64>(0, counts.ok - cc.answeredOk);
            // A class set's answers name a class ("it is a B"); its rare
            // "not this class" answers are only worth a mention when there are some.
            const QString answers = cc.category.kind == CategoryKind::Binary
                                        ? tr("theme \u00b7 %1 yes \u00b7 %2 no").arg(yes).arg(no)
                                    : no == 0 ? tr("%1 classes \u00b7 %2 answered").arg(cc.category.classes.size()).arg(yes)
                                              : tr("%1 classes \u00b7 %2 answered\n%3 \u201cnot this class\u201d")
                                                    .arg(cc.category.classes.size())
                                                    .arg(yes)
                                                    .arg(no);
            m_categories->item(i)->setText(tr("%1\n%2\n%3 still to answer").arg(cc.category.name, answers).arg(open));
        }
    }
    updateStatus();
    updateEmptyHint();
}

void MainWindow::updateStatus()
{
    m_session->setText((m_controller->sessionAnswers() == 1 ? tr("%1 answer this session \u00b7 %2 per hour")
                                                            : tr("%1 answers this session \u00b7 %2 per hour"))
                           .arg(m_controller->sessionAnswers())
                           .arg(int(m_controller->answersPerHour() + 0.5)));
    if (!m_controller->hasCategory())
        m_model->clear();
    else if (!m_modelText.isEmpty())
        m_model->setText(m_modelText);
    else
        m_model->setText(tr("model: none yet (queues show unanswered images)"));
}

void MainWindow::updateEmptyHint()
{
    if (m_path.isEmpty())
        m_view->setEmptyHint(tr("Open or create a library"),
                             tr("A library is Magpie's catalogue of an archive: Library \u2192 New Library (Ctrl+N), "
                                "or Library \u2192 Open (Ctrl+O)."));
    else if (m_counts.images == 0)
        m_view->setEmptyHint(tr("Import a folder of images"),
                             tr("Library \u2192 Import Folder (Ctrl+I). JPEG, PNG, TIFF, WebP, BMP and GIF, in "
                                "folders as deep as you like; unreadable files are listed, never fatal."));
    else if (m_cats.isEmpty())
        m_view->setEmptyHint(tr("Create a category"),
                             tr("A theme (\u201cvery sad girls\u201d: yes or no) with Ctrl+T, or a class set (the letters "
                                "A\u2013Z) with Ctrl+Shift+T. Then answer: a theme with \u2192 yes and \u2190 no; in a class set \u2192 "
                                "takes the model's guess and a letter key names the letter (0: none)."));
    else
        m_view->setEmptyHint(tr("Pick a category on the left"), QString());
}

void MainWindow::chooseAndOpen()
{
    const QString p = QFileDialog::getOpenFileName(this, tr("Open Library"), QString(),
                                                   tr("Magpie libraries (*.magpie);;All files (*)"));
    if (!p.isEmpty())
        openLibrary(p);
}

void MainWindow::chooseAndCreate()
{
    // No "replace?" question: a library is never replaced (its answers would
    // go); Library::create refuses an existing file and says to open it instead.
    QString p = QFileDialog::getSaveFileName(this, tr("New Library"), QStringLiteral("archive.magpie"),
                                             tr("Magpie libraries (*.magpie)"), nullptr,
                                             QFileDialog::DontConfirmOverwrite);
    if (p.isEmpty())
        return;
    if (!p.endsWith(QStringLiteral(".magpie")))
        p += QStringLiteral(".magpie");
    openLibrary(p, true);
}

void MainWindow::chooseAndImport()
{
    if (m_path.isEmpty()) {
        chooseAndCreate();
        if (m_path.isEmpty())
            return;
    }
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Import Folder"));
    if (!dir.isEmpty())
        importFolder(dir);
}

void MainWindow::showCollections() { m_tabs->setCurrentIndex(1); }

ImageId MainWindow::focusedImage() const
{
    switch (m_tabs->currentIndex()) {
    case 1: return m_collections->selectedImage();
    case 2: return m_map->selectedImage();
    default: return m_controller->current().image.id;
    }
}

void MainWindow::showKeysHelp()
{
    const Keymap &km = m_view->keymap();
    QString html = tr("<h3>Answering</h3><table cellspacing=6>");
    for (Keymap::Action a : Keymap::actions())
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(km.describe(a).toHtmlEscaped(), Keymap::actionLabel(a).toHtmlEscaped());
    const auto keyOf = [](const QAction *a) { return a->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(); };
    html += tr("<tr><td><b>a letter, 0, 1\u20139</b></td><td>in a class set: that class, also where a key above is a letter "
               "(it answers its letter there); 0 the one class without a one-letter name (\u201cnone\u201d); "
               "where several classes have longer names, 1\u20139 in order, as the card\u2019s foot shows</td></tr>"
               "<tr><td><b>drag the card</b></td><td>left no, right yes</td></tr>"
               "<tr><td><b>click a decision below</b></td><td>change it</td></tr>");
    html += tr("<tr><td><b>%1</b></td><td>more like this: the image on screen (or the one selected in a collection or on the map) "
               "and the 35 most like it, as a collection</td></tr>"
               "<tr><td><b>%5</b></td><td>after Queue \u2192 Chain: Start Here on one image: a chain of 12 similar "
               "images that leads from there to this one, as a collection</td></tr>"
               "<tr><td><b>%2</b></td><td>retrain now</td></tr>"
               "<tr><td><b>%3, %4, %6</b></td><td>the Swipe tab, the Collections tab, the Map (similar pictures near each "
               "other: wheel zooms, drag moves, 0 fits, double click: more like this)</td></tr></table>")
                .arg(keyOf(m_likeAction), keyOf(m_retrainAction), keyOf(m_swipeTabAction), keyOf(m_collectionsTabAction),
                     QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M).toString(QKeySequence::NativeText).toHtmlEscaped(),
                     keyOf(m_mapTabAction));
    html += tr("<h3>Collections</h3><table cellspacing=6>"
               "<tr><td><b>click, arrows</b></td><td>select an image</td></tr>"
               "<tr><td><b>Delete</b></td><td>remove it from the collection</td></tr>"
               "<tr><td><b>drag, Ctrl+arrows</b></td><td>move it to another cell</td></tr>"
               "<tr><td><b>%1</b></td><td>undo the last removal or move</td></tr>"
               "<tr><td><b>right click</b></td><td>more like this, remove</td></tr></table>")
                .arg(QKeySequence(QKeySequence::Undo).toString(QKeySequence::NativeText).toHtmlEscaped());
    html += tr("<h3>Queues</h3><table cellspacing=6>"
               "<tr><td><b>harvest</b></td><td>what the model is surest is yes: fills a collection fast</td></tr>"
               "<tr><td><b>teach</b></td><td>what it is least sure of: each answer teaches it most</td></tr>"
               "<tr><td><b>audit</b></td><td>a random sample: how often its yes is right</td></tr>"
               "<tr><td><b>novel</b></td><td>images unlike anything answered or seen so far</td></tr>"
               "<tr><td><b>random</b></td><td>unanswered images in no order: what the archive holds, unbiased by the model</td></tr>");
#ifdef MAGPIE_HAVE_TRAINING
    QMap<training::Queue, int> share;
    const QList<training::Queue> pattern = training::mixPattern();
    for (training::Queue q : pattern)
        ++share[q];
    QStringList parts;
    for (training::Queue q : {training::Queue::Harvest, training::Queue::Teach, training::Queue::Novel,
                              training::Queue::Audit, training::Queue::Random})
        if (share.value(q))
            parts << tr("%1 %2").arg(share.value(q)).arg(training::queueName(q));
    html += tr("<tr><td><b>mix</b></td><td>of every %1: %2</td></tr>").arg(pattern.size()).arg(parts.join(QStringLiteral(", ")));
#endif
    html += tr("</table><p>Keys can be changed in Settings \u2192 Keys. Every answer is saved at once; "
               "the model retrains in the background.</p>");
    // A scrolling page, no taller than the screen leaves room for (a message
    // box grew past a 768-pixel screen, its Close button off the bottom).
    QDialog dlg(this);
    dlg.setWindowTitle(tr("Keys and queues"));
    auto *layout = new QVBoxLayout(&dlg);
    auto *page = new QTextBrowser;
    page->setHtml(html);
    page->setFrameShape(QFrame::NoFrame);
    layout->addWidget(page);
    auto *bb = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(bb, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    layout->addWidget(bb);
    page->document()->setTextWidth(640);
    const QRect screen = (windowHandle() && windowHandle()->screen()) ? windowHandle()->screen()->availableGeometry()
                                                                       : QRect(0, 0, 1024, 700);
    dlg.resize(680, std::min(int(page->document()->size().height()) + 90, screen.height() * 85 / 100));
    dlg.exec();
}

void MainWindow::showImportProblems()
{
    QString err;
    auto lib = m_path.isEmpty() ? nullptr : Library::open(m_path, Library::Mode::ReadOnly, &err);
    if (!lib)
        return statusBar()->showMessage(m_path.isEmpty() ? tr("No library is open.") : err, 6000);
    const auto issues = lib->importIssues(5000);
    lib.reset();
    QDialog dlg(this);
    dlg.setWindowTitle(tr("Import problems"));
    auto *layout = new QVBoxLayout(&dlg);
    layout->addWidget(new QLabel(issues.isEmpty() ? tr("No file was skipped by an import.")
                                                  : counted(issues.size(), tr("1 file skipped by imports, and why:"),
                                                            tr("%1 files skipped by imports, and why (newest first):"))));
    if (!issues.isEmpty()) {
        // the file's name and the reason (a long one is cut short: whole in
        // its tooltip); the whole path in a tooltip and in what Ctrl+C copies
        auto *list = new QTreeWidget;
        list->setColumnCount(2);
        list->setHeaderLabels({tr("File"), tr("Why it was skipped")});
        list->setRootIsDecorated(false);
        list->setSelectionMode(QAbstractItemView::ExtendedSelection);
        for (const auto &[path, reason] : issues) {
            auto *item = new QTreeWidgetItem({QFileInfo(path).fileName().isEmpty() ? path : QFileInfo(path).fileName(), reason});
            item->setToolTip(0, QDir::toNativeSeparators(path));
            item->setToolTip(1, reason);
            item->setData(0, Qt::UserRole, QDir::toNativeSeparators(path));
            list->addTopLevelItem(item);
        }
        list->header()->setStretchLastSection(true);
        list->setColumnWidth(0, 240);
        list->setMinimumSize(820, 380);
        auto *copy = new QAction(tr("Copy"), list);
        copy->setShortcut(QKeySequence::Copy);
        copy->setShortcutContext(Qt::WidgetShortcut);
        connect(copy, &QAction::triggered, list, [list] {
            QStringList lines;
            for (QTreeWidgetItem *it : list->selectedItems())
                lines << QStringLiteral("%1\t%2").arg(it->data(0, Qt::UserRole).toString(), it->text(1));
            QGuiApplication::clipboard()->setText(lines.join(QLatin1Char('\n')));
        });
        list->addAction(copy);
        list->setContextMenuPolicy(Qt::ActionsContextMenu);
        layout->addWidget(list);
        layout->addWidget(new QLabel(tr("Hover a file for its whole path; Ctrl+C copies the selected rows.")));
    }
    auto *bb = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(bb, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    layout->addWidget(bb);
    dlg.exec();
}

bool MainWindow::isBusy() const { return m_importWatcher.isRunning(); }

void MainWindow::importFolder(const QString &folder, std::function<void()> then)
{
    runImport(folder, std::move(then), std::nullopt);
}

void MainWindow::runImport(const QString &folder, std::function<void()> then, const std::optional<Category> &labels)
{
    if (isBusy()) {
        statusBar()->showMessage(tr("An import is already running."), 4000);
        return;
    }
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false);
    m_progress->setVisible(true);
    m_progress->setRange(0, 0);
    m_cancel->setVisible(true);
    m_job->setText(tr("importing %1\u2026").arg(QFileInfo(folder).fileName()));
    QPointer<MainWindow> self(this);
    const QString path = m_path;
    auto cancel = m_cancelFlag;
    auto report = std::make_shared<ImportReport>();
    auto labelReport = std::make_shared<LabelImportReport>();
    const ImportOptions options; // its pixel limit: Settings > Largest Image (defaultMaxPixels)
    QFuture<void> f = QtConcurrent::run([self, path, folder, cancel, report, labelReport, labels, options] {
        QString err;
        auto lib = Library::open(path, Library::Mode::ReadWrite, &err); // this thread's own connection
        if (!lib) {
            report->error = err;
            return;
        }
        const auto progress = [self](const ImportProgress &p) {
            // values only cross to the UI thread
            QMetaObject::invokeMethod(qApp, [self, p] {
                if (!self)
                    return;
                self->m_progress->setRange(0, int(std::max<qint64>(1, p.total)));
                self->m_progress->setValue(int(p.done));
                self->m_job->setText(p.phase == u"listing"
                                         ? tr("listing files\u2026")
                                         : tr("importing: %1 / %2 \u00b7 %3 img/s%4")
                                               .arg(p.done)
                                               .arg(p.total)
                                               .arg(int(p.perSecond))
                                               .arg(p.etaSeconds >= 0 ? tr(" \u00b7 %1 s left").arg(int(p.etaSeconds + 0.5)) : QString()));
            }, Qt::QueuedConnection);
        };
        if (labels) {
            *labelReport = labelio::importFolders(*lib, *labels, folder, true, options, progress, cancel.get());
            *report = labelReport->import;
            if (report->error.isEmpty())
                report->error = labelReport->error;
        } else {
            *report = magpie::importFolder(*lib, folder, options, progress, cancel.get());
        }
    });
    disconnect(&m_importWatcher, nullptr, this, nullptr);
    connect(&m_importWatcher, &QFutureWatcher<void>::finished, this, [this, report, labelReport, labels, folder, then] {
        m_progress->setVisible(false);
        m_cancel->setVisible(false);
        m_job->clear();
        const ImportReport &r = *report;
        if (!r.error.isEmpty()) {
            QMessageBox::warning(this, tr("Import failed"), r.error);
        } else if (r.listed == 0 && !r.cancelled) {
            // an empty folder, or one of other files: say what was looked for, not "0 new"
            QMessageBox::information(this, tr("No images found"),
                                     tr("No image files in %1 or its subfolders.\n\nMagpie imports %2 files.")
                                         .arg(QDir::toNativeSeparators(folder),
                                              imageExtensions().join(QStringLiteral(", ."))
                                                  .prepend(QLatin1Char('.'))));
        } else {
            QString msg = tr("Imported %1: %2 new, %3 unchanged, %4 moved, %5 duplicates, %6 unreadable%7")
                              .arg(QFileInfo(folder).fileName())
                              .arg(r.added).arg(r.unchanged).arg(r.moved).arg(r.duplicates).arg(r.unreadable)
                              .arg(r.cancelled ? tr(" (cancelled; what was imported is kept)") : QString());
            statusBar()->showMessage(msg, 15000);
            if (r.unreadable > 0) {
                // where to read them all comes first: the status bar cuts long lines off
                statusBar()->showMessage(msg + tr(" \u2014 which and why: Library \u2192 Import Problems"), 30000);
            }
        }
        reloadCategories(); // the list counts the new answers before the report names them
        if (labels && r.error.isEmpty())
            showAnswersImported(*labels, *labelReport);
        const bool labelledShown = labels && m_controller->category().id == labels->id;
        if (labelledShown && !labelReport->createdClasses.isEmpty())
            for (const Category &c : m_cats) // the card's keys learn the new classes
                if (c.id == labels->id)
                    m_controller->setCategory(c);
        m_controller->refill(); // new images join the queue; the card on screen stays
        if (r.added > 0)
            m_map->refresh(); // colour and tone now; again when the new images are embedded
        if (labelledShown && labelReport->answers > 0)
            trainNow(*labels);
        if (then)
            then();
#ifdef MAGPIE_HAVE_TRAINING
        // Embed what is new once no import follows: when `then` starts another
        // one (the sample's two folders, then its categories), embedding waits
        // for it, so its bar counts every image and backbone from the start
        // instead of falling back when more images or a category's own
        // backbone join half-way.
        if (m_trainer && !isBusy())
            m_trainer->requestEmbed();
#endif
    });
    m_importWatcher.setFuture(f);
}

void MainWindow::newCategory(bool classSet)
{
    if (m_path.isEmpty()) {
        QMessageBox::information(this, tr("No library"), tr("Open or create a library first."));
        return;
    }
    bool ok = false;
    QString name;
    for (;;) { // a name already taken asks again, with what was typed
        name = QInputDialog::getText(this, classSet ? tr("New Class Set") : tr("New Theme"),
                                     classSet ? tr("Name (e.g. Initials):") : tr("Theme (e.g. very sad girls):"),
                                     QLineEdit::Normal, name, &ok).trimmed();
        if (!ok || name.isEmpty())
            return;
        const bool taken = std::any_of(m_cats.begin(), m_cats.end(),
                                       [&](const Category &c) { return c.name == name; });
        if (!taken)
            break;
        QMessageBox::information(this, tr("Name taken"),
                                 tr("There is a category \u201c%1\u201d already: choose another name.").arg(name));
    }
    QStringList classes;
    if (classSet) {
        const QStringList letters = letterClasses();
        // wide enough to show the default A,...,Z,none whole
        QInputDialog ask(this);
        ask.setWindowTitle(tr("Classes of \u201c%1\u201d").arg(name));
        ask.setLabelText(tr("Classes, separated by commas (the letters and \u201cnone\u201d suit decorative "
                            "initials; or e.g. rock, fossil, hand):"));
        ask.setTextValue(letters.join(QLatin1Char(',')));
        ask.setMinimumWidth(std::max(560, ask.fontMetrics().horizontalAdvance(ask.textValue()) + 80));
        if (ask.exec() != QDialog::Accepted)
            return;
        for (const QString &c : ask.textValue().split(QLatin1Char(','), Qt::SkipEmptyParts))
            if (!c.trimmed().isEmpty())
                classes << c.trimmed();
    }
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib) {
        QMessageBox::warning(this, tr("Cannot create the category"), err);
        return;
    }
    auto cat = lib->createCategory(name, classSet ? CategoryKind::ClassSet : CategoryKind::Binary, classes);
    if (!cat) {
        QMessageBox::warning(this, tr("Cannot create the category"), lib->lastError());
        return;
    }
#ifdef MAGPIE_HAVE_TRAINING
    const QString own = training::Curator::adoptSuggestedBackbone(*lib, *cat);
#endif
    lib.reset();
    reloadCategories();
    selectCategory(cat->name);
#ifdef MAGPIE_HAVE_TRAINING
    if (!own.isEmpty()) {
        statusBar()->showMessage(tr("\u201c%1\u201d uses the %2 backbone, whose prior head proposes letters from the first "
                                    "card; embedding the archive with it in the background (Model \u203a Backbone changes it).")
                                     .arg(cat->name, own),
                                 10000);
        if (m_trainer)
            m_trainer->requestEmbed();
    }
#endif
}

void MainWindow::renameCategory()
{
    if (!categoryShown())
        return;
    const Category cat = m_controller->category();
    QString name = cat.name;
    for (;;) { // a name already taken asks again, with what was typed
        bool ok = false;
        name = QInputDialog::getText(this, tr("Rename Category"), tr("New name for \u201c%1\u201d:").arg(cat.name),
                                     QLineEdit::Normal, name, &ok).trimmed();
        if (!ok || name.isEmpty() || name == cat.name)
            return;
        QString err;
        auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
        if (!lib)
            return (void)QMessageBox::warning(this, tr("Cannot rename the category"), err);
        if (lib->renameCategory(cat.id, name))
            break;
        QMessageBox::information(this, tr("Cannot rename the category"), lib->lastError());
    }
    m_controller->setCategoryName(name);
    reloadCategories();
    selectCategory(name);
    statusBar()->showMessage(tr("Renamed \u201c%1\u201d to \u201c%2\u201d; its answers and models stay.").arg(cat.name, name), 6000);
}

bool MainWindow::categoryShown()
{
    if (!m_controller->hasCategory())
        statusBar()->showMessage(tr("Pick a category on the left first."), 5000);
    return m_controller->hasCategory();
}

void MainWindow::deleteCategory()
{
    if (!categoryShown())
        return;
    const Category cat = m_controller->category();
    m_controller->flushAnswers(); // the answers just given are saved with the rest
    QString err;
    qsizetype answers = 0, models = 0;
    {
        auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
        if (!lib)
            return (void)QMessageBox::warning(this, tr("Cannot delete the category"), err);
        answers = lib->answers(cat.id).size();
        models = lib->modelVersions(cat.id).size();
    }
    const QString what = models == 0 ? counted(answers, tr("1 answer"), tr("%1 answers"))
                                     : tr("%1 and %2").arg(counted(answers, tr("1 answer"), tr("%1 answers")),
                                                           counted(models, tr("1 model version"), tr("%1 model versions")));
    QMessageBox box(QMessageBox::Warning, tr("Delete Category"), tr("Delete \u201c%1\u201d?").arg(cat.name),
                    QMessageBox::Cancel, this);
    box.setInformativeText(answers == 0 ? tr("It has no answers yet. The images stay in the library.")
                                        : tr("Deleting it removes %1; the images stay in the library. The answers are "
                                             "saved to a CSV in the library's cache folder first: Category \u203a "
                                             "Import Answers reads them back.")
                                              .arg(what));
    QPushButton *del = box.addButton(tr("Delete"), QMessageBox::DestructiveRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    if (box.clickedButton() != del)
        return;
#ifdef MAGPIE_HAVE_TRAINING
    if (m_trainer && m_training) // its model would have no category to go to
        m_trainer->cancel();
#endif
    m_controller->flushAnswers(); // an answer given before the question came up
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib)
        return (void)QMessageBox::warning(this, tr("Cannot delete the category"), err);
    QString saved;
    if (!labelio::removeCategorySavingAnswers(*lib, cat, &saved, &err))
        return (void)QMessageBox::warning(this, tr("Cannot delete the category"), err);
    lib.reset();
    m_controller->forgetCategory(cat.id);
    reloadCategories();
    statusBar()->showMessage(tr("Deleted \u201c%1\u201d.").arg(cat.name), 10000);
    if (!saved.isEmpty()) // where the answers are is worth more than a status line that goes
        QMessageBox::information(this, tr("Category Deleted"),
                                 tr("\u201c%1\u201d is deleted. Its %2 saved in\n%3\nand its decision log beside it "
                                    "(.jsonl). Category \u203a Import Answers reads the CSV back into a category.")
                                     .arg(cat.name,
                                          answers == 1 ? tr("answer is") : tr("%1 answers are").arg(answers),
                                          QDir::toNativeSeparators(saved)));
}

void MainWindow::importAnswers()
{
    if (!categoryShown())
        return;
    const Category cat = m_controller->category();
    QSettings settings;
    // where the answers of deleted categories wait, until the person has picked a folder of their own
    const QString deleted = m_path + QStringLiteral("-cache/deleted");
    const QString file = QFileDialog::getOpenFileName(
        this, tr("Import Answers into \u201c%1\u201d").arg(cat.name),
        settings.value(QStringLiteral("answersDir"), QFileInfo(deleted).isDir() ? deleted : QDir::homePath()).toString(),
        tr("CSV of file,label rows (*.csv *.txt);;All files (*)"));
    if (file.isEmpty())
        return;
    settings.setValue(QStringLiteral("answersDir"), QFileInfo(file).absolutePath());
    importAnswersFromCsv(file);
}

void MainWindow::importAnswersFromCsv(const QString &file)
{
    if (!categoryShown())
        return;
    const Category cat = m_controller->category();
    // a CSV for a million-image archive takes a while: off the UI thread, on its own connection
    auto rep = std::make_shared<LabelImportReport>();
    auto *watcher = new QFutureWatcher<void>(this);
    m_job->setText(tr("importing answers from %1\u2026").arg(QFileInfo(file).fileName()));
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    connect(watcher, &QFutureWatcher<void>::finished, this, [this, watcher, rep, cat] {
        watcher->deleteLater();
        if (!isBusy()) { // an import owns the bar while it runs
            m_progress->setVisible(false);
            m_job->clear();
        }
        if (rep->answers > 0) {
            m_controller->refill(); // answered images leave the queue
            reloadCategories();     // counted in the list before the report names them
            trainNow(cat);          // a no-op without the training engine
        }
        showAnswersImported(cat, *rep);
    });
    watcher->setFuture(QtConcurrent::run([path = m_path, cat, file, rep] {
        QString err;
        auto lib = Library::open(path, Library::Mode::ReadWrite, &err);
        if (!lib) {
            rep->error = err;
            return;
        }
        *rep = labelio::importCsv(*lib, cat, file, false);
    }));
}

void MainWindow::importAnswerFolders()
{
    if (!categoryShown())
        return;
    const Category cat = m_controller->category();
    const QString dir = QFileDialog::getExistingDirectory(
        this,
        cat.kind == CategoryKind::Binary
            ? tr("A folder with yes/ and no/ in it, for \u201c%1\u201d").arg(cat.name)
            : tr("A folder with one folder per class (A/, B/, \u2026), for \u201c%1\u201d").arg(cat.name),
        QSettings().value(QStringLiteral("answersDir"), QDir::homePath()).toString());
    if (dir.isEmpty())
        return;
    QSettings().setValue(QStringLiteral("answersDir"), dir);
    importAnswersFromFolders(dir);
}

void MainWindow::importAnswersFromFolders(const QString &folder)
{
    if (!categoryShown())
        return;
    runImport(folder, {}, m_controller->category());
}

void MainWindow::showAnswersImported(const Category &cat, const LabelImportReport &rep)
{
    QStringList lines;
    lines << tr("%1 recorded in \u201c%2\u201d.").arg(counted(rep.answers, tr("1 answer"), tr("%1 answers")), cat.name);
    if (!rep.createdClasses.isEmpty())
        lines << tr("New classes: %1").arg(rep.createdClasses.join(QStringLiteral(", ")));
    if (rep.unmatched)
        lines << counted(rep.unmatched, tr("1 row names no image in this library (import its folder first)."),
                         tr("%1 rows name no image in this library (import their folder first)."));
    if (rep.invalid)
        lines << counted(rep.invalid, tr("1 row has a label that is not one of this category's."),
                         tr("%1 rows have a label that is not one of this category's."));
    if (rep.malformed)
        lines << counted(rep.malformed, tr("1 line is not a file,label row."), tr("%1 lines are not file,label rows."));
    QMessageBox box(rep.error.isEmpty() && rep.issues.isEmpty() ? QMessageBox::Information : QMessageBox::Warning,
                    tr("Import Answers"), rep.error.isEmpty() ? lines.join(QLatin1Char('\n')) : rep.error,
                    QMessageBox::Ok, this);
    if (!rep.issues.isEmpty()) {
        QStringList details;
        for (const auto &[what, why] : rep.issues)
            details << QStringLiteral("%1: %2").arg(what, why);
        box.setDetailedText(details.join(QLatin1Char('\n')));
    }
    box.exec();
}

void MainWindow::exportAnswers()
{
    if (!categoryShown())
        return;
    const Category cat = m_controller->category();
    m_controller->flushAnswers();
    QSettings settings;
    const QString csvFilter = tr("CSV, every answer (*.csv)");
    const QString jsonlFilter = tr("JSON Lines, every decision and undo (*.jsonl)");
    QString filter = csvFilter;
    QString file = QFileDialog::getSaveFileName(
        this, tr("Export the Answers of \u201c%1\u201d").arg(cat.name),
        settings.value(QStringLiteral("answersDir"), QDir::homePath()).toString() + QLatin1Char('/')
            + labelio::safeFileName(cat.name) + QStringLiteral(".csv"),
        csvFilter + QStringLiteral(";;") + jsonlFilter, &filter);
    if (file.isEmpty())
        return;
    settings.setValue(QStringLiteral("answersDir"), QFileInfo(file).absolutePath());
    const bool jsonl = filter == jsonlFilter || file.endsWith(QLatin1String(".jsonl"), Qt::CaseInsensitive);
    if (jsonl && file.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive)) // the default name, another format chosen
        file = file.left(file.size() - 4) + QStringLiteral(".jsonl");
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadOnly, &err);
    if (!lib)
        return (void)QMessageBox::warning(this, tr("Cannot export answers"), err);
    const ExportReport rep = jsonl ? labelio::exportJsonl(*lib, file, cat.id) : labelio::exportCsv(*lib, cat, file, true);
    if (!rep.error.isEmpty())
        return (void)QMessageBox::warning(this, tr("Cannot export answers"), rep.error);
    statusBar()->showMessage(tr("Wrote %1 to %2").arg(counted(rep.written, tr("1 row"), tr("%1 rows")), QDir::toNativeSeparators(file)), 10000);
}

void MainWindow::createDefaultSampleCategories()
{
    QString err;
    auto lib = Library::open(m_path, Library::Mode::ReadWrite, &err);
    if (!lib)
        return;
    const QStringList letters = letterClasses();
    if (!lib->category(QStringLiteral("portraits")))
        lib->createCategory(QStringLiteral("portraits"), CategoryKind::Binary);
    if (!lib->category(QStringLiteral("Initials"))) {
        const auto initials = lib->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet, letters);
#ifdef MAGPIE_HAVE_TRAINING
        if (initials)
            training::Curator::adoptSuggestedBackbone(*lib, *initials);
#endif
    }
    lib.reset();
    reloadCategories();
    selectCategory(QStringLiteral("portraits"));
}

void MainWindow::importSample(const QString &sampleDir, std::function<void()> then)
{
    importFolder(sampleDir + QStringLiteral("/initials"), [this, sampleDir, then] {
        importFolder(sampleDir + QStringLiteral("/themes"), [this, then] {
            createDefaultSampleCategories();
            if (then)
                then();
        });
    });
}

void MainWindow::addRecent(const QString &path)
{
    QSettings s;
    QStringList recent = s.value(QStringLiteral("recent")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    s.setValue(QStringLiteral("recent"), recent.mid(0, 10));
}

namespace {
// Esc in a key field closes the Keys dialog instead of becoming a key.
class EscapeRejects : public QObject
{
public:
    explicit EscapeRejects(QDialog *dialog) : QObject(dialog), m_dialog(dialog) {}
    bool eventFilter(QObject *watched, QEvent *e) override
    {
        if (e->type() == QEvent::KeyPress) {
            const auto *k = static_cast<QKeyEvent *>(e);
            if (k->key() == Qt::Key_Escape && k->modifiers() == Qt::NoModifier) {
                m_dialog->reject();
                return true;
            }
        }
        return QObject::eventFilter(watched, e);
    }

private:
    QDialog *m_dialog;
};
} // namespace

void MainWindow::editKeys()
{
    QDialog dlg(this);
    dlg.setWindowTitle(tr("Keys"));
    auto *form = new QFormLayout(&dlg);
    Keymap km = m_view->keymap();
    QHash<Keymap::Action, QKeySequenceEdit *> edits;
    auto *escape = new EscapeRejects(&dlg);
    form->addRow(new QLabel(tr("Click a key and press the new one. Esc closes without changes.")));
    for (Keymap::Action a : Keymap::actions()) {
        auto *e = new QKeySequenceEdit(km.keys.value(a).value(0), &dlg);
        e->installEventFilter(escape);
        // one key per action: a second key pressed while it waits is dropped
        connect(e, &QKeySequenceEdit::keySequenceChanged, e, [e](const QKeySequence &k) {
            if (k.count() > 1)
                e->setKeySequence(QKeySequence(k[0]));
        });
        edits.insert(a, e);
        auto *row = new QHBoxLayout;
        row->addWidget(e, 1);
        QStringList also;
        for (const QKeySequence &k : km.keys.value(a).mid(1))
            also << k.toString(QKeySequence::NativeText);
        if (!also.isEmpty())
            row->addWidget(new QLabel(tr("also %1").arg(also.join(QStringLiteral(", ")))));
        form->addRow(Keymap::actionLabel(a), row);
    }
    auto *bb = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults);
    form->addRow(bb);
    // the keys each action would have: the edited first key, then its other keys
    const auto proposed = [&](Keymap::Action a) {
        QList<QKeySequence> list = km.keys.value(a);
        const QKeySequence first = edits[a]->keySequence();
        if (!first.isEmpty()) {
            if (list.isEmpty())
                list << first;
            else
                list[0] = first;
        }
        return list;
    };
    connect(bb, &QDialogButtonBox::accepted, &dlg, [&] {
        // one key, one action: a clash would do the other action (or both) without a word
        QHash<QKeySequence, QString> owner;
        QStringList clashes, letters;
        for (Keymap::Action a : Keymap::actions()) {
            const QString label = Keymap::actionLabel(a);
            for (const QKeySequence &k : proposed(a)) {
                if (owner.contains(k) && owner.value(k) != label)
                    clashes << tr("%1 is set for both \u201c%2\u201d and \u201c%3\u201d.")
                                   .arg(k.toString(QKeySequence::NativeText), owner.value(k), label);
                owner.insert(k, label);
            }
            const QKeySequence first = edits[a]->keySequence();
            if (first.count() == 1 && first[0].keyboardModifiers() == Qt::NoModifier && first != km.keys.value(a).value(0)
                && ((first[0].key() >= Qt::Key_A && first[0].key() <= Qt::Key_Z)
                    || (first[0].key() >= Qt::Key_0 && first[0].key() <= Qt::Key_9)))
                letters << tr("%1 (%2)").arg(first.toString(QKeySequence::NativeText), label);
        }
        if (!clashes.isEmpty()) {
            QMessageBox::warning(&dlg, tr("Keys clash"), clashes.join(QLatin1Char('\n'))
                                                             + tr("\nChoose another key for one of them."));
            return;
        }
        if (!letters.isEmpty()
            && QMessageBox::question(&dlg, tr("Letter keys"),
                                     tr("In a class set, a letter or digit key answers that class, so %1 will answer "
                                        "a class there and do this only in themes. Keep it?")
                                         .arg(letters.join(QStringLiteral(", ")))) != QMessageBox::Yes)
            return;
        dlg.accept();
    });
    connect(bb, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    connect(bb->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, &dlg, [&] {
        const Keymap d = Keymap::defaults();
        for (Keymap::Action a : Keymap::actions())
            edits[a]->setKeySequence(d.keys.value(a).value(0));
    });
    if (dlg.exec() != QDialog::Accepted)
        return;
    Keymap chosen = km;
    for (Keymap::Action a : Keymap::actions())
        chosen.keys[a] = proposed(a);
    km = chosen;
    m_view->setKeymap(km);
    QSettings s;
    km.save(s);
}

void MainWindow::closeEvent(QCloseEvent *e)
{
    if (m_cancelFlag)
        m_cancelFlag->store(true);
    m_collections->cancelExport();
    m_importWatcher.waitForFinished();
    m_controller->shutdown(); // every answer given is committed before the window goes
#ifdef MAGPIE_HAVE_TRAINING
    delete m_trainer; // cancels the running job, stops its thread and waits
    m_trainer = nullptr;
#endif
    e->accept();
}

} // namespace magpie
