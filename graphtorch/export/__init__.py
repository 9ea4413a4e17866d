"""`gt.export`, as `torch.export`: capture a module's whole forward as one graph ahead of
time, with declared dynamic dims, and run it from `ExportedProgram.module()`.

>>> ep = gt.export.export(model, (x,), dynamic_shapes={"x": {0: gt.export.Dim("batch")}})
>>> ep.module()(x2)          # any batch size; other dims must match the example's
>>> print(ep)                # the captured graph, its inputs and range constraints

The capture is `gt.compile` with ``fullgraph=True``: what it cannot express (a branch on
tensor values, ``.item()`` feeding Python) raises `gt._dynamo.exc.UserError` naming the
line, as export does. Exporting runs no kernel and changes no module state.
"""

from .dims import Dim, dims
from .exported_program import ExportedProgram, export, load, save

__all__ = ["Dim", "ExportedProgram", "dims", "export", "load", "save"]
