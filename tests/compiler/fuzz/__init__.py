"""Randomised eager-vs-compiled scenarios for `gt.compile` (issue 12).

A scenario is Python source (a fresh module) that builds some state and defines ``target``;
the runner executes it twice from identical seeds, once calling ``target`` eagerly and once
through `gt.compile`, over several calls with state changes in between, and compares
everything a user could observe. See `runner` for the outcome classes and `families` for
what is generated.
"""
