"""Backends that run graphs: NumPy code generation, CuPy kernels, an op-by-op interpreter."""
