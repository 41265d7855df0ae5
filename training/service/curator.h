#pragma once

#include "core/types.h"

#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <functional>
#include <memory>

namespace magpie {
class Library;

namespace training {

// The candidate queues of a category (see issue 3):
enum class Queue {
    Harvest, // most likely yes, not yet answered
    Teach,   // most uncertain (binary: p near 0.5; class set: smallest top-2 margin)
    Audit,   // a random sample of predicted positives, to estimate precision
    Novel,   // farthest (cosine) from every answered image
    Mix,     // harvest / teach / novel / audit interleaved 5:3:1:1
    Random,  // uniformly random unanswered images (a baseline for benchmarks)
};
std::optional<Queue> parseQueue(const QString &name);
// The order in which the mix queue takes from the others, repeated (5 harvest, 3 teach, 1 novel, 1 audit in 10).
QList<Queue> mixPattern();
QString queueName(Queue q);

struct Suggestion
{
    ImageId imageId = 0;
    QString path;
    float score = 0;       // P(yes) or P(proposed class); 0 without a model
    bool scored = false;   // a model, or before any training the backbone's prior head, scored it
    ClassId classId = 0;   // proposed class in a class set; 0 in a binary theme
    QString className;
    // In a class set, the likeliest classes other than className, likeliest
    // first: at most kRunnersUp, each at least kRunnerUpMin likely.
    QVector<QPair<QString, float>> runnersUp;
    static constexpr int kRunnersUp = 2;
    static constexpr float kRunnerUpMin = 0.05f;
    Queue queue = Queue::Harvest;
};

struct EmbedReport
{
    // Summed over the backbones embedded with (the library's, then each that a
    // category uses on its own: Curator::categoryBackbone), in that order.
    // total, cached, embedded and remaining count embeddings (an image per
    // backbone); failed counts images.
    QStringList backbones;
    qint64 images = 0;     // Ok images in the library
    qint64 total = 0;      // Ok images in the library, times the backbones
    qint64 cached = 0;     // already embedded before this run
    qint64 embedded = 0;   // embedded in this run
    qint64 libraryEmbedded = 0; // of them with the library's backbone (the one maps and "more like this" read)
    qint64 failed = 0;     // images that could not be decoded
    qint64 remaining = 0;  // left for a later run (embed() was given maxImages)
    double seconds = 0;
    double decodeSeconds = 0;
    double networkSeconds = 0;
    bool cancelled = false;
};

struct TrainOptions
{
    bool deep = false;        // fine-tune blocks 9-10 + a new layer, re-embed, then a fast head
    int epochs = 6;           // deep only
    int tuneFromBlock = 9;    // deep only: blocks tuneFromBlock..10 are trained, lower ones stay frozen
    double timeBoxSeconds = 300; // deep only: stop after the epoch that crosses it
    int newBlocks = 0;        // deep only: new inverted-residual blocks added on top (identity at start)
    int hidden = 0;           // 0: logistic head; > 0: MLP with that many hidden units
    bool validate = true;     // k-fold validation into metrics_json
    int steps = 100;
    float l2 = 1e-2f;
    float lr = 0.03f;
    // Weight of the backbone's prior head (if it ships one and knows every class
    // of the class set) in the blended fast head; 0 = answers only. Negative
    // (the default): automatic, the prior counts as much as kPriorAnswers
    // answers per class: weight = kPriorAnswers / (kPriorAnswers + yes-answers per class).
    double priorWeight = -1;
    static constexpr double kPriorAnswers = 20;
    // Binary themes: a random sample of the images nobody answered (up to
    // kUnlabeledSample) joins the head as weak "no" examples weighing this much
    // in all, relative to the answers; 0 (the default) = answers only. Most of
    // an archive is outside any one theme, and the sample shows the head kinds
    // of image its few "no" answers missed, but it also pushes down the theme's
    // own unanswered images: it pays only with a strong L2 penalty (themes, 20 +
    // 20 seeds, 3 draws: animal precision@100 0.58 -> 0.67 with l2 1 and weight
    // 0.1; worse at the default l2 0.01; docs/training.md). Opt-in for that reason.
    double unlabeledWeight = 0;
    static constexpr int kUnlabeledSample = 2000;
    // Deep passes: told when a stage with its own progress begins ("training",
    // "embedding the answered images", "embedding the archive"), so that a
    // progress bar that starts again can say why. Called on the training thread.
    std::function<void(const QString &)> onStage;
};

struct TrainReport
{
    qint64 modelVersion = 0;
    qint64 categoryId = 0;    // the category the model is for
    int examples = 0;         // answers used
    int missingEmbeddings = 0;// answered images not embedded yet (run embed)
    int unreadableAnswers = 0;// answered images that are unreadable or gone: left out for good
    double trainSeconds = 0;
    QString metricsJson;
    // A fast head was asked for with nothing changed since the newest model
    // (the same answers, embeddings, options and backbone): that version is
    // kept and returned instead of an identical new one.
    bool unchanged = false;
};

struct EvalReport
{
    int evaluated = 0;
    int skippedAnswered = 0;  // ground-truth images answered in the category (not evaluated)
    int unknown = 0;          // files not in the library / not embedded / unknown label
    double accuracy = 0;      // top-1 (class set) or at p >= 0.5 (binary)
    double baseline = 0;      // the accuracy of always naming the commonest true class
    QString baselineClass;    // that class
    int yesTrue = 0, yesCalled = 0, yesRight = 0; // binary: true yes, called yes, both
    QVector<QPair<QString, double>> perClassAccuracy;
};

using ProgressFn = std::function<void(qint64 done, qint64 total)>;

// The training side of Magpie for one library and one backbone: embeddings
// (cached in the library's cache folder), fast heads, scores, queues and
// similarity. Torch-free header; uses Magpie::Training inside.
//
// Thread contract: a Curator belongs to the thread that made it, with the
// Library it was given (which must outlive it). Long jobs take a progress
// callback (called on that thread) and a cancel flag that any thread may set.
// Errors come back as false / empty results with lastError() set.
class Curator
{
public:
    // `backbone`: a file (.mbb / .pt) or a name from backboneNames(). Empty:
    // $MAGPIE_BACKBONE, else the library's choice (setLibraryBackbone), else
    // the general default.
    explicit Curator(Library &library, const QString &backbone = {});
    ~Curator();

