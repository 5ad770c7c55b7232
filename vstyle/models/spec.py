"""Architecture specifications: what a style network looks like, as plain data (no torch needed).

An :class:`ArchSpec` names every choice that shapes a :class:`~vstyle.models.stylenet.StyleNet`;
checkpoints and exported models carry it as JSON so a file always says how to rebuild its network.
``ARCHITECTURES`` holds the named layouts the project ships; ``benchmarks/ARCHITECTURES.md`` says
how ``fast`` and ``tiny`` were chosen (measured, not guessed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from vstyle.errors import ConfigError, ModelError

Padding = Literal["reflect", "tf_same"]
Upsample = Literal["nearest", "deconv", "pixelshuffle"]
Head = Literal["tanh", "sigmoid"]

_PADDINGS = ("reflect", "tf_same")
_UPSAMPLES = ("nearest", "deconv", "pixelshuffle")
_HEADS = ("tanh", "sigmoid")
#: Largest ``out_blur`` σ: past a few pixels a blur is no longer a stabilizer but a different picture.
MAX_OUT_BLUR = 4.0


@dataclass(frozen=True)
class ArchSpec:
    """Every choice that shapes a style network.

    The network is: optional pixel-unshuffle by ``unshuffle`` → stem conv → one stride-2 conv per
    entry of ``down_channels`` → ``res_blocks`` residual blocks → one ×2 upsampling stage per entry of
    ``up_channels`` → output conv to ``3·unshuffle²`` channels → pixel-shuffle → output head. Every conv
    but the last is followed by affine instance norm and ReLU; the last has instance norm only when
    ``out_norm`` (the Engstrom teachers) and a bias otherwise. ``out_blur`` > 0 appends a fixed
    Gaussian low-pass to the clamped output.

    Attributes:
        name: key in :data:`ARCHITECTURES` (or a candidate's name in the arch search).
        stem_channels: channels of the first conv.
        stem_kernel: kernel size of the first conv (odd).
        down_channels: output channels of each stride-2 conv; the residual blocks work at the last one.
        down_kernel: kernel size of the stride-2 convs.
        res_blocks: number of residual blocks (conv-IN-ReLU-conv-IN plus the skip).
        res_kernel: kernel size inside the residual blocks.
        depthwise_res: residual convs are depthwise-separable (depthwise k×k then pointwise 1×1).
        up_channels: output channels of each ×2 upsampling stage; as many as ``down_channels``.
        up_kernel: kernel size of the upsampling convs.
        upsample: ``nearest`` (nearest ×2 then conv, no checkerboard), ``deconv`` (3×3 stride-2
            transposed conv, the teachers) or ``pixelshuffle`` (conv to 4× channels then depth-to-space).
        out_kernel: kernel size of the output conv.
        out_norm: instance norm after the output conv (the Engstrom teachers have one).
        padding: ``reflect`` (reflection padding, sizes must be multiples of ``size_multiple``) or
            ``tf_same`` (TensorFlow "SAME" zero padding, exact for any size; the teachers).
        norm_eps: instance-norm epsilon (PyTorch 1e-5; the TF teachers 1e-3).
        unshuffle: pixel-unshuffle factor at the input (and pixel-shuffle at the output); 1 is none.
        head: output head: ``tanh`` is ``tanh(x)·150 + 127.5`` (Engstrom), ``sigmoid`` is
            ``sigmoid(x)·255``; both are clamped to [0, 255] in the graph.
        antialias: low-pass every stride-2 conv's input with a fixed 3×3 binomial filter (the
            anti-aliased downsampling of Zhang, "Making Convolutional Networks Shift-Invariant
            Again", 2019). A stride-2 conv samples its input on a grid that a one-pixel move of the
            picture shifts by half a step, so strokes land elsewhere and the video flickers; blurred
            first, its features move with the picture instead.
    """

    name: str
    stem_channels: int = 32
    stem_kernel: int = 9
    down_channels: tuple[int, ...] = (64, 128)
    down_kernel: int = 3
    res_blocks: int = 5
    res_kernel: int = 3
    depthwise_res: bool = False
    up_channels: tuple[int, ...] = (64, 32)
    up_kernel: int = 3
    upsample: Upsample = "nearest"
    out_kernel: int = 9
    out_norm: bool = False
    padding: Padding = "reflect"
    norm_eps: float = 1e-5
    unshuffle: int = 1
    head: Head = "tanh"
    antialias: bool = False
    out_blur: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "down_channels", tuple(int(c) for c in self.down_channels))
        object.__setattr__(self, "up_channels", tuple(int(c) for c in self.up_channels))
        problems: list[str] = []
        for field in ("stem_kernel", "down_kernel", "res_kernel", "up_kernel", "out_kernel"):
            k = getattr(self, field)
            if not isinstance(k, int) or k < 1 or k % 2 == 0:
                problems.append(f"{field} must be an odd positive int, got {k!r}")
        if self.down_kernel < 2:
            problems.append(f"down_kernel must be at least the stride 2, got {self.down_kernel}")
        channels = (self.stem_channels, *self.down_channels, *self.up_channels)
        if any(not isinstance(c, int) or c < 1 for c in channels):
            problems.append(f"channel counts must be positive ints, got {channels}")
        if len(self.up_channels) != len(self.down_channels):
            problems.append(
                f"up_channels needs one entry per down stage ({len(self.down_channels)}), "
                f"got {len(self.up_channels)}"
            )
        if not isinstance(self.res_blocks, int) or self.res_blocks < 0:
            problems.append(f"res_blocks must be an int >= 0, got {self.res_blocks!r}")
        if self.upsample not in _UPSAMPLES:
            problems.append(f"upsample must be one of {_UPSAMPLES}, got {self.upsample!r}")
        if self.padding not in _PADDINGS:
            problems.append(f"padding must be one of {_PADDINGS}, got {self.padding!r}")
        if self.head not in _HEADS:
            problems.append(f"head must be one of {_HEADS}, got {self.head!r}")
        if not isinstance(self.unshuffle, int) or self.unshuffle < 1:
            problems.append(f"unshuffle must be an int >= 1, got {self.unshuffle!r}")
        if not (isinstance(self.out_blur, (int, float)) and 0.0 <= self.out_blur <= MAX_OUT_BLUR):
            problems.append(
                f"out_blur must be a Gaussian sigma in [0, {MAX_OUT_BLUR:g}] pixels, got {self.out_blur!r}"
            )
        if not self.norm_eps > 0:
            problems.append(f"norm_eps must be > 0, got {self.norm_eps!r}")
        if self.padding == "tf_same" and (self.unshuffle != 1 or self.upsample == "pixelshuffle"):
            problems.append("tf_same padding is the teacher layout: it needs unshuffle=1 and no pixelshuffle")
        if problems:
            raise ConfigError(f"invalid ArchSpec {self.name!r}: " + "; ".join(problems))

    @property
    def size_multiple(self) -> int:
        """The factor frame height and width must be a multiple of (callers pad to it).

        ``tf_same`` networks also accept any size (TensorFlow semantics, output cropped to the input),
        but only multiples keep every stage aligned, so callers should pad those too.
        """
        return self.unshuffle * 2 ** len(self.down_channels)

    @property
    def res_channels(self) -> int:
        """Channels the residual blocks work at."""
        return self.down_channels[-1] if self.down_channels else self.stem_channels

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists); :meth:`from_dict` inverts it."""
        d = dataclasses.asdict(self)
        d["down_channels"] = list(self.down_channels)
        d["up_channels"] = list(self.up_channels)
        return d

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "arch spec") -> ArchSpec:
        """Rebuild a spec from :meth:`to_dict` output.

        Raises:
            ModelError: ``data`` is not a dict of known fields with valid values (``where`` names the
                file it came from).
        """
        if not isinstance(data, dict):
            raise ModelError(f"{where}: expected an architecture dict, found {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(
                f"{where}: unknown architecture fields {unknown} (known: {sorted(known)}); "
                "the file was written by a newer or different vstyle"
            )
        try:
            return cls(**data)
        except (TypeError, ConfigError) as exc:
            raise ModelError(f"{where}: invalid architecture: {exc}") from exc


