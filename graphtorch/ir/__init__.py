"""The SSA graph IR that the tracer produces and passes transform (built on the op registry:
every graph node's op is an `OpDef` from `graphtorch.ops.registry`)."""
