#pragma once

#include <QString>

namespace magpie::training {

// Converts the MobileNetV2 of the npm package nsfwjs@4.3.0 (TensorFlow.js
// layers format: topology in model.min.js, uint8-quantised weights as base64
// in group1-shard*.min.js) into a Magpie backbone file (.mbb), keeping only
// the layers up to and including `block_10_project_BN` (ImageNet weights; the
// later layers of that package were fine-tuned for another task and are never
// read). `packageDir` is the unpacked package ("…/package"). Keras layouts are
// converted to PyTorch: HWIO -> OIHW, depthwise (kh,kw,C,1) -> (C,1,kh,kw),
// ZeroPadding2D and 'same' padding as explicit pads. Returns false and sets
// *error on any inconsistency.
bool importNsfwjsMobileNetV2(const QString &packageDir, const QString &outPath, QString *error);

} // namespace magpie::training
