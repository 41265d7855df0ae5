#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace magpie::training {

struct FineTuneConfig
{
    int numClasses = 2;
    int epochs = 6;
    double timeBoxSeconds = 120;  // stops after the epoch that crosses it
    bool horizontalFlip = false;  // never for letters
    int newChannels = 128;        // the new 1x1 layer on top of the cut
    int firstBlock = 9;           // blocks firstBlock..10 are tuned (MobileNetV2 numbering); below stay frozen
    int newBlocks = 0;            // new inverted-residual blocks (from scratch, identity at start) on top of the cut
    int newBlockExpansion = 4;    // their expansion factor
    float lr = 1e-4f;            // Adam, pretrained blocks; new layers use 10x
    int batchSize = 32;
    std::uint64_t seed = 1;
    // Called after every batch on the training thread: images seen so far and
    // epochs x images (the time box may end it earlier).
    std::function<void(std::int64_t done, std::int64_t total)> progress;
};

struct FineTuneReport
{
    int epochs = 0;
    double seconds = 0;
    double lastEpochLoss = 0;
    double trainAccuracy = 0;     // on augmented batches of the last epoch
    bool timedOut = false;
    bool cancelled = false;
};

// Deep mode: fine-tunes blocks 9-10 (config.firstBlock-10) of a converted backbone (BatchNorm folded
// into the convolutions) plus a new linear 1x1 convolution on top of the cut
// and a temporary linear classifier, on augmented copies of the answered
// images (random crop/scale, rotation up to 8 degrees, contrast, brightness,
// paper tint; flips only when allowed). The layers below block 9 stay frozen.
// Writes the result as a new backbone file (the classifier is dropped: the
// caller re-embeds and trains a fast head on the new features). CPU or CUDA.
// `images`: n x S x S x 3 uint8 (S = the backbone's input size).
bool fineTune(const std::string &backbonePath, const std::uint8_t *images, int n, const std::vector<int> &labels,
              const FineTuneConfig &config, const std::string &outPath, FineTuneReport *report, std::string *error,
              const std::atomic<bool> *cancel = nullptr);

} // namespace magpie::training
