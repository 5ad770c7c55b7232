"""The loss network: a frozen VGG that returns named ReLU features (``relu1_1``, ``relu2_2``, …).

Two sources of weights:

* :func:`load_partial_vgg19` — the partial Caffe VGG19 in ``../shared/data/lossnet``
  (``conv1_1 … conv3_4`` only, so ``relu1_1 … relu3_4`` are reachable). Caffe networks expect
  **BGR** 0–255 minus the ImageNet mean ``[103.939, 116.779, 123.68]``.
* :func:`from_torchvision` — a full torchvision ``vgg16``/``vgg19`` state dict the user already has
  on disk (never downloaded). Those expect RGB 0–1 normalised with the ImageNet mean and std.

Either way :class:`VGGFeatures` takes **RGB float 0–255** images and does its own preprocessing,
so callers never think about colour order or normalisation. Layers are stored under torchvision's
``features.<index>`` names, so both kinds of state dict load without renaming.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Union

import torch
from torch import nn

from vstyle.errors import ModelError

logger = logging.getLogger(__name__)

Preprocess = Literal["caffe", "torchvision"]

#: torchvision's VGG configurations: conv output channels, ``"M"`` for a 2×2 max-pool.
VGG_CONFIGS: dict[str, list[Union[int, str]]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}

#: The partial Caffe VGG19 in the shared data: conv1_1 … conv3_4.
PARTIAL_VGG19_CONFIG: list[Union[int, str]] = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256]

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
IMAGENET_RGB_MEAN = (0.485, 0.456, 0.406)
IMAGENET_RGB_STD = (0.229, 0.224, 0.225)


def layer_names(config: Sequence[Union[int, str]]) -> dict[str, int]:
    """Map ``relu<block>_<i>`` to its index in torchvision's ``features`` sequence.

    Args:
        config: conv channel counts and ``"M"`` pools, as in :data:`VGG_CONFIGS`.

    Returns:
        ``{"relu1_1": 1, "relu1_2": 3, "relu2_1": 6, …}`` in network order.
    """
    names: dict[str, int] = {}
    index, block, conv = 0, 1, 0
    for item in config:
        if item == "M":
            index += 1
            block, conv = block + 1, 0
        else:
            conv += 1
            names[f"relu{block}_{conv}"] = index + 1  # the ReLU right after the conv
            index += 2
    return names


def conv_shapes(config: Sequence[Union[int, str]]) -> dict[str, tuple[int, ...]]:
    """State-dict key → tensor shape for every conv in ``config`` (torchvision's key names)."""
    shapes: dict[str, tuple[int, ...]] = {}
    index, in_channels = 0, 3
    for item in config:
        if item == "M":
            index += 1
            continue
        out = int(item)
        shapes[f"features.{index}.weight"] = (out, in_channels, 3, 3)
        shapes[f"features.{index}.bias"] = (out,)
        in_channels, index = out, index + 2
    return shapes


class VGGFeatures(nn.Module):
    """A frozen VGG feature extractor returning the requested ReLU outputs by name.

    The network is built only as deep as ``config`` goes and each call stops after the deepest
    requested layer. Parameters never require gradients and the module stays in eval mode (gradients
    still flow to the *input*, which is what a perceptual loss needs).

    Args:
        config: conv channel counts and ``"M"`` pools (:data:`VGG_CONFIGS`, :data:`PARTIAL_VGG19_CONFIG`).
        layers: default layers to return, e.g. ``("relu2_2", "relu3_4")``; all reachable ones if None.
        preprocess: ``"caffe"`` (BGR 0–255 minus the Caffe mean) or ``"torchvision"`` (RGB 0–1,
            ImageNet mean/std) — what the weights were trained on.

    Shape:
        - input: :math:`(N, 3, H, W)`, RGB float in 0–255.
        - output: ``{name: (N, C_l, H / 2^p, W / 2^p)}`` with ``p`` the pools before that layer.

    Example:
        >>> vgg = VGGFeatures(PARTIAL_VGG19_CONFIG)
        >>> feats = vgg(torch.rand(1, 3, 32, 32) * 255, layers=["relu3_4"])
        >>> feats["relu3_4"].shape
        torch.Size([1, 256, 8, 8])
    """

    def __init__(
        self,
        config: Sequence[Union[int, str]],
        layers: Iterable[str] | None = None,
        preprocess: Preprocess = "caffe",
    ) -> None:
        super().__init__()
        if preprocess not in ("caffe", "torchvision"):
            raise ValueError(f"preprocess must be 'caffe' or 'torchvision'. Got {preprocess!r}")
        self.config = list(config)
        self.preprocess = preprocess
        self.names = layer_names(self.config)
        modules: list[nn.Module] = []
        in_channels = 3
        for item in self.config:
            if item == "M":
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                modules += [
                    nn.Conv2d(in_channels, int(item), kernel_size=3, padding=1),
                    nn.ReLU(inplace=False),
                ]
                in_channels = int(item)
        self.features = nn.Sequential(*modules)
        self.layers = self._check_layers(self.names if layers is None else layers)
        if preprocess == "caffe":
            # RGB 0–255 → BGR 0–255 minus the Caffe mean; the flip is done in forward.
            mean, scale = torch.tensor(CAFFE_BGR_MEAN), torch.ones(3)
        else:
            mean = torch.tensor(IMAGENET_RGB_MEAN) * 255.0
            scale = 1.0 / (torch.tensor(IMAGENET_RGB_STD) * 255.0)
        self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        """Stay in eval mode: the loss network is frozen (VGG has no dropout/BN here anyway)."""
        return super().train(False)

    def _check_layers(self, layers: Iterable[str]) -> tuple[str, ...]:
        layers = tuple(layers)
        unknown = [name for name in layers if name not in self.names]
        if unknown or not layers:
            raise ValueError(
                f"layers must be a non-empty selection of {list(self.names)}. Got {list(layers)}"
            )
        return layers

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0–255 → what the weights expect (Caffe BGR minus mean, or torchvision mean/std)."""
        if self.preprocess == "caffe":
            image = image.flip(1)
        return (image - self.mean) * self.scale

    def forward(self, image: torch.Tensor, layers: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Run the network up to the deepest requested layer.

        Args:
            image: RGB float images in 0–255.
            layers: which features to return; the constructor's ``layers`` if None.

        Returns:
            ``{layer name: feature map}`` for exactly the requested layers.
        """
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            got = f"shape {tuple(image.shape)}" if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"image must be an N×3×H×W RGB tensor in 0–255. Got {got}")
        if not image.is_floating_point():
            raise ValueError(f"image must be a floating-point tensor in 0–255. Got dtype {image.dtype}")
        wanted = self.layers if layers is None else self._check_layers(layers)
        by_index = {self.names[name]: name for name in wanted}
        last = max(by_index)
        out: dict[str, torch.Tensor] = {}
        x = self.normalize(image)
        for index, module in enumerate(self.features):
            x = module(x)
            if index in by_index:
                out[by_index[index]] = x
            if index == last:
                break
        return {name: out[name] for name in wanted}


