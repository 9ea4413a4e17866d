"""Graph-to-graph optimisation passes (dead-code elimination, CSE, fusion, autodiff, ...)."""
