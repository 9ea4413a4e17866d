"""Tests of the SSA graph IR and the interpreter backend."""
