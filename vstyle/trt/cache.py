"""The engine cache: which engine fits this model, this GPU and this TensorRT, and is it intact.

A TensorRT engine is valid only for the exact TensorRT version and GPU (compute capability) that
built it, and only for the precision and optimisation profile it was built with. An
:class:`EngineKey` holds all of that plus the sha256 of the ONNX file it was built from; the engine
file is named after a hash of the key and sits beside a JSON sidecar that records the full key, the
build settings, the build time and the sha256 of the engine bytes. :meth:`EngineCache.lookup` reads
the sidecar, compares keys field by field and hashes the engine before handing its bytes out, so a
mismatched, truncated or corrupt engine is explained and rebuilt, never deserialised blindly.

Pure Python: nothing here needs TensorRT, a GPU or PyTorch.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vstyle.errors import ConfigError, VStyleError

log = logging.getLogger(__name__)

#: Environment variable naming the engine folder (after ``--engine-dir``, before the defaults).
ENGINE_DIR_ENV = "VSTYLE_ENGINE_DIR"
#: Version of the key and sidecar format; part of the key, so a new format never reuses old engines.
FORMAT_VERSION = 1
SIDECAR_FORMAT = "vstyle-trt-engine"
#: Precisions an engine can have; the ONNX graph decides which (strongly typed network).
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8-qdq")
ENGINE_SUFFIX = ".engine"

Dims = tuple[int, int, int]


class EngineError(VStyleError, RuntimeError):
    """A TensorRT engine cannot be built, loaded or run (the message says why and what to do)."""


class ProfileError(EngineError, ValueError):
    """A batch does not fit the optimisation profile an engine was built for."""


# -- the key ------------------------------------------------------------------------------------------


def _dims(value: Any, what: str) -> Dims:
    try:
        dims = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be three integers N, H, W. Got {value!r}") from None
    if len(dims) != 3 or any(d < 1 for d in dims):
        raise ConfigError(f"{what} must be three positive integers N, H, W. Got {value!r}")
    return dims  # type: ignore[return-value]


def _fmt(d: Dims) -> str:
    return "×".join(map(str, d))


@dataclass(frozen=True)
class Profile:
    """An optimisation profile: the smallest, typical and largest input TensorRT must serve.

    Each entry is ``(N, H, W)``: batch, height and width of the ``N×3×H×W`` input. TensorRT tunes
    kernels for ``opt`` and accepts any shape between ``min`` and ``max``, element by element.
    """

    min: Dims
    opt: Dims
    max: Dims

    def __post_init__(self) -> None:
        for name in ("min", "opt", "max"):
            object.__setattr__(self, name, _dims(getattr(self, name), f"profile {name}"))
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise ConfigError(
                f"profile must have min <= opt <= max in N, H and W. Got min {_fmt(self.min)}, "
                f"opt {_fmt(self.opt)}, max {_fmt(self.max)}"
            )

    def fits(self, n: int, h: int, w: int) -> bool:
        """Whether an ``n×3×h×w`` input lies inside the profile."""
        return all(lo <= v <= hi for lo, v, hi in zip(self.min, (n, h, w), self.max))

    def covering(self, n: int, h: int, w: int, multiple: int = 1) -> Profile:
        """This profile widened to take ``n×h×w`` too (new bounds rounded out to ``multiple``)."""

        def down(v: int) -> int:
            return v - v % multiple or v

        def up(v: int) -> int:
            return -(-v // multiple) * multiple

        shape = (n, h, w)
        low = tuple(min(a, b if i == 0 else down(b)) for i, (a, b) in enumerate(zip(self.min, shape)))
        high = tuple(max(a, b if i == 0 else up(b)) for i, (a, b) in enumerate(zip(self.max, shape)))
        return Profile(low, self.opt, high)  # type: ignore[arg-type]

    def describe(self) -> str:
        """``"N×H×W min 1×64×64, opt 1×720×1280, max 1×1088×1920"``."""
        return f"N×H×W min {_fmt(self.min)}, opt {_fmt(self.opt)}, max {_fmt(self.max)}"

    def to_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, data: Any) -> Profile:
        if not isinstance(data, Mapping):
            raise ConfigError(f"profile must be an object with min/opt/max. Got {data!r}")
        return cls(data.get("min"), data.get("opt"), data.get("max"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine is valid for; two engines with equal keys are interchangeable.

    Attributes:
        model_sha256: sha256 of the ONNX file's bytes the engine was built from.
        precision: ``fp32``, ``fp16`` or ``int8-qdq`` (read from the ONNX graph).
        tensorrt_version: ``tensorrt.__version__`` of the builder; engines are not portable across
            TensorRT versions (major, minor, patch and build must match).
        gpu_name: the GPU's name as CUDA reports it.
        compute_capability: ``"major.minor"`` (``"9.0"`` for an H100).
        profile: the optimisation profile.
        format_version: :data:`FORMAT_VERSION` of the vstyle code that built it.
    """

    model_sha256: str
    precision: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    profile: Profile
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}. Got {self.precision!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.model_sha256):
            raise ConfigError(f"model_sha256 must be 64 hex digits. Got {self.model_sha256!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_sha256": self.model_sha256,
            "precision": self.precision,
            "tensorrt_version": self.tensorrt_version,
            "gpu_name": self.gpu_name,
            "compute_capability": self.compute_capability,
            "profile": self.profile.to_dict(),
            "format_version": self.format_version,
        }

    @classmethod
    def from_dict(cls, data: Any) -> EngineKey:
        """Inverse of :meth:`to_dict`; :class:`ConfigError` for a malformed key."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"engine key must be a JSON object. Got {type(data).__name__}")
        try:
            return cls(
                model_sha256=str(data["model_sha256"]),
                precision=str(data["precision"]),
                tensorrt_version=str(data["tensorrt_version"]),
                gpu_name=str(data["gpu_name"]),
                compute_capability=str(data["compute_capability"]),
                profile=Profile.from_dict(data["profile"]),
                format_version=int(data["format_version"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"engine key is incomplete or malformed ({exc!r})") from exc

    def digest(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON key: the engine's file name part."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def differences(self, wanted: EngineKey) -> list[str]:
        """Why an engine built for this key does not serve ``wanted``: one phrase per differing field.

        Phrased from the engine's side: ``"built for TensorRT 10.3, this is 10.8"``.
        """
        out = []
        if self.tensorrt_version != wanted.tensorrt_version:
            out.append(f"built for TensorRT {self.tensorrt_version}, this is {wanted.tensorrt_version}")
        if (self.gpu_name, self.compute_capability) != (wanted.gpu_name, wanted.compute_capability):
            out.append(
                f"built for GPU {self.gpu_name} (compute capability {self.compute_capability}), "
                f"this is {wanted.gpu_name} (compute capability {wanted.compute_capability})"
            )
        if self.model_sha256 != wanted.model_sha256:
            out.append(
                f"built from a model with sha256 {self.model_sha256[:12]}…, "
                f"this model's is {wanted.model_sha256[:12]}…"
            )
        if self.precision != wanted.precision:
            out.append(f"built at precision {self.precision}, {wanted.precision} is wanted")
        if self.profile != wanted.profile:
            out.append(f"built for profile {self.profile.describe()}; wanted {wanted.profile.describe()}")
        if self.format_version != wanted.format_version:
            out.append(
                f"written by engine format {self.format_version}, this vstyle uses {wanted.format_version}"
            )
        return out

    def same_target(self, other: EngineKey) -> bool:
        """Same model, precision, TensorRT, GPU and format: only the profile may differ."""
        return dataclasses.replace(self, profile=other.profile) == other


# -- the folder ---------------------------------------------------------------------------------------


def checkout_engine_dir() -> Path | None:
    """The ``engines/`` folder of the source checkout this package runs from, or ``None``."""
    root = Path(__file__).resolve().parents[2]
    folder = root / "engines"
    return folder if folder.is_dir() and (root / "pyproject.toml").is_file() else None


def resolve_engine_dir(
    explicit: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    checkout: Path | None | Literal["auto"] = "auto",
) -> Path:
    """Where engines live: ``explicit`` (``--engine-dir``), else ``$VSTYLE_ENGINE_DIR``, else the
    checkout's ``engines/`` folder when running from a source checkout, else ``cache_dir()/engines``.

    Args:
        explicit: the folder the user named.
        environ: the environment to read (default ``os.environ``).
        checkout: the checkout's engine folder; ``"auto"`` finds it (:func:`checkout_engine_dir`),
            ``None`` means "not running from a checkout".

    Returns:
        The folder (not created here: :meth:`EngineCache.store` creates it when it writes).
    """
    env = os.environ if environ is None else environ
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    if env.get(ENGINE_DIR_ENV):
        return Path(env[ENGINE_DIR_ENV]).expanduser()
    folder = checkout_engine_dir() if checkout == "auto" else checkout
    if folder is not None:
        return folder
    from vstyle.data import cache_dir

    return cache_dir() / "engines"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CacheEntry:
    """An engine file and what its sidecar says about it.

    Attributes:
        engine_path: the ``.engine`` file.
        key: the key it was built for.
        engine_sha256: sha256 of the engine bytes when written.
        engine_size: their length in bytes.
        origin: ``"build"`` (``vstyle build``: its profile is the user's choice) or ``"auto"``
            (built by the backend itself, which may widen the profile and rebuild).
        settings: the build settings (workspace, timing cache, …).
        build_seconds: how long the build took.
        created: when it was written (UTC, ISO 8601).
        extra: any other sidecar fields (the ONNX file name, vstyle version, …).
    """

    engine_path: Path
    key: EngineKey
    engine_sha256: str
    engine_size: int
    origin: str = "build"
    settings: dict[str, Any] = field(default_factory=dict)
    build_seconds: float = 0.0
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sidecar_path(self) -> Path:
        return sidecar_path(self.engine_path)


def sidecar_path(engine_path: Path) -> Path:
    """``x.engine`` → ``x.json``."""
    return Path(engine_path).with_suffix(".json")


@dataclass(frozen=True)
class Lookup:
    """What :meth:`EngineCache.lookup` found.

    ``status`` is ``"hit"`` (``engine`` holds the verified bytes), ``"missing"`` (no such engine;
    ``reason`` may name a near miss in the folder), ``"mismatch"`` (the sidecar at this name is for
    another key; ``reason`` names the fields) or ``"corrupt"`` (sidecar unreadable, engine missing,
    truncated or changed).
    """

    status: Literal["hit", "missing", "mismatch", "corrupt"]
    path: Path
    reason: str = ""
    entry: CacheEntry | None = None
    engine: bytes | None = field(default=None, repr=False)


class EngineCache:
    """A folder of engines with their JSON sidecars.

    Args:
        directory: the folder (see :func:`resolve_engine_dir`); created on the first write.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path_for(self, key: EngineKey, label: str = "model") -> Path:
        """``<dir>/<label>-<precision>-<key digest>.engine``; the label is only for people."""
        return self.directory / f"{_slug(label)}-{key.precision}-{key.digest()}{ENGINE_SUFFIX}"

    def timing_cache_path(self, tensorrt_version: str, gpu_name: str, compute_capability: str) -> Path:
        """The builder's timing cache for one TensorRT version and GPU (they are not portable)."""
        name = f"timing-{_slug(gpu_name)}-sm{compute_capability.replace('.', '')}-trt{tensorrt_version}"
        return self.directory / f"{name}.cache"

    # -- reading ----------------------------------------------------------------------------------------

    def read_entry(self, engine_path: Path) -> CacheEntry:
        """The sidecar of ``engine_path`` as a :class:`CacheEntry`.

        Raises:
            EngineError: the sidecar is missing, not JSON, not an engine sidecar or malformed.
        """
        side = sidecar_path(engine_path)
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EngineError(f"engine {engine_path.name} has no sidecar {side.name}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EngineError(f"sidecar {side} is unreadable ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            raise EngineError(f"{side} is not a vstyle engine sidecar (format {SIDECAR_FORMAT!r})")
        try:
            key = EngineKey.from_dict(data.get("key"))
            known = {"format", "key", "engine_sha256", "engine_size", "origin", "settings"}
            known |= {"build_seconds", "created", "engine_file"}
            return CacheEntry(
                engine_path=Path(engine_path),
                key=key,
                engine_sha256=str(data["engine_sha256"]),
                engine_size=int(data["engine_size"]),
                origin=str(data.get("origin", "build")),
                settings=dict(data.get("settings") or {}),
                build_seconds=float(data.get("build_seconds", 0.0)),
                created=str(data.get("created", "")),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"sidecar {side} is malformed ({exc})") from exc

    def verify(self, entry: CacheEntry) -> bytes:
        """The engine's bytes, after checking their length and sha256 against the sidecar.

        Raises:
            EngineError: the engine file is missing, truncated, longer or changed.
        """
        path = entry.engine_path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EngineError(f"engine {path.name} is missing (its sidecar is there)") from None
        if len(data) != entry.engine_size:
            raise EngineError(
                f"engine {path.name} is {len(data)} bytes, its sidecar records {entry.engine_size} "
                f"({'truncated' if len(data) < entry.engine_size else 'changed'})"
            )
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.engine_sha256:
            raise EngineError(
                f"engine {path.name} has sha256 {actual[:12]}…, its sidecar records "
                f"{entry.engine_sha256[:12]}… (corrupt or replaced)"
            )
        return data

    def lookup(self, key: EngineKey, label: str = "model") -> Lookup:
        """Find, check and read the engine for ``key`` (see :class:`Lookup`)."""
        path = self.path_for(key, label)
        if not sidecar_path(path).is_file():
            if path.is_file():
                return Lookup("corrupt", path, f"engine {path.name} has no sidecar")
            return Lookup("missing", path, self.explain_missing(key))
        try:
            entry = self.read_entry(path)
        except EngineError as exc:
            return Lookup("corrupt", path, str(exc))
        diffs = entry.key.differences(key)
        if diffs:
            return Lookup("mismatch", path, f"engine {path.name} was " + "; ".join(diffs), entry)
        try:
            data = self.verify(entry)
        except EngineError as exc:
            return Lookup("corrupt", path, str(exc), entry)
        return Lookup("hit", path, "", entry, data)

    def entries(self) -> Iterator[CacheEntry]:
        """Every engine in the folder with a readable sidecar (unverified), in file-name order."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob(f"*{ENGINE_SUFFIX}")):
            try:
                yield self.read_entry(path)
            except EngineError as exc:
                log.debug("skipping %s: %s", path, exc)

    def explain_missing(self, key: EngineKey) -> str:
        """Why no engine serves ``key``: the nearest engine of the same model, if any, and how it differs."""
        same_model = [e for e in self.entries() if e.key.model_sha256 == key.model_sha256]
        if not same_model:
            return f"no engine for this model in {self.directory}"
        nearest = min(same_model, key=lambda e: len(e.key.differences(key)))
        return f"{nearest.engine_path.name} does not fit: it was " + "; ".join(nearest.key.differences(key))

    # -- writing ----------------------------------------------------------------------------------------

    def store(
        self,
        key: EngineKey,
        engine: bytes,
        *,
        label: str = "model",
        origin: str = "build",
        settings: Mapping[str, Any] | None = None,
        build_seconds: float = 0.0,
        extra: Mapping[str, Any] | None = None,
    ) -> CacheEntry:
        """Write ``engine`` and its sidecar atomically, replacing any engine of the same key and label.

        The engine is renamed into place first and the sidecar last: a reader sees either the old
        pair, or a sidecar whose sha256 does not match (detected, rebuilt), never an unchecked engine.
        """
        if origin not in ("build", "auto"):
            raise ConfigError(f"origin must be 'build' or 'auto'. Got {origin!r}")
        path = self.path_for(key, label)
        entry = CacheEntry(
            engine_path=path,
            key=key,
            engine_sha256=hashlib.sha256(engine).hexdigest(),
            engine_size=len(engine),
            origin=origin,
            settings=dict(settings or {}),
            build_seconds=round(float(build_seconds), 3),
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            extra=dict(extra or {}),
        )
        sidecar = {
            "format": SIDECAR_FORMAT,
            "engine_file": path.name,
            "key": key.to_dict(),
            "engine_sha256": entry.engine_sha256,
            "engine_size": entry.engine_size,
            "origin": origin,
            "settings": entry.settings,
            "build_seconds": entry.build_seconds,
            "created": entry.created,
            **entry.extra,
        }
        atomic_write(path, engine)
        atomic_write(sidecar_path(path), (json.dumps(sidecar, indent=2, sort_keys=False) + "\n").encode())
        log.info("stored engine %s (%.1f MB)", path, len(engine) / 1e6)
        return entry

    def remove(self, entry: CacheEntry) -> None:
        """Delete an engine and its sidecar (missing files are fine)."""
        entry.sidecar_path.unlink(missing_ok=True)
        entry.engine_path.unlink(missing_ok=True)
