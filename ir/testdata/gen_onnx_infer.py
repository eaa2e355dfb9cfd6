# Regenerates ir/testdata/onnx_infer_*.json: ONNX's own shape inference (onnx.shape_inference.infer_shapes,
# onnx 1.12) on the OCR models, as the reference for ir.InferShapes. Run with /usr/bin/python3 from the repo root:
#   /usr/bin/python3 ir/testdata/gen_onnx_infer.py .cache/assets/ocr
import json, os, sys
import onnx
from onnx import shape_inference

src = sys.argv[1]
# The "_static" variants fix the input shape first, so ONNX derives every dim (Conv/pool/Resize arithmetic).
STATIC = {"ch_PP-OCRv4_det_infer": [1, 3, 64, 96], "ch_PP-OCRv4_rec_infer": [1, 3, 48, 160],
          "ch_ppocr_mobile_v2.0_cls_infer": [1, 3, 48, 192]}
for name, static in [(n, False) for n in STATIC] + [(n, True) for n in STATIC]:
    m = onnx.load(os.path.join(src, name + ".onnx"))
    if static:
        for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, STATIC[name]):
            d.dim_value = v
    m = shape_inference.infer_shapes(m)
    out = {}
    for vi in list(m.graph.value_info) + list(m.graph.output):
        tt = vi.type.tensor_type
        shape = None
        if tt.HasField("shape"):
            shape = []
            for d in tt.shape.dim:
                if d.HasField("dim_value"):
                    shape.append(d.dim_value)
                elif d.HasField("dim_param"):
                    shape.append(d.dim_param)
                else:
                    shape.append(None)
        out[vi.name] = {"dtype": tt.elem_type, "shape": shape}
    with open(os.path.join(os.path.dirname(__file__), "onnx_infer_" + name + ("_static" if static else "") + ".json"), "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
    print(name, len(out))
