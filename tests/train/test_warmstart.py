"""Warm start: a teacher's weights copied into the ``quality`` layouts start near the teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vstyle.errors import ConfigError  # noqa: E402
from vstyle.evaluate.similarity import psnr  # noqa: E402
from vstyle.models.spec import get_arch  # noqa: E402
from vstyle.models.stylenet import StyleNet  # noqa: E402
from vstyle.models.teacher import load_teacher  # noqa: E402
from vstyle.train.warmstart import warm_start  # noqa: E402


def _run(net: StyleNet, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return net.eval()(x)[0].permute(1, 2, 0).round().byte().numpy()


@pytest.mark.parametrize("arch", ["quality", "quality-aa"])
def test_a_warm_started_student_is_far_nearer_the_teacher_than_a_random_one(
    arch: str, teachers_dir: Path, photos_dir: Path
) -> None:
    cv2 = pytest.importorskip("cv2")
    teacher = load_teacher(teachers_dir / "scream").eval()
    photo = sorted((photos_dir / "bsds500").rglob("*.jpg"))[0]
    image = cv2.resize(cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB), (192, 128))
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    target = _run(teacher, x)
    torch.manual_seed(0)
    fresh = StyleNet(get_arch(arch))
    random_psnr = psnr(_run(fresh, x), target)
    warm_psnr = psnr(_run(warm_start(fresh, teacher, x), x), target)
    assert warm_psnr > random_psnr + 5.0, (warm_psnr, random_psnr)


def test_warm_start_refuses_other_layouts(teachers_dir: Path) -> None:
    teacher = load_teacher(teachers_dir / "scream")
    with pytest.raises(ConfigError, match="quality layout"):
        warm_start(StyleNet(get_arch("fast")), teacher, torch.zeros(1, 3, 32, 32))


def test_a_student_of_the_teachers_own_layout_starts_as_the_teacher(teachers_dir: Path) -> None:
    teacher = load_teacher(teachers_dir / "wave").eval()
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 96) * 255
    student = warm_start(StyleNet(get_arch("engstrom")), teacher, x)
    with torch.no_grad():
        assert torch.equal(student.eval()(x), teacher(x))
    # A copy, not the same tensors: training the student leaves the teacher as it was.
    assert all(a.data_ptr() != b.data_ptr() for a, b in zip(student.parameters(), teacher.parameters()))
