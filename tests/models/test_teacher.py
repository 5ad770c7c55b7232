"""Teacher import: exact TF semantics against an independent numpy forward, and helpful errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from numpy_teacher import conv_same, conv_transpose_same, teacher_forward
from teacher_files import write_teacher

from vstyle.errors import ModelError
from vstyle.models.teacher import list_teachers, load_teacher, read_teacher_variables


def _run(net, image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        return net(x)[0].permute(1, 2, 0).numpy().astype(np.float64)


@pytest.mark.parametrize("k,s,n_in", [(3, 2, 8), (3, 2, 9), (9, 1, 7), (4, 2, 10)])
def test_numpy_transposed_conv_is_the_adjoint_of_numpy_same_conv(k: int, s: int, n_in: int) -> None:
    # <conv(x), y> == <conv_T(y), x>: the reference's transposed conv is TF's by definition.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n_in, n_in + 3, 2))
    w = rng.normal(size=(k, k, 2, 3))
    y_shape = conv_same(x, w, s).shape
    y = rng.normal(size=y_shape)
    assert np.isclose((conv_same(x, w, s) * y).sum(), (conv_transpose_same(y, w, s, x.shape[:2]) * x).sum())


@pytest.mark.parametrize("size", [(20, 28), (21, 27), (16, 17)])
def test_scream_import_matches_independent_numpy_reference(teachers_dir: Path, size: tuple[int, int]) -> None:
    folder = teachers_dir / "scream"
    image = np.random.default_rng(0).uniform(0, 255, (*size, 3))
    ref = np.clip(teacher_forward(read_teacher_variables(folder), image), 0, 255)
    # TF rounds odd sizes up inside the network; the import crops back to the input size.
    ref = ref[: size[0], : size[1]]
    out = _run(load_teacher(folder), image)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 0.05


def test_synthetic_teacher_import_matches_numpy_reference(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "synthetic", seed=3)
    image = np.random.default_rng(1).uniform(0, 255, (12, 20, 3))
    ref = np.clip(teacher_forward(read_teacher_variables(folder), image), 0, 255)
    assert np.abs(_run(load_teacher(folder), image) - ref).max() < 0.05


def test_scream_output_is_aligned_with_its_input_on_real_photos(teachers_dir: Path, photos_dir: Path) -> None:
    # Catches a transposed conv shifted by one pixel (PyTorch padding=1/output_padding=1 is *not*
    # TF's SAME here: it moves the picture ~3 px up-left); the true import stays within ±1 px.
    cv2 = pytest.importorskip("cv2")
    net = load_teacher(teachers_dir / "scream")
    photos = sorted((photos_dir / "bsds500").rglob("*.jpg"))[:2]
    if not photos:
        pytest.skip("no BSDS500 photos in the shared data")

    def edges(a: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(a.astype(np.float32), cv2.COLOR_RGB2GRAY)
        return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))

    for photo in photos:
        image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)[:320, :320]
        (dx, dy), _ = cv2.phaseCorrelate(edges(image), edges(_run(net, image)))
        assert abs(dx) < 1.0 and abs(dy) < 1.0, f"{photo.name}: output shifted by ({dx:.2f}, {dy:.2f}) px"


def test_list_teachers_names_folders_with_a_manifest(tmp_path: Path) -> None:
    write_teacher(tmp_path / "b")
    write_teacher(tmp_path / "a")
    (tmp_path / "not_a_teacher").mkdir()
    assert list_teachers(tmp_path) == ["a", "b"]
    assert list_teachers(tmp_path / "absent") == []


def test_missing_teacher_folder_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_teacher(tmp_path / "nope")


def test_missing_manifest_raises_model_error(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "t")
    (folder / "manifest.json").unlink()
    with pytest.raises(ModelError, match="has no manifest.json"):
        load_teacher(folder)


def test_manifest_that_is_not_json_raises_model_error(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "t")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="is not valid JSON"):
        load_teacher(folder)


def test_manifest_missing_variables_raises_model_error(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "t")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["Variable_47"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="expected 48 variables.*missing Variable_47"):
        load_teacher(folder)


def test_wrong_variable_shape_raises_model_error_naming_both_shapes(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "t")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["Variable_3"]["shape"] = [3, 3, 64, 32]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        ModelError, match=r"Variable_3 should have shape \[3, 3, 32, 64\].*found \[3, 3, 64, 32\]"
    ):
        load_teacher(folder)


def test_truncated_variable_file_raises_model_error_with_sizes(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "t")
    data = (folder / "Variable_6").read_bytes()
    (folder / "Variable_6").write_bytes(data[:-8])
    with pytest.raises(ModelError, match=f"expected {len(data)} bytes.*found {len(data) - 8}.*truncated"):
        load_teacher(folder)


def test_missing_variable_file_raises_model_error(tmp_path: Path) -> None:
    folder = write_teacher(tmp_path / "t")
    (folder / "Variable_12").unlink()
    with pytest.raises(ModelError, match="Variable_12 listed in the manifest is missing"):
        load_teacher(folder)
