# Writes testdata/external: a model whose initializers the onnx Python package (1.12) stored as external data
# in one file, the layout Load must read. Run with /usr/bin/python3 from onnx/.
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = os.path.join(os.path.dirname(__file__), "external")
os.makedirs(out, exist_ok=True)
w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4) / 8, "w")
b = numpy_helper.from_array(np.array([-1, 2, -3, 4], np.int64), "b")
node = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
cast = helper.make_node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT, name="cast")
add = helper.make_node("Add", ["y", "bf"], ["z"], name="add")
g = helper.make_graph([node, cast, add], "ext", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                      [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 4])], [w, b])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
onnx.save_model(m, os.path.join(out, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                location="weights.bin", size_threshold=0)
onnx.checker.check_model(os.path.join(out, "model.onnx"))
print(onnx.load(os.path.join(out, "model.onnx"), load_external_data=False).graph.initializer)
