# Generates conv_torch.json: Conv2D reference outputs from PyTorch (torch.nn.functional.conv2d) for
# kernels/conv_torch_test.go. Run with /usr/bin/python3 (torch 1.13); hone itself never runs Python.
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = [
    # name, N, C, H, W, M, KH, KW, stride(h,w), dil(h,w), pads(top,left,bottom,right), group
    ("dense3x3", 1, 8, 9, 10, 12, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1), 1),
    ("dense3x3_s2_asym", 1, 5, 11, 9, 7, 3, 3, (2, 2), (1, 1), (0, 1, 1, 0), 1),
    ("pointwise", 1, 16, 7, 7, 24, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ("grouped_dil2", 1, 8, 10, 10, 6, 3, 3, (1, 1), (2, 2), (2, 2, 2, 2), 2),
    ("dw3x3_s1", 1, 16, 14, 14, 16, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1), 16),
    ("dw3x3_s2_asym", 1, 24, 15, 16, 24, 3, 3, (2, 2), (1, 1), (0, 0, 1, 1), 24),
    ("dw5x5_s2", 1, 16, 13, 13, 16, 5, 5, (2, 2), (1, 1), (2, 2, 2, 2), 16),
    ("dw5x5_s1_7x7", 1, 40, 7, 7, 40, 5, 5, (1, 1), (1, 1), (2, 2, 2, 2), 40),
]
def f32(t):
    # 9 significant digits round-trip float32 exactly.
    return [float("%.9g" % v) for v in t.flatten().tolist()]


out = []
for name, n, c, h, w, m, kh, kw, s, d, p, g in cases:
    x = torch.randn(n, c, h, w)
    wt = torch.randn(m, c // g, kh, kw) * 0.3
    b = torch.randn(m)
    # ONNX pads may be asymmetric: pad explicitly (left, right, top, bottom), then convolve unpadded.
    xp = F.pad(x, (p[1], p[3], p[0], p[2]))
    y = F.conv2d(xp, wt, b, stride=s, dilation=d, groups=g)
    out.append({
        "name": name, "N": n, "C": c, "H": h, "W": w, "M": m, "KH": kh, "KW": kw,
        "StrideH": s[0], "StrideW": s[1], "DilH": d[0], "DilW": d[1],
        "PadTop": p[0], "PadLeft": p[1], "PadBottom": p[2], "PadRight": p[3], "Group": g,
        "OH": y.shape[2], "OW": y.shape[3],
        "input": f32(x), "weight": f32(wt), "bias": f32(b), "output": f32(y),
    })
with open("conv_torch.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
