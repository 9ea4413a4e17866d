"""CUDA source for fused elementwise nodes: one kernel per fused group, as text.

A fused node's subgraph (`passes.fusion`) becomes a straight-line CUDA body: one local
variable per op, computed in the dtype eager dispatch computes in (`compute_dtype`, inputs
cast to it, Python constants converted as NumPy's weak scalars are: ``x * 0.5`` on float32 is
``x * 0.5f``), then the group's outputs are stored. The body is wrapped two ways:

- `CudaKernel.source`: a complete translation unit with one ``extern "C" __global__``
  grid-stride kernel over the flat output (inputs of the output's shape read ``[i]``, one-
  element inputs read ``[0]``); what `cupy.RawKernel` compiles for C-contiguous operands,
  and what the CPU tests compile with ``nvcc --ptx``.
- `CudaKernel.elementwise_args()`: the same body for `cupy.ElementwiseKernel`, which
  broadcasts and follows strides (for broadcast or non-contiguous operands).

Each op's expression comes from its rendering in `cuda_ops.CUDA_OPS` (keyed by OpDef),
which spells out eager semantics where NumPy's and CUDA's differ. A group with an op, dtype
or constant that cannot be expressed raises `Unsupported`; the backend then runs that group
op by op.

    kernel = fused_kernel(node)          # CudaKernel, or raises Unsupported
    kernel.source                        # the CUDA translation unit
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..ir.graph import Node, infer_args
from ..ops.shape_rules import compute_dtype, output_dtype
from .cuda_ops import CTYPES, Unsupported, literal, preamble, render

__all__ = ["CTYPES", "CudaKernel", "Unsupported", "fused_kernel", "literal"]


@dataclass(frozen=True)
class CudaKernel:
    """One fused group as CUDA: `body` computes locals from the inputs ``a<k>``; `stores`
    are the (output index, local) pairs; `params` are (name, numpy dtype name, is_output)."""

    name: str
    params: tuple
    body: str
    stores: tuple
    preamble: str
    scalar_inputs: frozenset  # inputs with one element (read at [0] by the flat kernel)
    broadcast: bool = False   # some input is broadcast: only ElementwiseKernel runs it

    @property
    def inputs(self):
        return [p for p in self.params if not p[2]]

    @property
    def outputs(self):
        return [p for p in self.params if p[2]]

    @property
    def source(self) -> str:
        """A complete CUDA translation unit: the flat grid-stride kernel."""
        args = [f"const {CTYPES[d]}* __restrict__ {n}_ptr" for n, d, _ in self.inputs]
        args += [f"{CTYPES[d]}* __restrict__ {n}_ptr" for n, d, _ in self.outputs]
        loads = [f"        const {CTYPES[d]} {n} = {n}_ptr[{self._index(n)}];"
                 for n, d, _ in self.inputs]
        stores = [f"        o{j}_ptr[i] = {v};" for j, v in self.stores]
        loop = ("    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;\n"
                "         i += (long long)gridDim.x * blockDim.x) {")
        how = ("broadcast operands: cupy.ElementwiseKernel runs this body" if self.broadcast
               else "flat kernel for C-contiguous operands; ElementwiseKernel otherwise")
        lines = [self.preamble.rstrip(), "", f"// {how}",
                 f'extern "C" __global__ void {self.name}(',
                 "    " + ",\n    ".join(args + ["long long n"]) + ") {", loop,
                 *loads, *_indent(self.body, 8), *stores, "    }", "}", ""]
        return "\n".join(lines).lstrip("\n")

    def _index(self, name: str) -> str:
        return "0" if name in self.scalar_inputs else "i"

    def elementwise_args(self):
        """(in_params, out_params, operation, name, preamble) for `cupy.ElementwiseKernel`."""
        ins = ", ".join(f"{d} {n}" for n, d, _ in self.inputs)
        outs = ", ".join(f"{d} {n}" for n, d, _ in self.outputs)
        operation = self.body + "\n" + "\n".join(f"o{j} = {v};" for j, v in self.stores)
        return ins, outs, operation, self.name + "_ew", self.preamble


def fused_kernel(node: Node) -> CudaKernel:
    """The `CudaKernel` for a fused node (raises `Unsupported`)."""
    return _Builder(node).build()


def _indent(text: str, n: int) -> list[str]:
    return [" " * n + line for line in text.splitlines()]


class _Builder:
    def __init__(self, node: Node):
        self.node = node
        self.sub = node.attrs["graph"]
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.names: dict[int, tuple[str, np.dtype]] = {}

    def build(self) -> CudaKernel:
        sub = self.sub
        shape = tuple(self.node.outputs[0].meta.shape)
        params, scalars, broadcast = [], set(), False
        for k, inp in enumerate(sub.inputs):
            meta = inp.outputs[0].meta
            dt = _np_dtype(meta.dtype)
            params.append((f"a{k}", dt.name, False))
            self.names[inp.outputs[0].id] = (f"a{k}", dt)
            if tuple(meta.shape) != shape:
                broadcast |= math.prod(meta.shape) != 1
                scalars.add(f"a{k}")
        for n in sub.op_nodes:
            self._emit(n)
        stores = []
        for j, v in enumerate(sub.outputs):
            dt = _np_dtype(v.meta.dtype)
            params.append((f"o{j}", dt.name, True))
            name, have = self.names[v.id]
            stores.append((j, name if have == dt else f"(({CTYPES[dt.name]}){name})"))
        body = "\n".join(self.lines)
        helpers = preamble(self.helpers)
        ops = "_".join(dict.fromkeys(n.op.name for n in sub.op_nodes))[:40]
        digest = hashlib.sha1(repr((params, body, stores, sorted(scalars), broadcast))
                              .encode()).hexdigest()[:10]
        return CudaKernel(f"gt_fused_{ops}_{digest}", tuple(params), body, tuple(stores),
                          helpers, frozenset(scalars), broadcast)

    # --- one op ---

    def _emit(self, n: Node) -> None:
        op = n.op
        out_dt = _np_dtype(n.outputs[0].meta.dtype)
        if op.num_outputs != 1:
            raise Unsupported(f"{op.name} has several outputs")
        if op.promotion is not None:
            cd = compute_dtype(op.promotion, infer_args(n)).np_dtype
            if output_dtype(op.promotion, _dtype_of(cd)).np_dtype != out_dt:
                raise Unsupported(f"{op.name}: output dtype differs from its rule")
        else:
            cd = out_dt
        if cd.name not in CTYPES:
            raise Unsupported(f"{op.name} computes in {cd}")
        args = [self._operand(x, cd) for x in n.inputs]
        expr = render(n, cd, args, self.helpers, self._operand)
        ct = CTYPES[out_dt.name]
        var = f"v{n.outputs[0].id}"
        self.lines.append(f"const {ct} {var} = ({ct})({expr});  // {op.name}")
        self.names[n.outputs[0].id] = (var, out_dt)

    def _operand(self, x, cd: np.dtype) -> str:
        if isinstance(x, list):
            raise Unsupported("a list operand")
        if x.is_const:
            return literal(x.const, cd)
        name, dt = self.names[x.id]
        return name if dt == cd else f"(({CTYPES[cd.name]}){name})"


def _np_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype.np_dtype)
    if dt.name not in CTYPES:
        raise Unsupported(f"dtype {dt}")
    return dt


def _dtype_of(np_dtype):
    return dtypes.from_numpy_dtype(np_dtype)


