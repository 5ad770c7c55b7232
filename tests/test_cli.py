"""The command line end to end: real files in, real files out, and every bad input refused cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import decode, make_clip, only, read_streams

from vstyle.cli import main

ROOT = Path(__file__).resolve().parents[1]


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    """Files in ``folder`` other than ``keep`` (temporary or partial outputs would show here)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("vstyle: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_render_keeps_every_frame_its_timestamp_and_the_audio(
    tmp_path: Path, tiny_model: Path, capsys
) -> None:
    source = make_clip(tmp_path / "in.mp4", frames=30, size=(96, 64), fps=25)
    out, report = tmp_path / "out.mp4", tmp_path / "metrics.json"
    assert (
        main(["render", str(source), "-o", str(out), "--model", str(tiny_model), "--json", str(report)]) == 0
    )
    src, dst = read_streams(source), read_streams(out)
    assert only(dst, "video").times == only(src, "video").times, "frame count and timestamps must survive"
    a_src, a_dst = only(src, "audio"), only(dst, "audio")
    assert a_dst.codec == a_src.codec and a_dst.payloads == a_src.payloads, "audio must be copied unchanged"
    assert a_dst.end == a_src.end, "audio keeps its duration"
    metrics = json.loads(report.read_text())
    assert metrics["frames_out"] == 30 and metrics["dropped"] == 0 and metrics["backend"] == "onnxruntime"
    assert leftovers(tmp_path, {"in.mp4", "out.mp4", "metrics.json"}) == []


def test_render_variable_frame_rate_survives(tmp_path: Path, tiny_model: Path) -> None:
    stamps = [0, 1, 3, 4, 8, 9, 10, 15, 16, 30]
    source = make_clip(
        tmp_path / "vfr.mp4", frames=len(stamps), pts=stamps, time_base=Fraction(1, 30), audio=None
    )
    out = tmp_path / "out.mp4"
    assert main(["render", str(source), "-o", str(out), "--model", str(tiny_model)]) == 0
    assert only(read_streams(out), "video").times == [Fraction(s, 30) for s in stamps]


@pytest.mark.parametrize(
    "cut",
    [["--start", "1.3", "--end", "2.5"], ["--start", "0:01.3", "--duration", "1.2"]],
    ids=["end", "duration"],
)
def test_render_a_cut_from_zero_with_the_audio_of_the_cut(
    tmp_path: Path, tiny_model: Path, cut: list[str]
) -> None:
    source = make_clip(tmp_path / "in.mp4", frames=100, size=(64, 48), fps=25, keyint=10)  # 4 s
    out = tmp_path / "out.mp4"
    assert main(["render", str(source), "-o", str(out), "--model", str(tiny_model), *cut]) == 0
    src, dst = read_streams(source), read_streams(out)
    video = only(dst, "video")
    assert video.times == [Fraction(i, 25) for i in range(30)], "frames 33-62 of the source, from 0"
    offset = Fraction(33, 25)
    a_src, a_dst = only(src, "audio"), only(dst, "audio")
    # Packet for packet: the source's audio from the packet sounding at the cut, moved back by it.
    first = next(i for i, t in enumerate(a_src.times) if t + Fraction(1024, 48000) > offset)
    assert a_dst.payloads == a_src.payloads[first : first + len(a_dst.payloads)]
    assert a_dst.times == [t - offset for t in a_src.times[first : first + len(a_dst.times)]]
    assert -Fraction(1024, 48000) < a_dst.times[0] <= 0
    video_end = Fraction(30, 25)
    assert video_end <= a_dst.end <= video_end + Fraction(1024, 48000), "sound stops with the picture"
    assert leftovers(tmp_path, {"in.mp4", "out.mp4"}) == []


@pytest.mark.parametrize(
    ("input_", "args", "message"),
    [
        ("clip", ["--start", "9"], "nothing to read from 9 s on, its video ends at 2.000 s"),
        ("clip", ["--start", "1", "--end", "0.5"], "not after its start"),
        ("clip", ["--start", "1.01", "--duration", "0.001"], "the cut from 1.01 s to 1.011 s holds no frame"),
        ("synthetic:64x48@25", ["--start", "1"], "--start/--end/--duration cut a video file"),
    ],
)
def test_render_refuses_a_cut_it_cannot_make(
    tmp_path: Path, tiny_model: Path, capsys, input_: str, args: list[str], message: str
) -> None:
    source = make_clip(tmp_path / "in.mp4", frames=50, size=(64, 48), fps=25, audio=None)
    spec = str(source) if input_ == "clip" else input_
    out = tmp_path / "out.mp4"
    assert main(["render", spec, "-o", str(out), "--model", str(tiny_model), *args]) == 1
    assert message in one_line_error(capsys)
    assert leftovers(tmp_path, {"in.mp4"}) == []


