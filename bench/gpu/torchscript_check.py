#!/usr/bin/env python3
"""TorchScript backbones between PyTorch and Magpie's engine, both ways.

  export MODEL OUT.pt [--weights DEFAULT|none] [--images IMGS.bin --ref REF.bin]
      The recipe of docs/training.md ("Bringing your own backbone"): a
      torchvision classifier without its last layer, ImageNet normalisation
      inside, N x 3 x H x W float RGB in [0,1] -> N x D. With --images, also
      writes that module's features of those images (raw float32) to REF.bin.
      --weights none (or no reachable download) gives seeded random weights:
      enough to check that the file loads and computes the same features.
  run FILE.pt IMGS.bin OUT.bin
      Loads FILE.pt with torch.jit.load and writes its features of IMGS.bin.
  compare A.bin B.bin
      Largest absolute difference of two raw float32 files.

IMGS.bin is what `bench_training device --images-out` writes: 16 images of
S x S x 3 uint8 (HWC), S = 224.
"""
import sys

import numpy as np

N, S = 16, 224


def load_images(path):
    a = np.fromfile(path, np.uint8)
    assert a.size == N * S * S * 3, f"{path}: expected {N * S * S * 3} bytes, got {a.size}"
    return a.reshape(N, S, S, 3)


def to_input(imgs):
    import torch
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div(255.0).contiguous()


def export(model, out, weights, images, ref):
    import torch
    import torchvision

    torch.manual_seed(0)
    ctor = getattr(torchvision.models, model)
    try:
        net = ctor(weights=None if weights == "none" else weights)
    except Exception as e:  # no network: random weights still test the format
        print(f"weights {weights} not available ({type(e).__name__}); using seeded random weights")
        net = ctor(weights=None)
    net.eval()

    class Features(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.body = torch.nn.Sequential(*list(net.children())[:-1])  # drop the classifier
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

        def forward(self, x):
            return self.body((x - self.mean) / self.std).flatten(1)

    f = Features(net).eval()
    with torch.no_grad():
        torch.jit.trace(f, torch.rand(1, 3, S, S)).save(out)
        if images:
            y = torch.jit.load(out)(to_input(load_images(images)))
            y.numpy().astype(np.float32).tofile(ref)
            print(f"{out}: {model}, {y.shape[1]} features; reference features in {ref}")


def run(pt, images, out):
    import torch
    m = torch.jit.load(pt, map_location="cpu").eval()
    with torch.no_grad():
        y = m(to_input(load_images(images)))
    y.numpy().astype(np.float32).tofile(out)
    print(f"{pt}: loaded by PyTorch {torch.__version__}, {y.shape[1]} features")


def compare(a, b):
    x, y = np.fromfile(a, np.float32), np.fromfile(b, np.float32)
    if x.size != y.size:
        print(f'{{"compare":"{a} vs {b}","error":"sizes differ: {x.size} vs {y.size}"}}')
        return 1
    print('{"compare":"%s vs %s","max_abs_diff":%.3g,"max_abs_feature":%.3g}' % (a, b, np.abs(x - y).max(), np.abs(y).max()))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "export":
        opts = dict(zip(argv[3::2], argv[4::2]))
        export(argv[1], argv[2], opts.get("--weights", "DEFAULT"), opts.get("--images"), opts.get("--ref"))
        return 0
    if len(argv) == 4 and argv[0] == "run":
        run(*argv[1:])
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(*argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
