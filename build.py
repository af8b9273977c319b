#!/usr/bin/env python3
"""`python build.py [command] …` — the same program as the `perfdoc` console script."""

import sys

from perfdoc.cli import main

if __name__ == "__main__":
    sys.exit(main())