#: The Johnson et al. / Engstrom layout as the TF teachers define it: TF "SAME" padding, transposed
#: convs, instance norm (eps 1e-3) after every conv including the last. Imported teachers use it.
ENGSTROM = ArchSpec(
    name="engstrom",
    upsample="deconv",
    out_norm=True,
    padding="tf_same",
    norm_eps=1e-3,
)

#: Johnson layout with the known fixes: reflection padding, nearest-upsample + conv (no checkerboard).
QUALITY = ArchSpec(name="quality")

#: ``quality`` with anti-aliased stride-2 convs, for teachers whose strokes follow the sampling grid
#: (wave): its features move with the picture, so stability costs less of the teacher's texture.
QUALITY_AA = ArchSpec(name="quality-aa", antialias=True)

#: CPU student: pixel-unshuffle ×2, residual blocks depthwise at 1/8 resolution, ``quality``'s decoder
#: widths at half resolution. Measured 7–8× faster than ``quality`` (~90–100 ms at 640×360 on 2 cores);
#: see benchmarks/ARCHITECTURES.md.
FAST = ArchSpec(
    name="fast",
    unshuffle=2,
    stem_channels=32,
    stem_kernel=3,
    down_channels=(64, 128),
    res_blocks=5,
    depthwise_res=True,
    up_channels=(64, 32),
    upsample="nearest",
    out_kernel=3,
)

