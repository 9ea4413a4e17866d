"""`torch._inductor.config`: Inductor's switches, kept so that scripts setting them run
unchanged. graphtorch's code generation has no such knobs: values are stored and read back,
and change nothing. The commonly set ones start at PyTorch's defaults; any other name can
be set (and then read)."""

from __future__ import annotations

import types

max_autotune = False
max_autotune_gemm = False
max_autotune_pointwise = False
coordinate_descent_tuning = False
epilogue_fusion = True
freezing = False
fx_graph_cache = True
autotune_local_cache = True
cpp_wrapper = False
shape_padding = True
force_disable_caches = False
benchmark_kernel = False
aggressive_fusion = False
debug = False
triton = types.SimpleNamespace(cudagraphs=False, unique_kernel_names=True,
                               cudagraph_trees=True, autotune_pointwise=True)
cpp = types.SimpleNamespace(threads=-1, simdlen=None, enable_kernel_profile=False)
trace = types.SimpleNamespace(enabled=False, graph_diagram=False)
