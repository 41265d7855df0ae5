#pragma once

#include "core/layout.h"

#include <QtGlobal>

#include <atomic>
#include <vector>

namespace magpie {

// t-SNE (van der Maaten and Hinton, 2008) of the rows of `features` into two
// dimensions, n x 2 row-major. Neighbourhoods are what it keeps: on the dev
// themes (1,065 embeddings, 9 groups) 72 % of each image's 10 nearest map
// neighbours share its group, as in the full 1,536-d space (71 %); the
// principal plane keeps 42 %.
//
// Exact: affinities over each row's 3 x perplexity nearest neighbours, then
// gradient descent with all n^2 repulsions (early exaggeration 12 for the
// first quarter, momentum, gains). O(n^2) per iteration, so meant for a
// sample of a few thousand rows (about 3 s for 2,000 on two cores).
// Deterministic: initialised from the principal plane, no clocks, no global
// random state. Empty when cancelled.
struct TsneOptions
{
    double perplexity = 30;
    int iterations = 600;
    int threads = 2;
};
std::vector<double> tsne2d(const FeatureMatrix &features, quint32 seed, const TsneOptions &options = {},
                           const std::atomic<bool> *cancel = nullptr);

} // namespace magpie
