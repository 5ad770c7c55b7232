"""The feed-forward style network family (Johnson et al. 2016), built from an :class:`ArchSpec`.

Model I/O contract, for every architecture: input ``float32`` ``N×3×H×W`` RGB in 0..255 (no mean
subtraction); output the same layout and range, clamped to [0, 255] inside the graph. ``H`` and ``W``
must be multiples of ``spec.size_multiple``; ``tf_same`` networks (imported teachers) reproduce
TensorFlow exactly for any size and crop their output to the input size.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from vstyle.models.spec import ARCHITECTURES, ArchSpec, get_arch

__all__ = [
    "ARCHITECTURES",
    "ArchSpec",
    "ConvLayer",
    "ResidualBlock",
    "StyleNet",
    "UpsampleLayer",
    "get_arch",
    "with_output_blur",
]


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()


def tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad ``x`` as TensorFlow's ``padding="SAME"`` conv would (extra row/column at the end).

    For stride 2 the padding depends on the parity of the input size, so it is computed from the
    runtime shape (exported as Shape/arithmetic ops, the graph stays dynamic).

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, H + pad_h, W + pad_w)`` with ``pad = (ceil(n/s) - 1)·s + k - n``.
    """
    if stride == 1:
        before = (kernel - 1) // 2
        return F.pad(x, (before, kernel - 1 - before, before, kernel - 1 - before))
    h, w = x.shape[-2], x.shape[-1]
    # kernel >= stride (ArchSpec checks it), so the total is never negative and needs no max().
    total_h = ((h + stride - 1) // stride - 1) * stride + kernel - h
    total_w = ((w + stride - 1) // stride - 1) * stride + kernel - w
    return F.pad(x, (total_w // 2, total_w - total_w // 2, total_h // 2, total_h - total_h // 2))


def unshuffle_kernel(factor: int, channels: int = 3) -> torch.Tensor:
    """One-hot conv weight whose ``factor``-strided conv is exactly ``F.pixel_unshuffle(x, factor)``.

    Exported as a single Conv instead of the Shape/Reshape/Transpose chain the exporter emits for
    ``pixel_unshuffle`` (ONNX SpaceToDepth orders channels differently from PyTorch).

    Shape:
        - Output: ``(channels·factor², channels, factor, factor)``
    """
    weight = torch.zeros(channels * factor * factor, channels, factor, factor)
    for c in range(channels):
        for i in range(factor):
            for j in range(factor):
                weight[c * factor * factor + i * factor + j, c, i, j] = 1.0
    return weight


def gaussian_kernel(sigma: float, channels: int = 3) -> torch.Tensor:
    """Depthwise weights ``(channels, 1, k, k)`` of a normalized Gaussian of ``sigma`` pixels, taps
    out to ``ceil(3σ)`` (``k = 2·ceil(3σ) + 1``): the fixed output low-pass of ``ArchSpec.out_blur``.

    Built here rather than taken from torchvision's ``gaussian_blur`` (not a dependency) so the blur
    is one explicit ``Conv`` node in the exported graph, which TensorRT parses and
    :func:`~vstyle.models.from_onnx.stylenet_from_onnx` recognises by its weights."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    taps /= taps.sum()
    return torch.outer(taps, taps).float().expand(channels, 1, 2 * radius + 1, 2 * radius + 1).contiguous()


def icnr_(conv: nn.Conv2d, factor: int) -> None:
    """ICNR init for a conv feeding ``pixel_shuffle(·, factor)``: all sub-pixels start equal.

    Each group of ``factor²`` output channels (PyTorch's pixel-shuffle order) gets one Kaiming-initialised
    filter, so the untrained layer equals nearest upsampling and starts free of checkerboard
    (Aitken et al. 2017).
    """
    with torch.no_grad():
        out_channels = conv.weight.shape[0] // (factor * factor)
        base = torch.empty(out_channels, *conv.weight.shape[1:])
        nn.init.kaiming_uniform_(base, a=5**0.5)  # nn.Conv2d's own default init
        conv.weight.copy_(base.repeat_interleave(factor * factor, dim=0))
        if conv.bias is not None:
            conv.bias.copy_(conv.bias[:: factor * factor].repeat_interleave(factor * factor))


class ConvLayer(nn.Module):
    """Padding, conv, optional instance norm, optional ReLU.

    Shape:
        - Input: ``(N, C_in, H, W)``
        - Output: ``(N, C_out, ceil(H / stride), ceil(W / stride))``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        *,
        stride: int = 1,
        padding: str = "reflect",
        norm: bool = True,
        relu: bool = True,
        eps: float = 1e-5,
        groups: int = 1,
        bias: bool | None = None,
        antialias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        # Fixed [1, 2, 1]² / 16 low-pass before a strided conv (ArchSpec.antialias); not persistent,
        # so checkpoints do not carry it.
        blur = None
        if antialias and stride > 1:
            taps = torch.tensor([1.0, 2.0, 1.0])
            blur = (torch.outer(taps, taps) / 16.0).expand(in_channels, 1, 3, 3).contiguous()
        self.register_buffer("blur", blur, persistent=False)
        bias = not norm if bias is None else bias  # a bias before instance norm cancels out
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, groups=groups, bias=bias)
        self.norm = nn.InstanceNorm2d(out_channels, eps=eps, affine=True) if norm else None
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.blur is not None:
            x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.blur, groups=self.blur.shape[0])
        if self.kernel > 1:
            if self.padding == "tf_same":
                x = tf_same_pad(x, self.kernel, self.stride)
            else:
                p = self.kernel // 2
                x = F.pad(x, (p, p, p, p), mode="reflect")
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return F.relu(x) if self.relu else x


class ResidualBlock(nn.Module):
    """``x + IN(conv(ReLU(IN(conv(x)))))``; each conv optionally depthwise-separable.

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, H, W)``
    """

    def __init__(self, channels: int, kernel: int, *, depthwise: bool, padding: str, eps: float) -> None:
        super().__init__()
        self.depthwise = depthwise
        if depthwise:
            # Depthwise k×k (no norm: the pointwise conv mixes first) then pointwise 1×1 + IN.
            self.dw1 = ConvLayer(
                channels,
                channels,
                kernel,
                padding=padding,
                norm=False,
                relu=False,
                groups=channels,
                bias=False,
            )
            self.dw2 = ConvLayer(
                channels,
                channels,
                kernel,
                padding=padding,
                norm=False,
                relu=False,
                groups=channels,
                bias=False,
            )
            self.conv1 = ConvLayer(channels, channels, 1, padding=padding, eps=eps)
            self.conv2 = ConvLayer(channels, channels, 1, padding=padding, relu=False, eps=eps)
        else:
            self.conv1 = ConvLayer(channels, channels, kernel, padding=padding, eps=eps)
            self.conv2 = ConvLayer(channels, channels, kernel, padding=padding, relu=False, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.depthwise:
            return x + self.conv2(self.dw2(self.conv1(self.dw1(x))))
        return x + self.conv2(self.conv1(x))


class UpsampleLayer(nn.Module):
    """×2 upsampling stage followed by instance norm and ReLU.

    Shape:
        - Input: ``(N, C_in, H, W)``
        - Output: ``(N, C_out, 2H, 2W)``
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, *, mode: str, padding: str, eps: float
    ) -> None:
        super().__init__()
        self.mode, self.padding, self.kernel = mode, padding, kernel
        if mode == "deconv":
            # tf_same: no padding here, the TF "SAME" crop happens in forward (exact TF semantics).
            pad = 0 if padding == "tf_same" else kernel // 2
            self.conv = nn.ConvTranspose2d(
                in_channels,
                out_channels,
                kernel,
                stride=2,
                padding=pad,
                output_padding=0 if padding == "tf_same" else 1,
                bias=False,
            )
            self.norm = nn.InstanceNorm2d(out_channels, eps=eps, affine=True)
        elif mode == "pixelshuffle":
            # No bias: four sub-pixel biases would survive the norm as a fixed 2×2 pattern.
            self.layer = ConvLayer(
                in_channels, out_channels * 4, kernel, padding=padding, norm=False, relu=False, bias=False
            )
            icnr_(self.layer.conv, 2)
            self.norm = nn.InstanceNorm2d(out_channels, eps=eps, affine=True)
        else:
            self.layer = ConvLayer(in_channels, out_channels, kernel, padding=padding, eps=eps)
            self.norm = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "deconv":
            y = self.conv(x)
            if self.padding == "tf_same":
                # TF conv2d_transpose(SAME) is the adjoint of a SAME conv on the 2× size, whose
                # padding is (k-2)//2 before and the rest after: crop exactly that from the full output.
                before = (self.kernel - 2) // 2
                after = self.kernel - 2 - before
                end = -after if after else None
                y = y[:, :, before:end, before:end]
            return F.relu(self.norm(y))
        if self.mode == "pixelshuffle":
            return F.relu(self.norm(F.pixel_shuffle(self.layer(x), 2)))
        return self.layer(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class StyleNet(nn.Module):
    """A feed-forward style network built from an :class:`ArchSpec`.

    Args:
        spec: the architecture; ``StyleNet(get_arch("tiny"))`` builds a named one.

    Shape:
        - Input: ``(N, 3, H, W)`` float RGB in 0..255; ``H``, ``W`` multiples of ``spec.size_multiple``
          (any size for ``tf_same`` networks).
        - Output: ``(N, 3, H, W)`` float RGB in [0, 255].
    """

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        pad, eps, u = spec.padding, spec.norm_eps, spec.unshuffle
        # Not persistent: it is fixed, so checkpoints do not carry it.
        self.register_buffer("unshuffle_weight", unshuffle_kernel(u) if u > 1 else None, persistent=False)
        self.stem = ConvLayer(3 * u * u, spec.stem_channels, spec.stem_kernel, padding=pad, eps=eps)
        chans = [spec.stem_channels, *spec.down_channels]
        self.down = nn.ModuleList(
            ConvLayer(
                chans[i],
                chans[i + 1],
                spec.down_kernel,
                stride=2,
                padding=pad,
                eps=eps,
                antialias=spec.antialias,
            )
            for i in range(len(spec.down_channels))
        )
        self.res = nn.ModuleList(
            ResidualBlock(
                spec.res_channels, spec.res_kernel, depthwise=spec.depthwise_res, padding=pad, eps=eps
            )
            for _ in range(spec.res_blocks)
        )
        ups = [spec.res_channels, *spec.up_channels]
        self.up = nn.ModuleList(
            UpsampleLayer(ups[i], ups[i + 1], spec.up_kernel, mode=spec.upsample, padding=pad, eps=eps)
            for i in range(len(spec.up_channels))
        )
        self.out = ConvLayer(
            ups[-1], 3 * u * u, spec.out_kernel, padding=pad, norm=spec.out_norm, relu=False, eps=eps
        )
        if u > 1:
            icnr_(self.out.conv, u)
        blur = gaussian_kernel(spec.out_blur) if spec.out_blur > 0 else None
        self.register_buffer("out_blur_weight", blur, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _exporting():
            self._check_input(x)
        u = self.spec.unshuffle
        y = F.conv2d(x, self.unshuffle_weight, stride=u) if u > 1 else x
        y = self.stem(y)
        for layer in self.down:
            y = layer(y)
        for block in self.res:
            y = block(y)
        for layer in self.up:
            y = layer(y)
        y = self.out(y)
        if u > 1:
            y = F.pixel_shuffle(y, u)
        if self.spec.padding == "tf_same":
            # TF semantics give ceil-rounded sizes for sizes that are not multiples: crop to the input.
            y = y[:, :, : x.shape[-2], : x.shape[-1]]
        if self.spec.head == "tanh":
            y = torch.tanh(y) * 150.0 + 127.5
        else:
            y = torch.sigmoid(y) * 255.0
        y = torch.clamp(y, 0.0, 255.0)
        if self.out_blur_weight is not None:
            # A convex combination of in-range pixels stays in [0, 255]: no second clamp.
            r = self.out_blur_weight.shape[-1] // 2
            y = F.conv2d(F.pad(y, (r, r, r, r), mode="reflect"), self.out_blur_weight, groups=3)
        return y

    def _check_input(self, x: torch.Tensor) -> None:
        m = self.spec.size_multiple
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.spec.name}: expected input of shape (N, 3, H, W). Got {tuple(x.shape)}")
        if self.out_blur_weight is not None and min(x.shape[-2:]) <= self.out_blur_weight.shape[-1] // 2:
            raise ValueError(
                f"{self.spec.name}: the output blur needs frames larger than "
                f"{self.out_blur_weight.shape[-1] // 2} pixels. Got {x.shape[-2]}×{x.shape[-1]}"
            )
        if self.spec.padding != "tf_same" and (x.shape[-2] % m or x.shape[-1] % m):
            raise ValueError(
                f"{self.spec.name}: height and width must be multiples of {m} (pad the frame). "
                f"Got {x.shape[-2]}×{x.shape[-1]}"
            )


def with_output_blur(model: StyleNet, sigma: float) -> StyleNet:
    """``model``'s network and weights with the fixed output low-pass ``ArchSpec.out_blur = sigma``."""
    net = StyleNet(dataclasses.replace(model.spec, out_blur=sigma))
    net.load_state_dict(model.state_dict())
    return net.train(model.training)