    // $MAGPIE_BACKBONE, else the converted nsfwjs MobileNetV2 next to the
    // executable (../share/magpie/backbones), in the build tree, or in
    // ~/.cache/magpie/backbones; empty when none exists.
    static QString defaultBackbonePath();
    // The backbones Magpie ships, by name: "general" (the default above) and
    // "letters" (the same network with blocks 7-10 fine-tuned on synthetic
    // decorative initials, see docs/training.md).
    static QStringList backboneNames();
    // A name from backboneNames() or a file path -> the file; empty when the
    // named file is not installed (or the file does not exist).
    static QString resolveBackbone(const QString &nameOrPath);
    // The backbone a library uses when none is given: stored in the library
    // ("general" when never set). Changing it starts a new embedding cache
    // (the old one stays on disk); models trained on the other backbone are
    // not used with it, so a category needs a retrain after the switch.
    static QString libraryBackbone(const Library &library);
    static bool setLibraryBackbone(Library &library, const QString &name, QString *error);
    // The backbone a category trains and scores on: its own (set below; a
    // letters class set gets "letters" when it is made, so that the letters
    // backbone's prior head proposes from the first card in any library),
    // else the library's. `own` says which. A Curator made for the library
    // (no backbone given) hands a category with its own backbone to a second
    // Curator on that backbone, and embed() embeds the archive with both.
    static QString categoryBackbone(const Library &library, CategoryId category, bool *own = nullptr);
    // `name` empty or "library": the category follows the library again.
    static bool setCategoryBackbone(Library &library, CategoryId category, const QString &name, QString *error);
    // The backbone a new category is best made on: "letters" for a class set
    // whose classes the letters backbone's prior head knows (A-Z + none) when
    // that backbone is installed, else empty (the library's).
    static QString suggestedBackbone(CategoryKind kind, const QStringList &classes);
    // Gives a new category the suggested backbone when it is not the
    // library's; returns the name given, or empty.
    static QString adoptSuggestedBackbone(Library &library, const Category &category);
    // Writes a backbone (name or .mbb path) as a TorchScript module with the
    // user-backbone contract (a `.pt` gives the same features as the .mbb).
    static bool exportTorchScript(const QString &nameOrPath, const QString &outFile, QString *error);
    QString backbonePath() const;

