"""``python -m vstyle`` runs the command line."""

import sys

from vstyle.cli import main

sys.exit(main())