def _read_state_dict(path: Path) -> Mapping[str, object]:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"VGG weights file {path} does not exist; pass the path of a PyTorch state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "not a weights file"
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(
            f"{path} is not a PyTorch state dict (torch.load with weights_only=True failed: {first})"
        ) from error
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise ModelError(
            f"{path} must hold a state dict (a mapping of names to tensors). Got {type(state).__name__}"
        )
    return state


def _load_weights(model: VGGFeatures, state: Mapping[str, object], path: Path, what: str) -> VGGFeatures:
    expected = conv_shapes(model.config)
    for key, shape in expected.items():
        if key not in state:
            raise ModelError(
                f"{path} is missing {key!r} (expected shape {shape}) for {what}; "
                f"it has {len(state)} keys, e.g. {sorted(state)[:4]}"
            )
        value = state[key]
        found = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        if found != shape:
            raise ModelError(f"{path}: {key!r} for {what} must have shape {shape}. Got {found}")
    extra = sorted(set(state) - set(expected))
    if extra:
        logger.debug("%s: ignoring %d keys not used by %s (%s…)", path, len(extra), what, extra[:3])
    model.load_state_dict({key: state[key].float() for key in expected})  # type: ignore[union-attr]
    return model


def load_partial_vgg19(path: str | Path, layers: Iterable[str] | None = None) -> VGGFeatures:
    """Load the partial Caffe VGG19 (``conv1_1 … conv3_4``) from a state dict.

    Args:
        path: e.g. ``../shared/data/lossnet/vgg19_caffe_conv1_1-conv3_4.pth``.
        layers: default layers to return (``relu1_1 … relu3_4``); all of them if None.

    Returns:
        A frozen :class:`VGGFeatures` with Caffe preprocessing.

    Raises:
        ModelError: the file is missing, not a state dict, or lacks a key / has a wrong shape.
    """
    path = Path(path)
    model = VGGFeatures(PARTIAL_VGG19_CONFIG, layers=layers, preprocess="caffe")
    return _load_weights(model, _read_state_dict(path), path, "the partial VGG19 (conv1_1 … conv3_4)")


def from_torchvision(
    name: Literal["vgg16", "vgg19"], weights_path: str | Path, layers: Iterable[str] | None = None
) -> VGGFeatures:
    """Load a torchvision VGG16/VGG19 state dict the user already has (nothing is downloaded).

    The file is the ``state_dict()`` of ``torchvision.models.vgg16()``/``vgg19()`` (e.g. the
    ``vgg19-dcbb9e9d.pth`` torchvision caches). Only the ``features.*`` convs are used; the
    classifier keys are ignored. torchvision itself is not needed: the layers are rebuilt here under
    the same ``features.<index>`` names.

    Args:
        name: ``"vgg16"`` (``relu1_1 … relu5_3``) or ``"vgg19"`` (``relu1_1 … relu5_4``).
        weights_path: path of the state dict.
        layers: default layers to return; all reachable ones if None.

    Returns:
        A frozen :class:`VGGFeatures` with torchvision (RGB, ImageNet mean/std) preprocessing.

    Raises:
        ValueError: unknown ``name``.
        ModelError: the file is missing, not a state dict, or lacks a key / has a wrong shape.
    """
    if name not in VGG_CONFIGS:
        raise ValueError(f"name must be one of {sorted(VGG_CONFIGS)}. Got {name!r}")
    # The final pool is not needed for any ReLU feature.
    config = VGG_CONFIGS[name][:-1]
    path = Path(weights_path)
    model = VGGFeatures(config, layers=layers, preprocess="torchvision")
    return _load_weights(model, _read_state_dict(path), path, f"torchvision {name}")
