"""ONNX → TensorRT engine: the precision-specific ONNX, the optimisation profile and the build.

:func:`build_serialized` is the TensorRT part: a strongly typed network (the precision is the ONNX
graph's: an FP32, FP16 or INT8 QDQ file; TensorRT 11 has no other INT8 path and no FP16 flag), the
ONNX parser's errors turned into one :class:`~vstyle.errors.ModelError`, one optimisation profile,
a workspace limit and a timing cache kept in the engine folder. :func:`ensure_engine` puts the cache
around it (:mod:`vstyle.trt.cache`); :func:`derived_onnx` makes and caches the FP16 / INT8 ONNX with
the existing converters; :func:`build_model_engine` is ``vstyle build``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vstyle.errors import ConfigError, ModelError
from vstyle.trt.cache import (
    FORMAT_VERSION,
    CacheEntry,
    EngineCache,
    EngineError,
    EngineKey,
    Profile,
    atomic_write,
    file_sha256,
    resolve_engine_dir,
)

log = logging.getLogger(__name__)

#: Command-line precision names → the precision an ONNX graph (and its engine) has.
PRECISION_NAMES = {"fp32": "fp32", "fp16": "fp16", "int8": "int8-qdq", "int8-qdq": "int8-qdq"}
DEFAULT_OPT_HW = (720, 1280)
DEFAULT_MAX_HW = (1088, 1920)  # 1080p padded to a multiple of 32
DEFAULT_WORKSPACE_GIB = 4.0
#: The calibration recipe's sources under the shared data folder (calibration/RECIPE.md).
RECIPE_SOURCES = ("video/fox.mp4", "video/sam2_01_dog.mp4", "photos/bsds500")


# -- precision ----------------------------------------------------------------------------------------


def graph_precision(proto: Any) -> str:
    """``int8-qdq`` with Q/DQ nodes, ``fp16`` with float16 weights, else ``fp32``."""
    if {n.op_type for n in proto.graph.node} & {"QuantizeLinear", "DequantizeLinear"}:
        return "int8-qdq"
    if any(t.data_type == 10 for t in proto.graph.initializer):  # TensorProto.FLOAT16
        return "fp16"
    return "fp32"


def model_precision(onnx_path: Path) -> str:
    """The precision of an ONNX file, read from its graph and checked against ``vstyle.precision``.

    Raises:
        ModelError: not an ONNX file, or its metadata claims another precision than its graph has.
    """
    import onnx

    try:
        proto = onnx.load_model(str(onnx_path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, OSError
        raise ModelError(f"{onnx_path} is not an ONNX model ({exc})") from exc
    precision = graph_precision(proto)
    claimed = {p.key: p.value for p in proto.metadata_props}.get("vstyle.precision")
    if claimed is not None and claimed != precision:
        raise ModelError(
            f"{onnx_path}: metadata says vstyle.precision={claimed!r} but the graph is {precision}; "
            "re-create it from the FP32 export"
        )
    return precision


def precision_name(text: str) -> str:
    """``fp32`` / ``fp16`` / ``int8`` (or ``int8-qdq``) → the graph precision; :class:`ConfigError` else."""
    try:
        return PRECISION_NAMES[text.lower()]
    except KeyError:
        raise ConfigError(f"precision must be fp32, fp16 or int8. Got {text!r}") from None


def _source_fingerprint(paths: Sequence[Path]) -> list[str]:
    out = []
    for p in paths:
        p = Path(p)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            st = f.stat()
            out.append(f"{f.resolve()}:{st.st_size}:{int(st.st_mtime)}")
    return out


def default_calibration_sources() -> list[Path]:
    """The recipe's shared-data sources that exist here (empty without the shared data)."""
    from vstyle.data import shared_data_dir

    root = shared_data_dir()
    return [root / s for s in RECIPE_SOURCES if (root / s).exists()] if root is not None else []


