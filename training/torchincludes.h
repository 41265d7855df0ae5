#pragma once
// The one place that decides which LibTorch headers the engine sees. Narrow
// includes instead of <torch/torch.h> (see docs/style.md: each torch TU costs
// 10-15 CPU-seconds). Only training/*.cpp include this file.
#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/pooling.h>
#include <torch/optim/adam.h>
#include <torch/types.h>
#include <torch/utils.h>
