"""Atomic writes: a finished temporary file renamed onto its destination with a normal file mode.

``tempfile.mkstemp`` creates files with mode 0600 whatever the umask, so a file written through it
and renamed into place would be readable by its owner only. :func:`publish` gives the temporary file
the mode a plain ``open(path, "w")`` would have (``0o666`` less the process umask) before the rename.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path


@functools.cache
def _umask_by_swapping() -> int:
    # os.umask can only be read by setting it; done once, as early as asked, to keep the window in
    # which another thread could create a file under the temporary umask as short and rare as can be.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def process_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_by_swapping()


def publish(tmp: str | Path, path: str | Path) -> None:
    """Give the written temporary file ``tmp`` a normal file mode, then rename it onto ``path``."""
    os.chmod(tmp, 0o666 & ~process_umask())
    os.replace(tmp, path)
