"""Writes resize_ref.json: the reference for serve.Preprocess's resizing.

Run with /usr/bin/python3 (torch 1.13, torchvision 0.14) from serve/testdata. A small random RGB image is
resized with torch.nn.functional.interpolate(mode="bilinear", align_corners=False), the semantics hone's
/predict claims, and with torchvision's Resize(shorter side) + CenterCrop on tensors (antialias off), the
ImageNet recipe. Outputs are float32 in CHW order, values 0-255 (no normalisation).
"""
import json

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

rng = np.random.default_rng(7)
H, W = 7, 10
img = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
x = torch.tensor(img, dtype=torch.float32).permute(2, 0, 1)

cases = []
for dh, dw in [(13, 17), (3, 4), (7, 10), (5, 23), (1, 1)]:
    y = F.interpolate(x[None], size=(dh, dw), mode="bilinear", align_corners=False)[0]
    cases.append({"name": f"interpolate {dh}x{dw}", "height": dh, "width": dw, "resize_shorter": 0,
                  "want": [round(v, 4) for v in y.flatten().tolist()]})
# Shorter side 9 → 9×12, crop 4×5: (12-5)/2 = 3.5 and (9-4)/2 = 2.5 exercise CenterCrop's rounding
# (Python's round, half to even).
for short, ch, cw in [(9, 4, 5), (5, 5, 5), (12, 8, 6)]:
    r = TF.resize(x, short, interpolation=TF.InterpolationMode.BILINEAR, antialias=False)
    y = TF.center_crop(r, [ch, cw])
    cases.append({"name": f"resize {short} crop {ch}x{cw}", "height": ch, "width": cw, "resize_shorter": short,
                  "want": [round(v, 4) for v in y.flatten().tolist()]})

with open("resize_ref.json", "w") as f:
    json.dump({"height": H, "width": W, "rgb": img.flatten().tolist(), "cases": cases}, f)