@pytest.mark.parametrize(
    "args", [["--start", "1:75"], ["--start", "-3"], ["--start", "ten"], ["--end", "2", "--duration", "1"]]
)
def test_render_cut_arguments_are_checked_by_the_parser(tmp_path: Path, capsys, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["render", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out.mp4"), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("vstyle: error: render: argument --") and err.count("\n") == 1
    assert "(see `vstyle render --help`)" in err and "usage:" not in err


def test_render_at_strength_zero_writes_the_input(tmp_path: Path, tiny_model: Path, capsys) -> None:
    import cv2

    from vstyle.capture import SyntheticScene

    out = tmp_path / "frames"
    code = main(["render", "synthetic:64x48@30", "-o", f"{out}/", "--model", str(tiny_model),
                 "--max-frames", "3", "--strength", "0"])  # fmt: skip
    assert code == 0
    scene = SyntheticScene(64, 48)
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 3
    for index, png in enumerate(pngs):
        np.testing.assert_array_equal(
            cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB), scene.render(index)
        )
    with pytest.raises(SystemExit) as exit_:
        main(["render", "synthetic", "-o", "null", "--strength", "1.5"])
    assert exit_.value.code == 2 and "must be in [0, 1], got 1.5" in capsys.readouterr().err


def test_render_to_images_with_height_and_batching(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "frames"
    code = main(["render", "synthetic:320x180@30", "-o", f"{out}/", "--model", str(tiny_model),
                 "--height", "90", "--batch", "4", "--max-frames", "10"])  # fmt: skip
    assert code == 0
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 10
    import cv2

    assert cv2.imread(str(pngs[0])).shape == (90, 160, 3)


def test_render_a_photo_to_a_still_and_one_frame_of_a_video(tmp_path: Path, tiny_model: Path, capsys) -> None:
    import cv2

    from vstyle.capture import SyntheticScene

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(SyntheticScene(96, 64).render(5), cv2.COLOR_RGB2BGR))
    still = tmp_path / "styled.jpg"
    assert main(["render", str(photo), "-o", str(still), "--model", str(tiny_model)]) == 0
    assert cv2.imread(str(still)).shape == (64, 96, 3)
    assert "1 frame in" in capsys.readouterr().err

    clip = make_clip(tmp_path / "in.mp4", frames=30, size=(64, 48), fps=25, audio=None)
    frame = tmp_path / "frame.png"
    code = main(["render", str(clip), "-o", str(frame), "--model", str(tiny_model),
                 "--start", "0.4", "--max-frames", "1", "--strength", "0"])  # fmt: skip
    assert code == 0
    with av.open(str(clip)) as container:
        tenth = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][10]
    np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB), tenth)
    capsys.readouterr()

    whole = tmp_path / "whole.png"
    assert main(["render", str(clip), "-o", str(whole), "--model", str(tiny_model)]) == 1
    assert "names a single image, but the input has 30 frames" in one_line_error(capsys)
    assert leftovers(tmp_path, {"photo.png", "styled.jpg", "in.mp4", "frame.png"}) == []


def test_render_several_inputs_goes_on_past_a_bad_one(tmp_path: Path, tiny_model: Path, capsys) -> None:
    clips = [
        make_clip(tmp_path / f"{name}.mp4", frames=n, size=(64, 48), fps=25)
        for name, n in (("a", 6), ("b", 9))
    ]
    bad = tmp_path / "c.mp4"
    bad.write_bytes(b"not a video")
    out = tmp_path / "out"
    out.mkdir()
    code = main(["render", str(clips[0]), str(bad), str(clips[1]), "-o", f"{out}/{{stem}}-{{style}}.mkv",
                 "--model", str(tiny_model), "--json", f"{out}/{{stem}}.json", "--no-progress"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert f"[2/3] {bad} → {out}/c-{tiny_model.stem}.mkv" in err
    assert f"vstyle: error: {bad}: cannot read" in err
    assert f"1 of 3 inputs failed ({bad}); the others were written" in err
    style = tiny_model.stem
    assert sorted(p.name for p in out.iterdir()) == [f"a-{style}.mkv", "a.json", f"b-{style}.mkv", "b.json"]
    for name, frames in (("a", 6), ("b", 9)):
        streams = read_streams(out / f"{name}-{style}.mkv")
        assert len(only(streams, "video").times) == frames, "every frame of each input"
        assert (
            only(streams, "audio").payloads == only(read_streams(tmp_path / f"{name}.mp4"), "audio").payloads
        )
        assert json.loads((out / f"{name}.json").read_text())["frames_out"] == frames


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (["{stem}.mp4", "--json", "m.json"], "2 inputs need --json to name each output with {stem}"),
        (["same.mp4"], "2 inputs need -o to name each output with {stem}"),
        (["out/{stem}.mp4"], "would both be written to"),
        (["{stem}x.mp4"], "an input; choose another -o"),
        (["missing/{stem}.mp4"], "folder 'missing' for 'missing/a.mp4' does not exist; create it first"),
    ],
)
def test_render_several_inputs_checks_every_name_first(
    tmp_path: Path, tiny_model: Path, capsys, monkeypatch, outputs: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    first = make_clip(tmp_path / "a.mp4", frames=3, size=(64, 48), fps=25, audio=None)
    second = make_clip(tmp_path / ("d/a.mp4" if "out/" in outputs[0] else "ax.mp4"), frames=3, size=(64, 48),
                       fps=25, audio=None)  # fmt: skip
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["render", str(first), str(second), "-o", *outputs, "--model", str(tiny_model)]) == 1
    assert message in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_render_in_several_styles_names_each_output_by_style(
    tmp_path: Path, tiny_model: Path, capsys
) -> None:
    import shutil

    import cv2

    other = shutil.copy(tiny_model, tmp_path / "other.onnx")
    shutil.copy(tiny_model.with_suffix(".json"), tmp_path / "other.json")
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((48, 64, 3), 90, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    code = main(["render", str(photo), "-o", f"{out}/{{stem}}-{{style}}.png",
                 "--styles", str(tiny_model), str(other), str(other)])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"photo-{tiny_model.stem}.png", "photo-other.png"]
    )
    assert f"[2/2] {photo} (other) → {out}/photo-other.png" in capsys.readouterr().err


