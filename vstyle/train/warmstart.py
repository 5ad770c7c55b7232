"""Start a ``quality`` student from its teacher's weights instead of from random ones.

The ``quality`` layout is the teacher's (``engstrom``) with two changes: nearest-upsample + conv in
place of the transposed convs, and no instance norm after the output conv. Every other layer has
the same shape and is copied. A transposed conv is a conv over the zero-interleaved input with the
kernel flipped and its in/out axes swapped; over a nearest-upsampled input the same kernel sees
each value four times instead of once, a difference in scale the instance norm after it removes,
so the flipped kernel is a close start. The teacher's output instance norm is folded into the
student's output conv with per-channel statistics measured on sample images.

``quality-aa`` has the same weights (its low-pass filters are fixed), so it starts the same way.
A student of the teacher's own ``engstrom`` layout takes its weights unchanged: it starts as the
teacher itself, and distillation only moves it towards a steadier target (``teacher_grid``).

Distillation then only has to correct these approximations, which takes a few hundred steps
instead of the thousands a random start needs.
"""

from __future__ import annotations

import torch

from vstyle.errors import ConfigError
from vstyle.models.stylenet import StyleNet


@torch.no_grad()
def warm_start(student: StyleNet, teacher: StyleNet, images: torch.Tensor) -> StyleNet:
    """Copy ``teacher``'s weights into ``student`` (see the module docstring); returns ``student``.

    Args:
        student: a network of the ``quality`` layout (nearest upsampling, no output norm), or of
            the teacher's own layout (an exact copy).
        teacher: an imported teacher (``engstrom`` layout).
        images: sample inputs for the output-norm statistics, RGB float 0–255.

    Shape:
        - images: :math:`(N, 3, H, W)`, ``H`` and ``W`` multiples of 4.
    """
    s, t = student.spec, teacher.spec
    if s == t:
        student.load_state_dict(teacher.state_dict())
        return student
    same = (s.stem_channels, s.down_channels, s.up_channels, s.res_blocks, s.depthwise_res, s.unshuffle) == (
        t.stem_channels,
        t.down_channels,
        t.up_channels,
        t.res_blocks,
        t.depthwise_res,
        t.unshuffle,
    )
    if not same or s.upsample != "nearest" or t.upsample != "deconv" or s.out_norm or not t.out_norm:
        raise ConfigError(
            f"a warm start copies an engstrom teacher into the quality layout; got {t.name!r} → {s.name!r}"
        )
    student_state = student.state_dict()
    for name, value in teacher.state_dict().items():
        if name.startswith("up.") and name.endswith(".conv.weight"):
            target = name.replace(".conv.weight", ".layer.conv.weight")
            student_state[target] = value.transpose(0, 1).flip(-1, -2).clone()
        elif name.startswith("up.") and ".norm." in name:
            student_state[name.replace(".norm.", ".layer.norm.")] = value.clone()
        elif name.startswith("out.norm."):
            continue
        elif name in student_state and student_state[name].shape == value.shape:
            student_state[name] = value.clone()
        else:
            raise ConfigError(f"teacher weight {name} {tuple(value.shape)} has no place in the student")
    student.load_state_dict(student_state)
    # Fold the teacher's output instance norm into the output conv: measure the conv's per-channel
    # mean and std on the sample images, then w' = w·γ/σ and b' = β − μ·γ/σ.
    conv = student.out.conv
    captured: list[torch.Tensor] = []
    handle = conv.register_forward_hook(lambda _m, _i, out: captured.append(out))
    conv.bias.zero_()
    student.eval()(images)
    handle.remove()
    pre = captured[0]
    mean = pre.mean(dim=(0, 2, 3))
    std = (pre.var(dim=(0, 2, 3)) + t.norm_eps).sqrt()
    gamma, beta = teacher.out.norm.weight, teacher.out.norm.bias
    conv.weight.mul_((gamma / std).view(-1, 1, 1, 1))
    conv.bias.copy_(beta - mean * gamma / std)
    return student
