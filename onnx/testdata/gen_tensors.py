# Generates testdata/tensors: one TensorProto per dtype and storage form, written by the onnx Python package
# (1.12), and expected.json with NumPy's little-endian bytes for each. Run with /usr/bin/python3 from onnx/.
import json, os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = os.path.join(os.path.dirname(__file__), "tensors")
os.makedirs(out, exist_ok=True)

cases = {
    "float": (TensorProto.FLOAT, np.array([[0.0, -1.5, 3.25e-3], [np.inf, -np.inf, np.nan]], np.float32)),
    "double": (TensorProto.DOUBLE, np.array([1e300, -2.5, 5e-324, np.nan], np.float64)),
    "float16": (TensorProto.FLOAT16, np.array([1.0, -2.0, 65504.0, 6e-8, np.inf], np.float16)),
    "int8": (TensorProto.INT8, np.array([-128, -1, 0, 127], np.int8)),
    "uint8": (TensorProto.UINT8, np.array([0, 1, 200, 255], np.uint8)),
    "int16": (TensorProto.INT16, np.array([-32768, -1, 32767], np.int16)),
    "uint16": (TensorProto.UINT16, np.array([0, 40000, 65535], np.uint16)),
    "int32": (TensorProto.INT32, np.array([[-(2**31), 7], [2**31 - 1, -7]], np.int32)),
    "int64": (TensorProto.INT64, np.array([-(2**63), 2**63 - 1, 0], np.int64)),
    "uint32": (TensorProto.UINT32, np.array([0, 2**32 - 1, 12345], np.uint32)),
    "uint64": (TensorProto.UINT64, np.array([0, 2**64 - 1], np.uint64)),
    "bool": (TensorProto.BOOL, np.array([True, False, True], np.bool_)),
    "complex64": (TensorProto.COMPLEX64, np.array([1 + 2j, -3.5 - 0.25j], np.complex64)),
    "complex128": (TensorProto.COMPLEX128, np.array([1e-300 + 2j, -3 - 4j], np.complex128)),
    "scalar": (TensorProto.FLOAT, np.array(2.5, np.float32)),
    "empty": (TensorProto.INT64, np.zeros((2, 0), np.int64)),
}

expected = {}
for name, (dt, arr) in cases.items():
    raw = numpy_helper.from_array(arr, name + "_raw")
    if dt in (TensorProto.COMPLEX64, TensorProto.COMPLEX128):
        vals = arr.flatten()
    else:
        vals = arr.flatten().tolist()
    typed = helper.make_tensor(name + "_typed", dt, arr.shape, vals, raw=False)
    for form, tp in (("raw", raw), ("typed", typed)):
        with open(os.path.join(out, f"{name}_{form}.pb"), "wb") as f:
            f.write(tp.SerializeToString())
        expected[f"{name}_{form}"] = {"dtype": dt, "dims": list(arr.shape), "hex": arr.tobytes().hex()}

# bfloat16: NumPy has none, so onnx 1.12 keeps the bit patterns in int32_data (typed) or raw_data.
bits = np.array([0x3F80, 0xC000, 0x7F80, 0x0001], np.uint16)
# make_tensor rounds float values to bfloat16 itself; these floats are exactly representable.
floats = (bits.astype(np.uint32) << 16).view(np.float32)
typed = helper.make_tensor("bf16_typed", TensorProto.BFLOAT16, [4], floats.tolist(), raw=False)
raw = helper.make_tensor("bf16_raw", TensorProto.BFLOAT16, [4], bits.tobytes(), raw=True)
for form, tp in (("raw", raw), ("typed", typed)):
    with open(os.path.join(out, f"bfloat16_{form}.pb"), "wb") as f:
        f.write(tp.SerializeToString())
    expected[f"bfloat16_{form}"] = {"dtype": TensorProto.BFLOAT16, "dims": [4], "hex": bits.tobytes().hex()}

strs = np.array([b"hello", b"", "\u00fcnicode".encode()], dtype=object)
tp = numpy_helper.from_array(strs, "strings")
with open(os.path.join(out, "string_typed.pb"), "wb") as f:
    f.write(tp.SerializeToString())
expected["string_typed"] = {"dtype": TensorProto.STRING, "dims": [3], "strings": [s.decode() for s in strs]}

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(len(expected), "tensors")
