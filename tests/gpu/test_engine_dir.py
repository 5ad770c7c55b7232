"""Where engines go: --engine-dir, then $VSTYLE_ENGINE_DIR, then the checkout's engines/, then the cache."""

from __future__ import annotations

from pathlib import Path

from vstyle.trt.cache import ENGINE_DIR_ENV, checkout_engine_dir, resolve_engine_dir

REPO = Path(__file__).resolve().parents[2]


def test_explicit_folder_wins(tmp_path: Path) -> None:
    env = {ENGINE_DIR_ENV: str(tmp_path / "env")}
    assert resolve_engine_dir(tmp_path / "flag", environ=env, checkout=tmp_path / "co") == tmp_path / "flag"


def test_environment_comes_next(tmp_path: Path) -> None:
    env = {ENGINE_DIR_ENV: str(tmp_path / "env")}
    assert resolve_engine_dir(None, environ=env, checkout=tmp_path / "co") == tmp_path / "env"
    assert resolve_engine_dir("", environ=env, checkout=None) == tmp_path / "env"


def test_a_source_checkout_uses_its_engines_folder() -> None:
    assert checkout_engine_dir() == REPO / "engines"
    assert resolve_engine_dir(environ={}) == REPO / "engines"
    assert (REPO / "engines" / ".gitignore").is_file(), "engines are never committed"


def test_an_installed_package_uses_the_user_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VSTYLE_CACHE", str(tmp_path / "cache"))
    assert resolve_engine_dir(environ={}, checkout=None) == tmp_path / "cache" / "engines"


def test_resolving_creates_nothing(tmp_path: Path) -> None:
    resolve_engine_dir(tmp_path / "later")
    assert not (tmp_path / "later").exists()
