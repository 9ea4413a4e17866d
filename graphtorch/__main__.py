"""`python -m graphtorch`: the `graphtorch` command line tool (see `graphtorch --help`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
