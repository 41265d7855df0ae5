#pragma once

#include "core/types.h"
#include "ui/libraryworker.h"

#include <QFutureWatcher>
#include <QMainWindow>

#include <atomic>
#include <memory>
#include <optional>

class QLabel;
class QTabWidget;
class QListWidget;
class QProgressBar;
class QPushButton;

namespace magpie {

class CollectionPanel;
class HistoryStrip;
namespace training {
class TrainingWorker;
struct Suggestion;
} // namespace training
class SwipeController;
class SwipeView;
struct ImportReport;
struct LabelImportReport;

// Magpie's main window: categories on the left, the swipe view in the
// middle, the history strip below, and a status bar with the session's pace
// and any background job (with its progress bar and a Cancel button).
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Opens (or, with create, makes) a library; the previous one is closed.
    bool openLibrary(const QString &path, bool create = false);
    // The library's backbone (general / letters): stored in the library, then re-embeds.
    void setBackbone(const QString &name);
    void setCategoryBackbone(CategoryId category, const QString &name); // empty: follow the library's
    // Imports a folder in the background with progress; `then` runs after.
    void importFolder(const QString &folder, std::function<void()> then = {});
    // Imports `folder` and records its class folders (folder/<class>/..., or
    // yes/ and no/) as answers of the category shown, in the background.
    void importAnswersFromFolders(const QString &folder);
    // Records the answers of a CSV (labelio::importCsv) for the category shown, in the background.
    void importAnswersFromCsv(const QString &file);
    void selectCategory(const QString &name);
    // The bundled sample's categories: the theme "portraits" and the class set "Initials".
    void createDefaultSampleCategories();
    // A new sample library: imports `sampleDir`'s initials/ and themes/, makes
    // the default categories, then runs `then`; one embedding of both folders
    // with every backbone follows.
    void importSample(const QString &sampleDir, std::function<void()> then = {});

    SwipeController *controller() const { return m_controller; }
    SwipeView *swipeView() const { return m_view; }
    CollectionPanel *collectionPanel() const { return m_collections; }
    bool isBusy() const;
    void showCollections();

protected:
    void closeEvent(QCloseEvent *e) override;

private:
    void buildUi();
    void buildMenus();
    void chooseAndOpen();
    void chooseAndCreate();
    void chooseAndImport();
    void newCategory(bool classSet);
    void renameCategory(); // the category shown, asked for its new name
    bool categoryShown();  // is one shown? (else the status bar asks to pick one)
    void deleteCategory(); // the category shown, after asking; its answers are saved to a CSV first
    void importAnswers();  // Category > Import Answers: a CSV of file,label (and value) rows
    void importAnswerFolders(); // Category > Import Answers from Class Folders: folder/<class>/... or yes/ no/
    void showAnswersImported(const Category &category, const LabelImportReport &report);
    // An import of `folder` in the background; with `labels`, its class
    // folders also answer for that category (labelio::importFolders).
    void runImport(const QString &folder, std::function<void()> then, const std::optional<Category> &labels);
    void exportAnswers();  // Category > Export Answers: CSV (every answer) or JSON Lines (every decision)
    void reloadCategories();
    void onCounts(const LibraryCounts &counts, qint64 decisions);
    void updateStatus();
    void updateEmptyHint();
    void addRecent(const QString &path);
    void editKeys();
    void showImportProblems(); // Library > Import Problems: every file an import skipped, and why
    void showKeysHelp();       // Help > Keys and Queues (F1)

    SwipeController *m_controller = nullptr;
    SwipeView *m_view = nullptr;
    HistoryStrip *m_history = nullptr;
    CollectionPanel *m_collections = nullptr;
    QTabWidget *m_tabs = nullptr;
    ImageId m_chainStart = 0; // Queue > Chain: Start Here
    QAction *m_swipeTabAction = nullptr;
    QAction *m_collectionsTabAction = nullptr;
    QAction *m_mapTabAction = nullptr;
    class MapView *m_map = nullptr;
    // The image the person points at: the card (Swipe), the selected one (Collections, Map).
    ImageId focusedImage() const;
    QListWidget *m_categories = nullptr;
    QLabel *m_session = nullptr;
    QLabel *m_model = nullptr;
    QLabel *m_job = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_cancel = nullptr;
    QMenu *m_recentMenu = nullptr;
    QString m_path;
    QVector<Category> m_cats;
    LibraryCounts m_counts;
    qint64 m_unansweredBase = 0;

    void setUpTraining();
    void trainNow(const Category &category); // embed what is missing, then a fast head, in the background
    void startTraining(); // for the library just opened
    // A new collection named `title` (made unique) holding `ids`; `what` says
    // in the status bar where they came from.
    // Saves `ids` as a new collection; `show`: open it in the Collections tab.
    // `ranked`: ids are a ranking (more like this), shown in that order rather than similar together.
    void makeCollection(const QString &title, const QVector<ImageId> &ids, const QString &what, bool show = false,
                        bool ranked = false);
    QVector<Proposal> toProposals(const QVector<training::Suggestion> &list) const;
    void onModelReady(qint64 version, const QString &metricsJson);
    // "model v3 · 91% validated (5-fold, 60 answers)" for the status bar.
    static QString modelSummary(qint64 version, const QString &metricsJson);

    // training (null without the training engine or its backbone)
    training::TrainingWorker *m_trainer = nullptr;
    int m_pendingFetch = 0; // a queue request waiting for the model's suggestions
    int m_answersSinceTrain = 0;
    bool m_training = false;
    bool m_deepRunning = false; // a deep pass asked for and not yet finished, failed or cancelled
    bool m_hasModel = false; // the current category has a trained model version
    QString m_modelText;
    QAction *m_likeAction = nullptr;    // More Like This: its shortcut is quoted in the help
    QAction *m_retrainAction = nullptr; // Retrain Now: likewise

    std::shared_ptr<std::atomic<bool>> m_cancelFlag;
    QFutureWatcher<void> m_importWatcher;
};

} // namespace magpie
