#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace magpie::training {

struct BackboneInfo
{
    std::string name;      // e.g. "mnv2-b10" or "script:<file name>"
    std::string version;   // content hash of the weights; names the embedding cache
    int inputSize = 224;   // images are given as inputSize x inputSize RGB
    int featureDim = 0;    // length of one embedding
};

// A frozen feature extractor: a converted Magpie backbone file (.mbb, see
// backboneformat.h) or a user's TorchScript module (.pt) that maps
// N x 3 x H x W float RGB in [0,1] to N x D features.
//
// Thread contract: embed() is const and may be called from one thread at a
// time per object (LibTorch parallelises inside). Errors come back as values.
class Backbone
{
public:
    ~Backbone();
    // Loads `path` (.mbb or .pt). `inputSize` applies to TorchScript only.
    static std::unique_ptr<Backbone> load(const std::string &path, std::string *error, int inputSize = 224);

    const BackboneInfo &info() const;
    // `rgb`: n images, each inputSize x inputSize x 3 uint8 (row-major, HWC).
    // `out`: n * featureDim floats. Returns false (and sets *error) on failure.
    bool embed(const std::uint8_t *rgb, int n, float *out, std::string *error) const;
    // Writes this (.mbb) backbone as a TorchScript module that follows the
    // user-backbone contract (N x 3 x H x W float RGB in [0,1] -> N x D, the
    // same features as embed()), for use in other tools or as a `.pt` here.
    // False (and *error) for a TorchScript backbone or when writing fails.
    bool exportTorchScript(const std::string &path, std::string *error) const;
    // The raw last feature map for n images (N x C x H x W floats), for tests.
    bool featureMap(const std::uint8_t *rgb, int n, std::vector<float> *out, std::vector<std::int64_t> *shape,
                    std::string *error) const;

private:
    Backbone();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace magpie::training
