"""Export the seed notes' LeNet to ONNX, run it with ONNX Runtime, and draw the exported graph.

Run: python3 examples/onnx_export.py   (needs `pip install -e ".[onnx]"`; Graphviz's `dot`
for the picture, written to docs/onnx_lenet.png)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

import graphtorch as gt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenet import Net  # noqa: E402  (the seed notes' LeNet)


def to_dot(model: onnx.ModelProto) -> str:
    """Graphviz DOT of an ONNX graph: one box per node (op type, node name, the user's
    source line from its doc_string), edges labelled with the tensors' shapes, parameters
    listed in the node that reads them."""
    shapes = {}
    for info in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        dims = [d.dim_param or str(d.dim_value) for d in info.type.tensor_type.shape.dim]
        shapes[info.name] = "[" + ", ".join(dims) + "]"
    params = {t.name for t in model.graph.initializer}
    producer = {o: f"n{i}" for i, n in enumerate(model.graph.node) for o in n.output}
    lines = ["digraph onnx {", '  graph [rankdir=TB, nodesep=0.2, ranksep=0.25];',
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname=Helvetica,'
             ' fontsize=10];', '  edge [fontname=Helvetica, fontsize=8, color="#667788"];']
    for i, node in enumerate(model.graph.node):
        source = os.path.basename(node.doc_string.split(" in ")[0]) if node.doc_string else ""
        weights = [p for p in node.input if p in params and not p.startswith("const")]
        label = f"<b>{node.op_type}</b><br/>{node.name}"
        if weights:
            label += "<br/><i>" + ", ".join(weights) + "</i>"
        if source:
            label += f'<br/><font color="#996633">{source}</font>'
        lines.append(f"  n{i} [label=<{label}>];")
    for info in model.graph.input:
        lines.append(f'  "{info.name}" [shape=ellipse, fillcolor="#fdf1d8", '
                     f'label="{info.name}\\n{shapes[info.name]}"];')
        producer[info.name] = f'"{info.name}"'
    for i, node in enumerate(model.graph.node):
        for name in node.input:
            if name in producer:
                lines.append(f'  {producer[name]} -> n{i} [label="{shapes.get(name, "")}"];')
    for info in model.graph.output:
        lines.append(f'  "out:{info.name}" [shape=ellipse, fillcolor="#fdf1d8", '
                     f'label="{info.name}\\n{shapes[info.name]}"];')
        lines.append(f'  {producer[info.name]} -> "out:{info.name}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(path: str = "lenet.onnx", picture: str | None = None) -> float:
    gt.manual_seed(0)
    net = Net()
    gt.onnx.export(net, (gt.randn(2, 1, 32, 32),), path, input_names=["image"],
                   output_names=["logits"],
                   dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    print("initializers:", [t.name for t in model.graph.initializer])
    print("first node:", model.graph.node[0].name, "from", model.graph.node[0].doc_string)

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch in (1, 8):  # one model, any batch size
        x = gt.randn(batch, 1, 32, 32)
        (logits,) = session.run(None, {"image": x.numpy()})
        with gt.no_grad():
            worst = max(worst, float(np.abs(logits - net(x).numpy()).max()))
    print(f"ONNX Runtime vs graphtorch eager, batch 1 and 8: max |difference| = {worst:.2e}")

    if picture and shutil.which("dot"):
        png = subprocess.run(["dot", "-Tpng", "-Gdpi=60"], input=to_dot(model).encode(),
                             capture_output=True, check=True).stdout
        with open(picture, "wb") as f:
            f.write(png)
        print("wrote", picture)
    return worst


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(picture=os.path.join(here, "..", "docs", "onnx_lenet.png"))
