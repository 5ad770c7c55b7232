#!/usr/bin/env python3
"""Thin entry point: ``python run_stream.py [COMMAND ...]`` is ``vstyle [COMMAND ...]``.

With no arguments it runs the demo (a generated clip stylized with the default style).
"""

import sys

from vstyle.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["demo"]))
