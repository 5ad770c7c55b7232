"""Where optional data lives: the shared data folder beside a checkout and the user cache."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at a shared data folder (see ``../shared/data/README.md``).
SHARED_DATA_ENV = "VSTYLE_SHARED_DATA"
#: Environment variable that overrides the cache folder (imported teachers, exported models).
CACHE_ENV = "VSTYLE_CACHE"


def shared_data_dir() -> Path | None:
    """The shared data folder, or ``None`` where there is none.

    Looks at ``$VSTYLE_SHARED_DATA`` first, then ``../shared/data`` beside the repository that holds
    this package (a development checkout). A user's installed copy usually has neither.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    candidate = Path(__file__).resolve().parents[2] / "shared" / "data"
    return candidate if candidate.is_dir() else None


def cache_dir() -> Path:
    """Folder for derived artifacts (``$VSTYLE_CACHE`` or ``~/.cache/vstyle``); created on demand."""
    env = os.environ.get(CACHE_ENV)
    base = (
        Path(env).expanduser()
        if env
        else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vstyle"
    )
    base.mkdir(parents=True, exist_ok=True)
    return base
