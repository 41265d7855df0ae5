#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace magpie::training {

// One training example for a head: row `row` of the feature matrix is (or,
// when !positive, is known not to be) class `cls`. A binary theme is a
// two-class head: class 1 = yes, class 0 = no.
struct Example
{
    int row = 0;
    int cls = 0;
    bool positive = true;
    // Not an answer: an image of the library nobody answered, taken as a weak
    // example of class `cls` (a binary theme's "no": most images of an archive
    // are not in a theme). It weighs HeadConfig::unlabeledWeight instead of 1,
    // stays out of the class balancing, and is never held out by crossValidate().
    bool unlabeled = false;
};

class Head;

struct HeadConfig
{
    int numClasses = 2;
    int hidden = 0;            // 0: logistic (softmax) head; > 0: one hidden ReLU layer
    int steps = 100;           // full-batch Adam steps
    float lr = 0.03f;
    float l2 = 1e-2f;          // L2 penalty: this times the sum of squared weights
    std::uint64_t seed = 1;
    std::vector<float> mean;   // feature standardisation; computed from the rows when empty
    std::vector<float> stddev;
    // A prior: a logistic head trained elsewhere on the same features (e.g. the
    // letters backbone's head, trained on tens of thousands of synthetic
    // initials). When set, a logistic head trained on the answers is blended with
    // it: logits = (1 - priorWeight) * answers' + priorWeight * prior's (a product
    // of the two heads' probabilities). Class c of this head is row
    // priorClassRows[c] of the prior. Ignored for an MLP head.
    const Head *prior = nullptr;
    std::vector<int> priorClassRows;
    float priorWeight = 0.5f;
    // Weight of each Example::unlabeled (an answer weighs about 1).
    float unlabeledWeight = 0.0f;
};

struct HeadMetrics
{
    std::string method;           // e.g. "5-fold" or "none (too few examples)"
    int examples = 0;             // positive examples evaluated
    double accuracy = -1;         // top-1 accuracy over positive examples; -1 when not measured
    std::vector<double> precision, recall; // per class, -1 when undefined
    std::vector<int> support;     // positives per class
    // How much the held-out predictions' logits must be divided by for their
    // probabilities to be honest (the temperature minimising their log loss,
    // searched from 1 to 64: never sharper than trained). A head trained on a
    // few answers that separate perfectly says "100 %" of everything; softened
    // by this, it says how sure it can be. 1 when not measured.
    double temperature = 1;
    double trainSeconds = 0;
};

// A small classifier on frozen embeddings. Training is deterministic for a
// seed. Thread contract: a Head is immutable once trained (train(), then
// soften()) or loaded; score*() may be called from any one thread at a time.
class Head
{
public:
    ~Head();
    // `x`: n x dim floats (only rows referenced by examples are used).
    static std::unique_ptr<Head> train(const float *x, int n, int dim, const std::vector<Example> &examples,
                                       const HeadConfig &config, std::string *error);
    // k-fold cross-validation over the positive examples (negatives always train).
    // Needs at least 6 of them in at least two classes.
    static HeadMetrics crossValidate(const float *x, int n, int dim, const std::vector<Example> &examples,
                                     const HeadConfig &config, int folds = 5);
    // Divides the logits by `temperature` (HeadMetrics::temperature): the same
    // top class and the same order of images for a theme, less extreme
    // probabilities. Before the head is shared or saved.
    void soften(double temperature);

    // The logistic head `prior` restricted to (and ordered by) its rows `rows`:
    // a model before any answer. Null when prior is not logistic or a row is out of range.
    static std::unique_ptr<Head> fromPrior(const Head &prior, const std::vector<int> &rows);

    // Versioned file with a checksum; load() rejects a corrupt or truncated file.
    bool save(const std::string &path, std::string *error) const;
    static std::unique_ptr<Head> load(const std::string &path, std::string *error);

    int numClasses() const;
    int dim() const;
    bool isLogistic() const;
    bool blendedWithPrior() const; // trained with HeadConfig::prior and it applied
    // Class probabilities (n x numClasses) for float or IEEE-half rows.
    void scoreFloat(const float *rows, std::int64_t n, float *probs) const;
    void scoreHalf(const std::uint16_t *rows, std::int64_t n, float *probs) const;

private:
    Head();
    struct Impl;
    std::unique_ptr<Impl> d;
};

// For every row, the largest cosine to any of the m float vectors in `set`
// (m x dim). Used by the "novel" queue.
std::vector<float> maxCosineToSet(const std::uint16_t *rows, std::int64_t n, int dim, const float *set, int m);

} // namespace magpie::training