def derived_onnx(
    src: Path,
    precision: str,
    directory: Path,
    *,
    calibration: Sequence[Path] | None = None,
    calibration_count: int = 64,
    calibration_height: int = 360,
) -> Path:
    """The ONNX model of ``src`` at ``precision``, converted once into ``<directory>/onnx/`` and reused.

    ``fp32`` (or the precision ``src`` already has) returns ``src``. ``fp16`` uses
    :func:`~vstyle.models.precision.to_fp16`; ``int8-qdq`` uses
    :func:`~vstyle.models.quantize.quantize_qdq` on frames from ``calibration`` (default: the
    recipe's sources in the shared data). The file name holds the FP32 model's sha256 (and for INT8 a
    hash of the calibration recipe: sources with sizes and times, count, height), and a cached file
    is reused only while its sidecar names that sha256 as its source and matches its own bytes.

    Raises:
        ConfigError: INT8 without calibration sources.
        ModelError: ``src`` is FP16/INT8 and another precision is asked (convert the FP32 export).
    """
    from vstyle.models.metadata import read_model_metadata, read_sidecar

    src = Path(src)
    have = model_precision(src)
    if precision == have:
        return src
    if have != "fp32":
        raise ModelError(f"{src} is a {have} model; make {precision} from the FP32 export instead")
    info = read_model_metadata(src)
    sha = info.sha256 or file_sha256(src)
    folder = Path(directory) / "onnx"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", src.stem)
    if precision == "fp16":
        dst = folder / f"{stem}-{sha[:12]}.fp16.onnx"
        recipe: dict[str, Any] = {}
    elif precision == "int8-qdq":
        sources = [Path(p) for p in (calibration or default_calibration_sources())]
        if not sources:
            raise ConfigError(
                "INT8 needs calibration frames: pass --calib with a few of your own videos or image "
                "folders (see calibration/RECIPE.md); the shared data folder with the recipe's clips "
                "is not here"
            )
        recipe = {"sources": _source_fingerprint(sources), "count": calibration_count}
        recipe["height"] = calibration_height
        tag = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]
        dst = folder / f"{stem}-{sha[:12]}.int8-{tag}.onnx"
    else:
        raise ConfigError(f"precision must be fp32, fp16 or int8-qdq. Got {precision!r}")
    if dst.is_file():
        try:
            side = read_sidecar(dst)
            if side is not None and side.get("source_sha256") == sha:
                read_model_metadata(dst)  # checks the file against its sidecar's sha256
                log.info("reusing %s", dst)
                return dst
            log.info("%s was made from another model; converting again", dst.name)
        except ModelError as exc:
            log.warning("cached %s is unusable (%s); converting again", dst, exc)
    if precision == "fp16":
        from vstyle.models.precision import to_fp16

        return to_fp16(src, dst, overwrite=True)
    from vstyle.models.quantize import calibration_frames, quantize_qdq

    frames = calibration_frames(
        sources, count=calibration_count, height=calibration_height, size_multiple=info.size_multiple
    )
    log.info("calibrating INT8 on %d frames from %s", len(frames), ", ".join(map(str, sources)))
    return quantize_qdq(src, dst, frames, overwrite=True)


# -- the profile --------------------------------------------------------------------------------------