#: CPU student for teachers whose strokes are finer than ``fast`` can draw (wave): ``fast``'s
#: pixel-unshuffle ×2 and 3×3 stem, but one stride-2 stage, so its depthwise residual blocks work at
#: 1/4 resolution like the teachers' instead of 1/8. About 1.7× ``fast``'s cost, 4.6× faster
#: than ``quality`` at 640×360; see benchmarks/RESULTS.md (wave-fast).
FAST_HR = ArchSpec(
    name="fast-hr",
    unshuffle=2,
    stem_channels=32,
    stem_kernel=3,
    down_channels=(128,),
    res_blocks=5,
    depthwise_res=True,
    up_channels=(32,),
    upsample="nearest",
    out_kernel=3,
)

#: ``fast-hr`` with a sixth residual block: the wave-fast student. 6.08 GMAC at 640×360 against
#: ``fast-hr``'s 5.58; ~4.5× faster than ``quality`` there (benchmarks/RESULTS.md, wave-fast).
FAST_HR6 = dataclasses.replace(FAST_HR, name="fast-hr6", res_blocks=6)

#: Live-filter student: pixel-unshuffle ×4, all convs at 1/4 and 1/8 resolution, depthwise residual
#: blocks, 1×1 pixel-shuffle upsampling. Measured ~29–35 ms at 640×360 on 2 cores (~35 fps on a quiet
#: machine), ~20× faster than ``quality``; see benchmarks/ARCHITECTURES.md.
TINY = ArchSpec(
    name="tiny",
    unshuffle=4,
    stem_channels=48,
    stem_kernel=3,
    down_channels=(64,),
    res_blocks=5,
    depthwise_res=True,
    up_channels=(48,),
    up_kernel=1,
    upsample="pixelshuffle",
    out_kernel=3,
)

#: Named layouts; checkpoints and exported models refer to these names.
ARCHITECTURES: dict[str, ArchSpec] = {
    s.name: s for s in (QUALITY, QUALITY_AA, FAST, FAST_HR, FAST_HR6, TINY, ENGSTROM)
}


def get_arch(name: str) -> ArchSpec:
    """The named spec from :data:`ARCHITECTURES`.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ConfigError(f"unknown architecture {name!r}; expected one of {sorted(ARCHITECTURES)}") from None
