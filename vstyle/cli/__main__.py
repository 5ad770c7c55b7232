"""``python -m vstyle.cli`` runs the command line, as ``python -m vstyle`` does."""

import sys

from vstyle.cli import main

sys.exit(main())