    QString lastError() const;
    QString backboneVersion(); // loads the backbone if needed; empty on error

    // How many backbones embed() embeds with: the library's and those categories use on their own.
    int embeddingBackbones();
    // Embeds every Ok image that is not cached yet (thumbnail when present,
    // else the file), in batches; incremental and resumable. Unless this
    // Curator was given a backbone, the backbones that categories use on their
    // own are embedded with too, after the library's. Answered images
    // go first (training needs them). `maxImages` > 0 stops after that many
    // (report->remaining says how many are left), so that a caller can let
    // other work run between parts of a long archive; progress counts over
    // the whole library (cached images included). The similarity index is
    // brought up to date when nothing remains.
    bool embed(EmbedReport *report, const ProgressFn &progress = {}, const std::atomic<bool> *cancel = nullptr,
               int batchSize = 32, qint64 maxImages = 0);

    // `cancel` (any thread) stops a deep pass between batches and its re-embedding;
    // the previous model stays current and lastError() says "cancelled".
    // `progress` (deep only) reports the fine-tuning batches, then the re-embedding.
    bool train(const Category &category, const TrainOptions &options, TrainReport *report,
               const std::atomic<bool> *cancel = nullptr, const ProgressFn &progress = {});
    // Probabilities of the current model for every embedded image (image id ->
    // P(yes) or per-class vector). Falls back to older model versions when the
    // newest checkpoint is corrupt (lastError() says so).
    bool scores(const Category &category, QVector<ImageId> *ids, QVector<float> *probs, int *classes,
                qint64 *modelVersion);
    QVector<Suggestion> suggest(const Category &category, Queue queue, int n, ClassId onlyClass = 0,
                                quint64 seed = 1);
    // The current model's guess for these images, as suggest() gives it (queue
    // Harvest; a class set's guess leaves out the classes an image was told it
    // is not; images without an embedding, or told it is none of the classes,
    // are left out). Empty without a model.
    QVector<Suggestion> scoreImages(const Category &category, const QVector<ImageId> &images);
    // "More like this": nearest images by cosine of embeddings (the image
    // itself excluded), through core's SimilarityIndex (exact below 50,000
    // embedded images, an approximate FAISS index beyond; embed() keeps the
    // index up to date on a background thread, and rows it does not cover yet
    // are searched exactly).
    QVector<QPair<ImageId, float>> similar(ImageId image, int n);
    // A chain of similar images that leads from `from` to `to` through
    // `between` images (at most 64; fewer when the library has fewer): among the nearest
    // images of points spread along the line between the two embeddings, the
    // path whose weakest link is strongest, then the one with the closest
    // steps, cut or filled to length. Each entry carries its cosine to the
    // previous one (1 for `from`). Empty with lastError() when either has no
    // embedding.
    QVector<QPair<ImageId, float>> chain(ImageId from, ImageId to, int between);
    // Waits for the similarity index update that embed() started (the CLI
    // does, so that the index is saved before it exits); false with
    // lastError() when it failed. Rows the index covers (0: none/exact).
    bool waitForSimilarityIndex(const std::atomic<bool> *cancel = nullptr);
    qint64 similarityIndexedRows();
    // Ground truth: (image, class id or 1/0 for binary yes/no).
    bool evaluate(const Category &category, const QVector<QPair<ImageId, ClassId>> &truth, EvalReport *report);

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace training
} // namespace magpie