def test_render_in_all_bundled_styles(tmp_path: Path, capsys) -> None:
    import cv2

    from vstyle.styles import available_styles

    bundled = [e.name for e in available_styles() if e.kind == "bundled"]
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((32, 48, 3), 120, np.uint8))
    assert main(["render", str(photo), "-o", "null", "--styles", "all", "--no-progress"]) == 0
    err = capsys.readouterr().err
    for number, name in enumerate(bundled, 1):
        assert f"[{number}/{len(bundled)}] {photo} ({name}) → null" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-o", "one.png", "--styles", "MODEL", "OTHER"],
            "2 styles need -o to name each output with {style}",
        ),
        (
            ["-o", "{style}.png", "--styles", "MODEL", "--style", "scream"],
            "give it without --style or --model",
        ),
        (["-o", "{style}.png", "--styles", "MODEL", "no-such-style"], "unknown style 'no-such-style'"),
        (["-o", "{style}.png", "--styles", "MODEL", "gone.onnx"], "model gone.onnx not found"),
    ],
)
def test_render_styles_are_checked_before_any_work(
    tmp_path: Path, tiny_model: Path, capsys, monkeypatch, args: list[str], message: str
) -> None:
    import shutil

    import cv2

    monkeypatch.chdir(tmp_path)
    shutil.copy(tiny_model, tmp_path / "other.onnx")
    cv2.imwrite("photo.png", np.zeros((48, 64, 3), np.uint8))
    args = [{"MODEL": str(tiny_model), "OTHER": "other.onnx"}.get(a, a) for a in args]
    assert main(["render", "photo.png", *args]) == 1
    assert message in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.onnx", "photo.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "out.mp4", "--json", "in.mp4"], "--json 'in.mp4' is an input of this run"),
        (["-o", "out.mp4", "--json", "out.mp4"], "--json 'out.mp4' is an output of this run"),
        (["-o", "out.mp4", "--json", "mine.json"], "--json 'mine.json' exists; pass --overwrite"),
        (["-o", "out.mp4", "--json", "nowhere/m.json"], "folder 'nowhere' does not exist"),
        (["-o", "{stem}-{foo}.mp4"], "names an unknown field {foo}; the fields are {stem} and {style}"),
        (["-o", "{stem}.mp4", "PERCENT"], "has '%' in its name"),
        (["-o", "{stem}.mp4", "GLOB"], "is a glob, read as one image sequence"),
    ],
)
def test_render_refuses_a_bad_report_or_output_name_before_any_work(
    tmp_path: Path, tiny_model: Path, capsys, monkeypatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make_clip(tmp_path / "in.mp4", frames=3, size=(64, 48), fps=25, audio=None)
    (tmp_path / "mine.json").write_text("the user's notes")
    inputs = ["in.mp4"]
    if "PERCENT" in args:
        args.remove("PERCENT")
        make_clip(tmp_path / "50%d.mp4", frames=3, size=(64, 48), fps=25, audio=None)
        inputs.append("50%d.mp4")
    if "GLOB" in args:
        args.remove("GLOB")
        inputs.append("*.mp4")  # quoted: not expanded by a shell
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["render", *inputs, *args, "--model", str(tiny_model)]) == 1
    assert message in one_line_error(capsys)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["thin.png", "-o", "out.png"], "frames of 400×3 pixels are too small"),
        (["synthetic:64x48", "-o", "out.mp4", "--preset", "bogus"], "libx264 has no preset 'bogus'"),
        (["synthetic:64x48", "-o", "p/%d_%d.png"], "an image pattern needs exactly one frame-number field"),
        (["synthetic:99999x99999", "-o", "null"], "synthetic width must be a whole number of pixels from 16"),
        (["synthetic:64x48", "-o", "b" * 300 + ".mp4"], "more than the 255 a file system allows"),
        (
            ["thin.png", "wide.png", "-o", "{stem}-x.png"],
            "wide-x.png (for wide.png) exists; pass --overwrite",
        ),
    ],
)
def test_more_bad_input_is_one_clear_line_before_any_work(
    tmp_path: Path, tiny_model: Path, capsys, monkeypatch, args: list[str], message: str
) -> None:
    import cv2

    monkeypatch.chdir(tmp_path)
    cv2.imwrite("thin.png", np.zeros((3, 400, 3), np.uint8))
    cv2.imwrite("wide.png", np.zeros((48, 64, 3), np.uint8))
    cv2.imwrite("wide-x.png", np.zeros((48, 64, 3), np.uint8))  # an earlier result
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["render", *args, "--model", str(tiny_model), "--max-frames", "2"]) == 1
    assert message in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_long_but_legal_output_name_is_written(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / ("a" * 250 + ".mp4")  # its staging name would pass 255 bytes: a short one is used
    assert (
        main(["render", "synthetic:64x48", "-o", str(out), "--model", str(tiny_model), "--max-frames", "2"])
        == 0
    )
    assert len(only(read_streams(out), "video").times) == 2 and leftovers(tmp_path, {out.name}) == []


def test_demo_never_writes_over_a_sheet_and_takes_overwrite(tmp_path: Path, tiny_model: Path, capsys) -> None:
    sheet = tmp_path / "d.png"
    sheet.write_bytes(b"the user's picture")
    out = tmp_path / "d.mp4"
    assert main(["demo", "-o", str(out), "--frames", "3", "--model", str(tiny_model)]) == 1
    assert "d.png (the contact sheet) exists; pass --overwrite" in one_line_error(capsys)
    assert sheet.read_bytes() == b"the user's picture" and not out.exists()
    assert main(["demo", "-o", str(tmp_path / "still.png"), "--model", str(tiny_model)]) == 1
    assert "give -o a video name" in one_line_error(capsys)
    assert main(["demo", "-o", str(out), "--frames", "3", "--model", str(tiny_model), "--overwrite"]) == 0
    assert sheet.read_bytes()[:4] == b"\x89PNG" and len(only(read_streams(out), "video").times) == 3


def test_live_synthetic_to_null_reports_latency(tmp_path: Path, tiny_model: Path) -> None:
    report = tmp_path / "live.json"
    code = main(["live", "--input", "synthetic:160x96@30", "--no-display", "--max-frames", "15",
                 "--model", str(tiny_model), "--json", str(report)])  # fmt: skip
    assert code == 0
    m = json.loads(report.read_text())
    assert m["mode"] == "live" and m["frames_in"] == 15
    assert m["frames_out"] + m["dropped"] == 15
    assert m["latency_ms"]["p50"] is not None


def test_live_window_offers_every_bundled_style_and_checks_named_ones_first(
    tmp_path: Path, tiny_model: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from vstyle.styles import available_styles

    report = tmp_path / "live.json"
    code = main(["live", "--input", "synthetic:64x48@30", "--max-frames", "3", "--model", str(tiny_model),
                 "--json", str(report)])  # fmt: skip
    assert code == 0
    bundled = [e.name for e in available_styles() if e.kind == "bundled"]
    assert json.loads(report.read_text())["styles"] == ["tiny", *bundled]

    capsys.readouterr()
    code = main(["live", "--input", "synthetic:64x48@30", "--no-display", "--max-frames", "3",
                 "--model", str(tiny_model), "--styles", "scream-tiny", "no-such-style"])  # fmt: skip
    assert code == 1
    assert "unknown style 'no-such-style'" in one_line_error(capsys)


def test_live_mirror_flips_the_window_only(tmp_path: Path, tiny_model: Path, monkeypatch) -> None:
    pygame = pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from vstyle import StylizeConfig, live

    checked = []

    def compare(frame) -> None:  # on the writer thread, right after the window showed the frame
        shown = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
        below_label = slice(32, None)  # the top rows carry the frame rate
        np.testing.assert_array_equal(shown[below_label], frame.image[:, ::-1][below_label])
        checked.append(frame.image)

    out = tmp_path / "take.mp4"
    live("synthetic:64x48@30", ["window", str(out)], stylize=StylizeConfig(model=tiny_model),
         max_frames=3, on_frame=compare, mirror=True)  # fmt: skip
    assert len(checked) == 3
    recorded = decode(out)[1]
    assert len(recorded) == 3
    for made, kept in zip(checked, recorded):  # the recording is the picture as made, not mirrored
        error = np.abs(kept.image.astype(int) - made).mean()
        assert error < np.abs(kept.image.astype(int) - made[:, ::-1]).mean() and error < 8


def test_live_plays_a_cut_of_a_file(tmp_path: Path, tiny_model: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=50, size=(64, 48), fps=25, audio=None, keyint=10)
    report = tmp_path / "live.json"
    code = main(["live", "--input", str(clip), "--no-display", "--model", str(tiny_model),
                 "--start", "1.2", "--duration", "0.4", "--json", str(report)])  # fmt: skip
    assert code == 0
    assert json.loads(report.read_text())["frames_in"] == 10  # 1.20 s to 1.56 s at 25 fps


@pytest.mark.parametrize("display", [True, False], ids=["window-and-file", "file-alone"])
def test_live_records_what_it_shows(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch, display: bool
) -> None:
    if display:
        pytest.importorskip("pygame")
        monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    clip = make_clip(tmp_path / "in.mp4", frames=20, size=(64, 48), fps=25)
    out, report = tmp_path / "rec.mp4", tmp_path / "live.json"
    code = main(["live", "--input", str(clip), "--model", str(tiny_model), "--record", str(out),
                 "--json", str(report), *([] if display else ["--no-display"])])  # fmt: skip
    assert code == 0
    written = json.loads(report.read_text())["frames_out"]
    streams = read_streams(out)
    assert len(only(streams, "video").times) == written > 0
    assert only(streams, "audio").payloads, "a file played live keeps its sound in the recording"
    assert leftovers(tmp_path, {"in.mp4", "rec.mp4", "live.json"}) == []


def test_live_asks_the_camera_for_a_format_and_says_what_it_got(
    tmp_path: Path, tiny_model: Path, capsys, caplog: pytest.LogCaptureFixture
) -> None:
    # A file URL goes through the camera's own code (OpenCV), as a camera would; a file offers one size.
    clip = make_clip(tmp_path / "in.mp4", frames=10, size=(64, 48), fps=25, audio=None)
    code = main(["live", "--input", clip.as_uri(), "--camera-size", "1280x720", "--camera-fps", "30",
                 "--no-display", "--model", str(tiny_model), "--max-frames", "3"])  # fmt: skip
    assert code == 0
    assert "asked for 1280×720, it delivers 64×48" in caplog.text
    capsys.readouterr()
    code = main(["live", "--input", "synthetic:64x48@30", "--camera-size", "640x480", "--no-display"])
    assert code == 1 and "is not one; use --height" in one_line_error(capsys)
    with pytest.raises(SystemExit):
        main(["live", "--camera-size", "640by480"])
    assert "expected WIDTHxHEIGHT" in capsys.readouterr().err


def test_live_height_auto_fits_the_network_and_render_refuses_it(
    tmp_path: Path, tiny_model: Path, capsys
) -> None:
    report = tmp_path / "live.json"
    code = main(["live", "--input", "synthetic:320x180@30", "--no-display", "--max-frames", "5",
                 "--model", str(tiny_model), "--height", "auto", "--json", str(report)])  # fmt: skip
    assert code == 0
    width, height = json.loads(report.read_text())["output_size"]
    assert 144 <= height <= 180 and height % 2 == 0 and width % 2 == 0
    capsys.readouterr()
    code = main(["render", "synthetic:320x180@30", "-o", "null", "--height", "auto", "--max-frames", "2"])
    assert code == 1 and "--height auto fits the network to a live source" in one_line_error(capsys)


def test_live_sink_options_go_to_the_file_among_several_outputs(tmp_path: Path, tiny_model: Path) -> None:
    from vstyle.config import StylizeConfig
    from vstyle.render import live

    out = tmp_path / "take.mp4"
    metrics = live(
        "synthetic:64x48@30", ["null", out], stylize=StylizeConfig(model=tiny_model), max_frames=4,
        sink_options={"preset": "ultrafast", "crf": 30},  # the null sink takes neither: only the file gets them
    )  # fmt: skip
    assert len(only(read_streams(out), "video").times) == metrics.frames_out > 0


def test_live_virtual_camera_missing_is_one_line_and_closes_the_preview(
    tiny_model: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    pytest.importorskip("pygame")
    if importlib.util.find_spec("pyvirtualcam") is not None:
        pytest.skip("pyvirtualcam is installed here")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    code = main(["live", "--input", "synthetic:64x48@30", "--virtual-cam", "--max-frames", "2",
                 "--model", str(tiny_model)])  # fmt: skip
    assert code == 1 and "pip install 'vstyle[virtualcam]'" in one_line_error(capsys)
    import pygame

    assert not pygame.display.get_init(), "the preview window opened first and was closed"


def test_stabilizer_in_render_and_live(tmp_path: Path, tiny_model: Path, capsys) -> None:
    report = tmp_path / "render.json"
    out = tmp_path / "steady.mp4"
    code = main(["render", "synthetic:160x96@30", "-o", str(out), "--model", str(tiny_model), "--max-frames", "12",
                 "--stabilize", "--json", str(report)])  # fmt: skip
    assert code == 0 and len(only(read_streams(out), "video").times) == 12
    m = json.loads(report.read_text())
    assert m["frames_out"] == 12 and m["stages_ms_per_frame"]["post"] > 0
    code = main(["live", "--input", "synthetic:160x96@30", "--no-display", "--max-frames", "8",
                 "--model", str(tiny_model), "--stabilize", "0.3", "--json", str(report), "--overwrite"])  # fmt: skip
    assert code == 0 and "post" in json.loads(report.read_text())["stages_ms_per_frame"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "synthetic:160x96@30", "-o", str(tmp_path / "x.mp4"), "--stabilize", "1.5"])
    assert exit_info.value.code == 2 and "[0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()


def test_camera_path_reads_a_file_in_live_mode(tmp_path: Path, tiny_model: Path) -> None:
    """No camera exists on CI machines: the camera code path is driven by a video file instead."""
    clip = make_clip(tmp_path / "cam.mp4", frames=12, size=(96, 64), audio=None)
    report = tmp_path / "m.json"
    code = main(
        [
            "live",
            "--input",
            f"file://{clip}",
            "--no-display",
            "--model",
            str(tiny_model),
            "--json",
            str(report),
        ]
    )
    assert code == 0
    assert json.loads(report.read_text())["frames_out"] >= 1


def test_styles_and_info_list_what_is_here(capsys) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime: available" in out and "av:" in out
    assert main(["styles"]) == 0


# -- bad input: one line, exit 1, no traceback, no output file --------------------------------------


def _corrupt(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) // 3 :] = bytes(len(data) - len(data) // 3)  # zero the back two thirds (index too)
    path.write_bytes(bytes(data))
    return path


def _zero_frames(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    return path


BAD_INPUTS = {
    "missing file": lambda d: d / "nope.mp4",
    "not a video": lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4",
    "truncated file": lambda d: _truncate(make_clip(d / "t.mp4", frames=30, audio=None)),
    "corrupt file": lambda d: _corrupt(make_clip(d / "c.mp4", frames=30, audio=None)),
    "zero frames": lambda d: _zero_frames(d / "empty.mkv"),
}


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_no_output(
    case: str, tmp_path: Path, tiny_model: Path, capsys
) -> None:
    source = BAD_INPUTS[case](tmp_path)
    before = set(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out.mp4"
    assert main(["render", str(source), "-o", str(out), "--model", str(tiny_model)]) == 1
    line = one_line_error(capsys)
    assert len(line) < 400
    assert leftovers(tmp_path, before) == [], "no output or temporary file may be left"


def test_unwritable_output_folder(tmp_path: Path, tiny_model: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio=None)
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    targets = [tmp_path / "missing" / "out.mp4", blocker / "out.mp4"]
    if Path("/proc/self").is_dir():  # writable by permission bits for root, but not by anyone
        targets.append(Path("/proc/out.mp4"))
    for target in targets:
        assert main(["render", str(clip), "-o", str(target), "--model", str(tiny_model)]) == 1
        assert target.parent.name in one_line_error(capsys), "the message names the folder at fault"
        assert not target.exists()
    assert leftovers(tmp_path, {"in.mp4", "file"}) == []


def test_output_equal_to_input_is_refused(tmp_path: Path, tiny_model: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio=None)
    original = clip.read_bytes()
    assert main(["render", str(clip), "-o", str(clip), "--model", str(tiny_model), "--overwrite"]) == 1
    one_line_error(capsys)
    assert clip.read_bytes() == original
    assert leftovers(tmp_path, {"in.mp4"}) == []


def test_existing_output_is_not_overwritten_unless_asked(tmp_path: Path, tiny_model: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio=None)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    assert main(["render", str(clip), "-o", str(out), "--model", str(tiny_model)]) == 1
    message = one_line_error(capsys)
    assert "--overwrite" in message and "--resume to continue it if a render was interrupted" in message
    assert out.read_bytes() == b"precious"
    assert main(["render", str(clip), "-o", str(out), "--model", str(tiny_model), "--resume"]) == 1
    assert "does not open as a video" in one_line_error(capsys)
    assert out.read_bytes() == b"precious"
    assert main(["render", str(clip), "-o", str(out), "--model", str(tiny_model), "--overwrite"]) == 0
    assert len(only(read_streams(out), "video").times) == 20


def test_a_file_that_is_not_a_model(tmp_path: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio=None)
    junk = tmp_path / "model.onnx"
    junk.write_bytes(os.urandom(2048))
    assert main(["render", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", str(junk)]) == 1
    assert "model" in one_line_error(capsys)
    assert leftovers(tmp_path, {"in.mp4", "model.onnx"}) == []


def test_missing_model_and_unknown_style(tmp_path: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio=None)
    assert (
        main(["render", str(clip), "-o", str(tmp_path / "o.mp4"), "--model", str(tmp_path / "no.onnx")]) == 1
    )
    one_line_error(capsys)
    assert main(["render", str(clip), "-o", str(tmp_path / "o.mp4"), "--style", "no-such-style"]) == 1
    assert "no-such-style" in one_line_error(capsys)


def test_no_camera(tiny_model: Path, capsys) -> None:
    assert main(["live", "--camera", "63", "--no-display", "--model", str(tiny_model)]) == 1
    assert "camera" in one_line_error(capsys)


def test_unavailable_backend_says_how_to_install(tmp_path: Path, tiny_model: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio=None)
    code = main(
        [
            "render",
            str(clip),
            "-o",
            str(tmp_path / "o.mp4"),
            "--model",
            str(tiny_model),
            "--backend",
            "onnxruntime-cuda",
        ]
    )
    assert code == 1
    assert "pip install" in one_line_error(capsys)
    assert (
        main(
            [
                "render",
                str(clip),
                "-o",
                str(tmp_path / "o.mp4"),
                "--model",
                str(tiny_model),
                "--backend",
                "magic",
            ]
        )
        == 1
    )
    assert "onnxruntime" in one_line_error(capsys)
    assert leftovers(tmp_path, {"in.mp4"}) == []


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_interrupt_leaves_a_playable_file_of_what_was_done(
    tmp_path: Path, tiny_model: Path, signum: int, status: int
) -> None:
    out = tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "vstyle", "-v", "render", "synthetic:320x180@30", "-o", str(out),
           "--model", str(tiny_model), "--no-progress"]  # fmt: skip
    # A shell starts background jobs with SIGINT ignored, an ignored signal stays ignored across
    # exec, and Python then installs no Ctrl-C handler: start the render with the handler a terminal
    # gives, or this Ctrl-C is lost whenever the suite itself runs in the background.
    # (nohup ignores SIGHUP the same way.)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_hup = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGHUP, previous_hup)
    time.sleep(6.0)  # an endless synthetic source: only the signal ends this run
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave an endless render behind to slow the rest of the suite
        _, err = proc.communicate()
        pytest.fail(f"render did not end within 60 s of {signal.Signals(signum).name}; its log:\n{err}")
    assert proc.returncode == status, err
    assert "Traceback" not in err
    frames = only(read_streams(out), "video").times
    assert len(frames) > 0, "the interrupted file must play and hold the frames written"
    assert leftovers(tmp_path, {"out.mp4"}) == []
    assert err.rstrip().endswith(f"vstyle: interrupted; kept {len(frames)} frames in {out}"), err


def _interrupt_at(monkeypatch, frames: list[int]) -> None:
    """Ctrl-C, as the terminal sends it to the main thread, when the progress bar of the render
    numbered ``frames[0]`` (from 1) reaches frame ``frames[1]`` (0: as the render starts)."""
    import _thread

    import tqdm

    render_number, frame_number = frames
    seen = {"renders": 0}
    real_init, real_update = tqdm.tqdm.__init__, tqdm.tqdm.update

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen["renders"] += 1
        self.vstyle_frames = 0
        if seen["renders"] == render_number and frame_number == 0:
            _thread.interrupt_main()

    def update(self, n=1):
        self.vstyle_frames += n
        if seen["renders"] == render_number and self.vstyle_frames == frame_number:
            _thread.interrupt_main()
        return real_update(self, n)

    monkeypatch.setattr(tqdm.tqdm, "__init__", init)
    monkeypatch.setattr(tqdm.tqdm, "update", update)


def test_interrupt_says_what_was_kept(tmp_path: Path, tiny_model: Path, monkeypatch, capsys) -> None:
    clips = [make_clip(tmp_path / f"{name}.mp4", frames=40, audio=None) for name in ("a", "b")]
    template = str(tmp_path / "{stem}-out.mp4")
    command = ["render", *map(str, clips), "-o", template, "--model", str(tiny_model), "--no-progress"]

    # In the second of two renders: the first is finished, the second kept as far as it got.
    _interrupt_at(monkeypatch, [2, 3])
    assert main(command) == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    kept = len(only(read_streams(tmp_path / "b-out.mp4"), "video").times)
    assert 3 <= kept < 40
    assert last == (
        f"vstyle: interrupted; kept {tmp_path / 'a-out.mp4'} (finished), {kept} frames in {tmp_path / 'b-out.mp4'}"
    )
    assert len(only(read_streams(tmp_path / "a-out.mp4"), "video").times) == 40

    # Before the first frame: nothing is left, and the message does not claim otherwise.
    monkeypatch.undo()
    _interrupt_at(monkeypatch, [1, 0])
    out = tmp_path / "c.mp4"
    assert main(["render", str(clips[0]), "-o", str(out), "--model", str(tiny_model), "--no-progress"]) == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == "vstyle: interrupted; no frame had been written, so no output was left"
    assert not out.exists()
    assert leftovers(tmp_path, {"a.mp4", "b.mp4", "a-out.mp4", "b-out.mp4"}) == []


def test_an_interrupted_render_is_continued_with_resume(
    tmp_path: Path, tiny_model: Path, monkeypatch, capsys
) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=40, keyint=10)
    out, whole = tmp_path / "out.mp4", tmp_path / "whole.mp4"
    command = ["render", str(clip), "-o", str(out), "--model", str(tiny_model), "--no-progress"]
    assert main([*command[:3], str(whole), *command[4:]]) == 0
    _interrupt_at(monkeypatch, [1, 12])
    assert main(command) == 130
    kept = len(only(read_streams(out), "video").times)
    assert 12 <= kept < 40 and f"kept {kept} frames in {out}" in capsys.readouterr().err
    monkeypatch.undo()

    assert main([*command, "--resume", "--json", str(tmp_path / "run.json")]) == 0
    assert f"continued {out}: its {kept} frames kept, {40 - kept} added" in capsys.readouterr().err
    expected, joined = read_streams(whole), read_streams(out)
    assert only(joined, "video").times == only(expected, "video").times
    assert only(joined, "audio").payloads == only(expected, "audio").payloads
    assert json.loads((tmp_path / "run.json").read_text())["resumed_frames"] == kept

    before = out.read_bytes()
    assert main([*command, "--resume"]) == 0, "a finished render is left as it is"
    assert "already holds all 40 frames; nothing to do" in capsys.readouterr().err
    assert main([*command[:4], "--style", "scream-tiny", "--resume"]) == 1
    assert "model differs" in one_line_error(capsys)
    assert out.read_bytes() == before
    assert leftovers(tmp_path, {"in.mp4", "out.mp4", "whole.mp4", "run.json"}) == []


def test_resume_counts_max_frames_over_both_parts_and_starts_a_missing_output(
    tmp_path: Path, tiny_model: Path, monkeypatch, capsys
) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=30, audio=None)
    out = tmp_path / "out.mp4"
    command = ["render", str(clip), "-o", str(out), "--model", str(tiny_model), "--no-progress"]
    command += ["--max-frames", "20", "--resume"]  # no output yet: a plain render
    _interrupt_at(monkeypatch, [1, 5])
    assert main(command) == 130
    monkeypatch.undo()
    assert main(command) == 0
    assert len(only(read_streams(out), "video").times) == 20
    assert main(command) == 0  # as many frames as --max-frames asks: finished
    assert "already holds all 20 frames; nothing to do" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "output", "message"),
    [
        (["--overwrite"], "out.mp4", "give one of them"),
        ([], "frames/", "only a video file can be continued"),
    ],
)
def test_resume_refusals(
    tmp_path: Path, tiny_model: Path, capsys, extra: list[str], output: str, message: str
) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=3, audio=None)
    command = [
        "render",
        str(clip),
        "-o",
        f"{tmp_path}/{output}",
        "--model",
        str(tiny_model),
        "--resume",
        *extra,
    ]
    assert main(command) == 1
    assert message in one_line_error(capsys)
    assert leftovers(tmp_path, {"in.mp4"}) == []


