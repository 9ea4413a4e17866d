"""The exceptions of ONNX export (as torch.onnx's): importable without the `onnx` package.

`UnsupportedOperatorError` names the graph op that has no ONNX form and the user's
file:line that created it; the exporter never writes a model that computes something else.
"""

from __future__ import annotations


class OnnxExporterError(RuntimeError):
    """An ONNX export failed (as torch.onnx.OnnxExporterError)."""


class UnsupportedOperatorError(OnnxExporterError):
    """A graph op with no ONNX rendering (or none for these attributes or dtypes)."""
