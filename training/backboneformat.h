#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace magpie::training {

// One convolution of a converted backbone, in PyTorch layout, with the
// BatchNormalization that follows it (not folded: the loader folds it).
struct ConvOp
{
    std::string name;     // the Keras layer name, e.g. "block_3_depthwise"
    int inChannels = 0;
    int outChannels = 0;
    int kernel = 1;       // square kernels only
    int stride = 1;
    int groups = 1;       // == inChannels for a depthwise convolution
    int padTop = 0, padBottom = 0, padLeft = 0, padRight = 0; // zero padding before it
    bool relu6 = false;   // followed by ReLU(max 6)
    int addFrom = -1;     // >= 0: add the output of op `addFrom` after this op (residual)
    std::vector<float> weight; // OIHW: out x (in/groups) x k x k
    std::vector<float> bias;   // empty or out
    // BatchNormalization after the convolution (empty gamma when none).
    std::vector<float> gamma, beta, mean, var;
    float epsilon = 1e-3f;
};

// A converted convolutional backbone: a chain of ConvOps on an RGB input of
// inputSize x inputSize scaled by `inputScale` (x * inputScale + inputShift),
// whose last map is average-pooled on a poolGrid x poolGrid grid.
struct BackboneSpec
{
    std::string name;        // neutral name, e.g. "mnv2-b10"
    std::string provenance;  // free text, shown in "about" and the NOTICE
    int inputSize = 224;
    float inputScale = 1.0f / 255.0f;
    float inputShift = 0.0f;
    int poolGrid = 4;
    std::vector<ConvOp> ops;
};

// File format ("MAGPIE-BACKBONE", version 1), little endian:
//   8 bytes magic "MGPBBN01", then a sequence of length-prefixed fields
//   written by writeBackbone(), then an 8-byte FNV-1a 64 checksum of all
//   bytes before it. A file whose checksum does not match is rejected.
bool writeBackbone(const BackboneSpec &spec, const std::string &path, std::string *error);
bool readBackbone(const std::string &path, BackboneSpec *spec, std::string *error);

// FNV-1a 64 of a byte range (used for checksums of weights and heads).
std::uint64_t fnv1a64(const void *data, std::size_t size, std::uint64_t seed = 1469598103934665603ULL);

} // namespace magpie::training
