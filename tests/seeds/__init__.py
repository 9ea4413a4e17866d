"""Seed-note tests: every snippet of /work/shared/seeds runs under PyTorch and graphtorch."""