def parse_hw(text: str) -> tuple[int, int]:
    """``"720x1280"`` (height × width) → ``(720, 1280)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text or "")
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise ConfigError(f"a size must be HEIGHTxWIDTH in pixels, like 720x1280. Got {text!r}")
    return int(match[1]), int(match[2])


def make_profile(
    size_multiple: int,
    *,
    min_hw: tuple[int, int] | None = None,
    opt_hw: tuple[int, int] | None = None,
    max_hw: tuple[int, int] | None = None,
    max_batch: int = 1,
) -> Profile:
    """An optimisation profile for a model whose frames are padded to ``size_multiple``.

    Defaults: min ``4·m`` square, opt 720×1280, max 1088×1920 (1080p padded), batch 1..``max_batch``
    (opt 1: the live filter). Sizes are rounded to the multiple the Stylizer pads frames to: min
    down, max up (so a padded 1080-row frame fits ``--max 1080x1920``), opt to the nearest, and
    opt is kept inside [min, max].
    """
    m = max(1, int(size_multiple))
    if max_batch < 1:
        raise ConfigError(f"max batch must be at least 1. Got {max_batch}")

    def down(v: int) -> int:
        return max(m, v - v % m)

    def up(v: int) -> int:
        return -(-v // m) * m

    lo = tuple(down(v) for v in (min_hw or (4 * m, 4 * m)))
    hi = tuple(up(v) for v in (max_hw or DEFAULT_MAX_HW))
    opt = tuple(max(m, round(v / m) * m) for v in (opt_hw or DEFAULT_OPT_HW))
    opt = tuple(min(max(o, a), b) for o, a, b in zip(opt, lo, hi))
    for given, used, what in ((min_hw, lo, "min"), (max_hw, hi, "max"), (opt_hw, opt, "opt")):
        if given is not None and tuple(given) != used:
            log.info("profile %s %s rounded to %s (multiples of %d)", what, given, used, m)
    return Profile((1, *lo), (1, *opt), (max_batch, *hi))  # type: ignore[arg-type]


@dataclass(frozen=True)
class BuildSettings:
    """How an engine is built (recorded in its sidecar; only the profile is part of the key).

    Attributes:
        profile: the optimisation profile.
        workspace_gib: the builder's workspace limit (scratch memory for tactics), GiB.
        timing_cache: read and update the timing cache in the engine folder.
        optimization_level: TensorRT's builder optimisation level 0–5 (``None``: its default, 3).
    """

    profile: Profile
    workspace_gib: float = DEFAULT_WORKSPACE_GIB
    timing_cache: bool = True
    optimization_level: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.workspace_gib <= 1024:
            raise ConfigError(f"workspace must be between 0 and 1024 GiB. Got {self.workspace_gib}")
        if self.optimization_level is not None and not 0 <= self.optimization_level <= 5:
            raise ConfigError(f"optimization level must be 0..5. Got {self.optimization_level}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.to_dict(),
            "workspace_gib": self.workspace_gib,
            "timing_cache": self.timing_cache,
            "optimization_level": self.optimization_level,
            "strongly_typed": True,
        }


# -- TensorRT -----------------------------------------------------------------------------------------


def current_target() -> tuple[str, str, str]:
    """``(TensorRT version, GPU name, compute capability)`` here; raises where TensorRT cannot run."""
    from vstyle.gpu import gpu_identity
    from vstyle.trt.runtime import import_tensorrt

    trt = import_tensorrt()
    name, cc = gpu_identity()
    return trt.__version__, name, cc


def _parser_errors(parser: Any) -> list[str]:
    out = []
    for i in range(parser.num_errors):
        err = parser.get_error(i)
        desc = err.desc() if hasattr(err, "desc") else str(err)
        where = []
        for attr in ("node_name", "node_operator"):
            getter = getattr(err, attr, None)
            value = getter() if callable(getter) else None
            if value:
                where.append(str(value))
        out.append(f"{' '.join(where)}: {desc}" if where else str(desc))
    return out


def _compat_message(onnx_path: Path, problems: list[str]) -> str:
    shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
    return (
        f"{onnx_path} would not parse in TensorRT 10/11: {shown} "
        f"(details: python -m vstyle.models.trt_ops {onnx_path}); re-export it with `vstyle export`"
    )


def build_serialized(onnx_path: Path, settings: BuildSettings, timing_cache: Path | None = None) -> bytes:
    """Parse ``onnx_path`` into a strongly typed network and build a serialized engine.

    Args:
        onnx_path: a vstyle ONNX model that passed :func:`vstyle.models.trt_ops.check_tensorrt_compat`.
        settings: profile, workspace, optimisation level.
        timing_cache: the timing cache file to read (when present) and update; ``None`` for none.

    Raises:
        ModelError: the parser rejects the model (its messages, joined) or its input is not N×3×H×W.
        EngineError: the build fails (out of memory, no tactic fits the workspace, …).
    """
    from vstyle.trt.runtime import import_tensorrt, make_logger

    trt = import_tensorrt()
    logger = make_logger(trt)
    builder = trt.Builder(logger)
    flags = 0
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strongly_typed is not None:  # TensorRT 10; 11 is always strongly typed and ignores the flag
        flags |= 1 << int(strongly_typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = _parser_errors(parser) or [logger.take()]
        raise ModelError(
            f"TensorRT {trt.__version__} cannot parse {onnx_path}: {' | '.join(errors)}; "
            f"check it with `python -m vstyle.models.trt_ops {onnx_path}` and re-export it"
        )
    if network.num_inputs != 1 or network.num_outputs != 1:
        raise ModelError(
            f"{onnx_path} is not a style network: {network.num_inputs} inputs, {network.num_outputs} outputs"
        )
    inp = network.get_input(0)
    if len(inp.shape) != 4 or inp.shape[1] not in (3, -1):
        raise ModelError(f"{onnx_path}: input {inp.name!r} is {tuple(inp.shape)}, expected N×3×H×W")
    p = settings.profile
    profile = builder.create_optimization_profile()
    profile.set_shape(
        inp.name,
        (p.min[0], 3, p.min[1], p.min[2]),
        (p.opt[0], 3, p.opt[1], p.opt[2]),
        (p.max[0], 3, p.max[1], p.max[2]),
    )
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_gib * 2**30))
    if settings.optimization_level is not None:
        config.builder_optimization_level = settings.optimization_level
    cache = None
    if timing_cache is not None:
        blob = timing_cache.read_bytes() if timing_cache.is_file() else b""
        try:
            cache = config.create_timing_cache(blob)
        except Exception as exc:  # TensorRT raises its own error types for a damaged cache
            log.warning("timing cache %s is unusable (%s); starting a new one", timing_cache, exc)
            cache = None
        if cache is None and blob:  # unreadable or from another TensorRT: start a fresh one
            cache = config.create_timing_cache(b"")
        if cache is not None:
            config.set_timing_cache(cache, ignore_mismatch=False)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        problems = logger.take()
        hint = (
            "lower --workspace, --max or --max-batch, or free the GPU"
            if "memory" in problems.lower()
            else ("see the TensorRT messages above (-vv)")
        )
        raise EngineError(
            f"TensorRT {trt.__version__} could not build an engine from {onnx_path}: {problems}; {hint}"
        )
    log.info("built %s in %.1f s", onnx_path.name, time.perf_counter() - t0)
    if cache is not None and timing_cache is not None:
        atomic_write(timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


# -- the cache around it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineResult:
    """An engine ready to deserialise: its cache entry, verified bytes and whether it was just built."""

    entry: CacheEntry
    engine: bytes = field(repr=False)
    built: bool
    onnx_path: Path


def ensure_engine(
    onnx_path: Path,
    settings: BuildSettings,
    engine_dir: Path,
    *,
    force: bool = False,
    origin: str = "build",
    label: str | None = None,
) -> EngineResult:
    """The engine for ``onnx_path`` and ``settings.profile`` here: from the cache, or built and stored.

    The ONNX file is checked first (:mod:`vstyle.models.trt_ops`), then the key (model sha256,
    precision, TensorRT, GPU, profile) is looked up; a mismatched or corrupt entry is explained in
    the log and rebuilt, never loaded.

    Raises:
        BackendUnavailableError: TensorRT or CUDA is missing (with the install hint).
        ModelError: the model is unusable or TensorRT cannot parse it.
        EngineError: the build fails.
    """
    from vstyle.models.metadata import read_model_metadata
    from vstyle.models.trt_ops import check_tensorrt_compat

    onnx_path = Path(onnx_path)
    info = read_model_metadata(onnx_path)
    problems = check_tensorrt_compat(onnx_path)
    if problems:
        raise ModelError(_compat_message(onnx_path, problems))
    trt_version, gpu_name, cc = current_target()
    key = EngineKey(
        model_sha256=info.sha256 or file_sha256(onnx_path),
        precision=model_precision(onnx_path),
        tensorrt_version=trt_version,
        gpu_name=gpu_name,
        compute_capability=cc,
        profile=settings.profile,
    )
    cache = EngineCache(engine_dir)
    label = label or onnx_path.stem
    if not force:
        found = cache.lookup(key, label)
        if found.status == "hit" and found.entry is not None and found.engine is not None:
            log.info("engine cache hit: %s", found.path)
            entry = found.entry
            if origin == "build" and entry.origin != "build":  # the user now owns this profile
                entry = cache.store(
                    key, found.engine, label=label, origin="build", settings=entry.settings,
                    build_seconds=entry.build_seconds, extra=entry.extra,
                )  # fmt: skip
            return EngineResult(entry, found.engine, False, onnx_path)
        level = logging.INFO if found.status == "missing" and origin == "build" else logging.WARNING
        log.log(level, "building a TensorRT engine for %s, once (%s)", onnx_path.name, found.reason)
    t0 = time.perf_counter()
    timing = cache.timing_cache_path(trt_version, gpu_name, cc) if settings.timing_cache else None
    engine = build_serialized(onnx_path, settings, timing)
    entry = cache.store(
        key,
        engine,
        label=label,
        origin=origin,
        settings=settings.to_dict(),
        build_seconds=time.perf_counter() - t0,
        extra={"onnx_file": str(onnx_path.resolve()), "architecture": info.architecture},
    )
    return EngineResult(entry, engine, True, onnx_path)


def build_model_engine(
    *,
    model: Path | None = None,
    style: str | None = None,
    precision: str = "fp16",
    min_hw: tuple[int, int] | None = None,
    opt_hw: tuple[int, int] | None = None,
    max_hw: tuple[int, int] | None = None,
    max_batch: int = 1,
    workspace_gib: float = DEFAULT_WORKSPACE_GIB,
    engine_dir: Path | None = None,
    force: bool = False,
    calibration: Sequence[Path] | None = None,
) -> EngineResult:
    """``vstyle build``: the model (path or style) at ``precision`` as an engine in the engine folder."""
    from vstyle.models.metadata import read_model_metadata
    from vstyle.styles import resolve_model
    from vstyle.trt.runtime import import_tensorrt

    import_tensorrt()  # fail fast, before any conversion, with the install hint
    wanted = precision_name(precision)
    folder = resolve_engine_dir(engine_dir)
    src = resolve_model(model, style)
    onnx_path = derived_onnx(src, wanted, folder, calibration=calibration)
    info = read_model_metadata(onnx_path)
    settings = BuildSettings(
        profile=make_profile(
            info.size_multiple, min_hw=min_hw, opt_hw=opt_hw, max_hw=max_hw, max_batch=max_batch
        ),
        workspace_gib=workspace_gib,
    )
    return ensure_engine(onnx_path, settings, folder, force=force, origin="build", label=src.stem)


def find_engine(
    onnx_path: Path, engine_dir: Path, *, label: str | None = None
) -> tuple[CacheEntry, bytes] | None:
    """An intact engine in ``engine_dir`` for ``onnx_path`` on this TensorRT and GPU, any profile.

    Prefers engines made by ``vstyle build`` (the user chose their profile), then the widest profile.
    Entries that fail verification are skipped with a warning (they will be rebuilt).
    """
    from vstyle.models.metadata import read_model_metadata

    info = read_model_metadata(onnx_path)
    trt_version, gpu_name, cc = current_target()
    sha = info.sha256 or file_sha256(onnx_path)
    precision = model_precision(onnx_path)
    cache = EngineCache(engine_dir)
    candidates = [
        e
        for e in cache.entries()
        if (e.key.model_sha256, e.key.precision, e.key.format_version) == (sha, precision, FORMAT_VERSION)
        and (e.key.tensorrt_version, e.key.gpu_name, e.key.compute_capability) == (trt_version, gpu_name, cc)
    ]
    candidates.sort(key=lambda e: (e.origin == "build", e.key.profile.max), reverse=True)
    for entry in candidates:
        try:
            return entry, cache.verify(entry)
        except EngineError as exc:
            log.warning("ignoring %s: %s; it will be rebuilt", entry.engine_path.name, exc)
    return None