def test_run_stream_is_the_same_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run_stream.py"), "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("vstyle ")


def test_export_checkpoint_and_teacher_then_render_with_them(
    tmp_path: Path, teachers_dir: Path, capsys
) -> None:
    torch = pytest.importorskip("torch")
    from vstyle.models.checkpoint import save_checkpoint
    from vstyle.models.metadata import file_sha256, read_model_metadata
    from vstyle.models.spec import get_arch
    from vstyle.models.stylenet import StyleNet

    torch.manual_seed(1)
    ckpt = save_checkpoint(StyleNet(get_arch("tiny")), tmp_path / "tiny.pt")
    onnx_path = tmp_path / "tiny.onnx"
    assert main(["export", str(ckpt), "-o", str(onnx_path)]) == 0
    info = read_model_metadata(onnx_path)
    assert info.architecture == "tiny" and info.sha256 == file_sha256(onnx_path)
    sidecar = json.loads(onnx_path.with_suffix(".json").read_text())
    assert sidecar["source"].startswith("checkpoint:tiny.pt sha256=")
    capsys.readouterr()
    assert main(["export", str(ckpt), "-o", str(onnx_path)]) == 1, "an existing export is not overwritten"
    assert "--overwrite" in one_line_error(capsys)

    teacher_out = tmp_path / "wave.onnx"
    assert main(["export", str(teachers_dir / "wave"), "-o", str(teacher_out)]) == 0
    assert read_model_metadata(teacher_out).architecture == "engstrom"

    # A checkpoint passed straight to --model is exported once into the cache and used.
    clip = make_clip(tmp_path / "in.mp4", frames=5, audio=None)
    assert main(["render", str(clip), "-o", str(tmp_path / "o.mp4"), "--model", str(ckpt)]) == 0
    assert len(only(read_streams(tmp_path / "o.mp4"), "video").times) == 5


def test_demo_writes_a_video_and_a_contact_sheet_without_overwriting(
    tmp_path: Path, tiny_model: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["demo", "--frames", "8", "--model", str(tiny_model)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "vstyle-demo-1.mp4", "vstyle-demo-1.png", "vstyle-demo.mp4", "vstyle-demo.png"
    ]  # fmt: skip
    assert len(only(read_streams(tmp_path / "vstyle-demo.mp4"), "video").times) == 8
