"""The `graphtorch` command line tool.

    graphtorch ops [--category C]   list the registered primitive ops
    graphtorch --version

Graph dumps (`graphtorch dump model.py:Net --input 1,1,32,32`) arrive with the tracer.
"""

from __future__ import annotations

import argparse
import sys


def _list_ops(args) -> int:
    from graphtorch.ops.registry import REGISTRY

    rows = [op for op in REGISTRY.values()
            if args.category is None or op.category.value == args.category]
    width = max((len(op.name) for op in rows), default=4)
    for op in sorted(rows, key=lambda o: (o.category.value, o.name)):
        grad = "vjp" if op.vjp is not None else "-"
        print(f"{op.name:<{width}}  {op.category.value:<11}  {grad:<3}  {op.doc}")
    print(f"{len(rows)} ops", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    import graphtorch

    parser = argparse.ArgumentParser(
        prog="graphtorch", description="Inspect graphtorch: its op registry (and, with the "
        "tracer, the graphs of your models).")
    parser.add_argument("--version", action="version", version=graphtorch.__version__)
    sub = parser.add_subparsers(dest="command")
    ops = sub.add_parser("ops", help="list the registered primitive ops")
    ops.add_argument("--category", choices=["elementwise", "reduction", "view", "opaque"],
                     help="only ops of this category")
    ops.set_defaults(handler=_list_ops)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
