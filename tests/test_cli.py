"""The command line as a user runs it: outputs, exit codes, and what touches the disk."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import pytest

from deskwatch.arrays import as_image
from deskwatch.capture.source import open_source
from deskwatch.perception.detectors.face import FaceDetector, FaceDetectorOptions
from tests.conftest import ROOT, shared_file
from tests.test_capture import write_video

# Runs the CLI with an audit hook that reports every file opened for writing.
WATCHED = """
import os, sys
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
def hook(event, args):
    if event == "open" and args[0] is not None:
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        if writing:
            sys.__stderr__.write(f"WRITE {args[0]}\\n")
    elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sys.__stderr__.write(f"NETWORK {args[1:]}\\n")
sys.addaudithook(hook)
from deskwatch.cli import app
app(sys.argv[1:], prog_name="deskwatch")
"""


def deskwatch(
    *args: str, cwd: Path | None = None, watched: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", WATCHED] if watched else [sys.executable, "-m", "deskwatch"]
    env = {**os.environ, "COLUMNS": "200"}
    if cwd is not None:
        env.update(TMPDIR=str(cwd), HOME=str(cwd))
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=300
    )


def test_demo_prints_the_events() -> None:
    run = deskwatch("analyze", "--demo")
    assert run.returncode == 0, run.stderr
    assert "away" in run.stdout and "extra_person" in run.stdout
    assert "away 40.0 s in total" in run.stdout
    assert "Traceback" not in run.stderr


def test_json_lines_on_stdout_and_in_a_file(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    run = deskwatch("analyze", "--demo", "--json", "--out", str(out))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["type"] for e in lines] == ["away", "extra_person"]
    assert lines == [json.loads(line) for line in out.read_text().splitlines()]
    event = lines[0]
    assert {"id", "type", "start_s", "end_s", "duration_s", "peak_confidence", "evidence"} <= set(
        event
    )


def test_observations_one_line_per_analysed_frame(tmp_path: Path) -> None:
    clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    obs_file = tmp_path / "obs.jsonl"
    run = deskwatch("analyze", str(clip), "--observations", str(obs_file), "--rate", "1")
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in obs_file.read_text().splitlines()]
    assert len(rows) == 11  # 10.5 s at 1 frame per second: 0, 1, ..., 10 s
    assert rows[0]["stages"][:2] == ["camera_health", "face"] and len(rows[0]["faces"]) == 1
    assert {"head", "hands", "objects", "cues", "camera", "motion"} <= set(rows[0])


def test_inspect_prints_an_observation() -> None:
    image = shared_file("data", "dev", "images", "four-faces-selfie.jpg")
    run = deskwatch("inspect", str(image))
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)["faces"]) >= 3


def test_inspect_uses_the_shipped_object_model_unless_the_policy_turns_it_off(
    tmp_path: Path,
) -> None:
    image = shared_file("data", "dev", "images", "person-looking-at-phone.jpg")
    seen = json.loads(deskwatch("inspect", str(image)).stdout)
    assert "objects" in seen["stages"]
    assert {d["label"] for d in seen["objects"]["detections"]} >= {"person"}  # its class names
    assert {"phone", "phone_held", "drink", "food", "paper"} <= set(seen["objects"])
    off = tmp_path / "off.toml"
    off.write_text("[detectors.objects]\nenabled = false\n")
    seen = json.loads(deskwatch("inspect", str(image), "--policy", str(off)).stdout)
    assert "objects" not in seen["stages"] and seen["objects"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "missing.mp4"], "missing.mp4: no such file"),
        (["analyze"], "give a SOURCE or --demo"),
        (["analyze", "camera:9"], "camera:9: cannot open"),
        (["analyze", "--demo", "--policy", "nope.toml"], "cannot read policy"),
        (["inspect", "missing.jpg"], "not a readable image"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], message: str) -> None:
    run = deskwatch(*args)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_corrupt_file_and_bad_policy(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    policy = tmp_path / "p.toml"
    policy.write_text("[rules.away]\nmin_awya_s = 3\n")
    no_model = tmp_path / "m.toml"
    no_model.write_text('[detectors.objects]\nmodel_path = "absent.onnx"\n')
    for args, message in (
        ([str(junk)], "cannot open as video"),
        (["--demo", "--policy", str(policy)], "rules.away.min_awya_s: unknown key"),
        (["--demo", "--policy", str(no_model)], "objects model absent.onnx: no such file"),
    ):
        run = deskwatch("analyze", *args)
        assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


def test_video_breaking_part_way_keeps_events_then_errors(tmp_path: Path) -> None:
    data = write_video(tmp_path / "v.avi", 400).read_bytes()  # 40 s of a blank "camera"
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 3 // 4])
    run = deskwatch("analyze", str(cut), "--json")
    assert run.returncode == 2
    assert "broke off" in run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["type"] for e in events] == ["camera_obstructed"]  # uniform grey frames


def test_no_frame_reaches_the_disk_or_the_network(tmp_path: Path) -> None:
    clip = shared_file("data", "dev", "videos", "webcam-centre-left-centre.mp4")
    model = shared_file("models", "yolox-nano", "yolox_nano.onnx")
    labels = shared_file("models", "yolox-nano", "coco_classes.txt")
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[detectors.objects]\nmodel_path = "{model}"\nlabels_path = "{labels}"\n')
    out = tmp_path / "events.jsonl"
    before = set(tmp_path.rglob("*"))
    run = deskwatch(
        "analyze", str(clip), "--policy", str(policy), "--out", str(out), cwd=tmp_path, watched=True
    )
    assert run.returncode == 0, run.stderr
    log = run.stderr.splitlines()
    written = {line.split(" ", 1)[1] for line in log if line.startswith("WRITE ")}
    assert written <= {str(out), os.devnull}, written
    assert not [line for line in log if line.startswith("NETWORK")]
    # Nothing else appeared in the working folder, HOME or TMPDIR (all tmp_path here).
    assert set(tmp_path.rglob("*")) - before == {out}
    assert out.stat().st_size < 10_000  # events only: a single frame would be ~1 MB


def test_ctrl_c_stops_cleanly_and_keeps_events(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("[rules.away]\nmin_away_s = 2\n")
    out, seen = tmp_path / "events.jsonl", tmp_path / "obs.jsonl"
    args = ["analyze", "--demo", "--rate", "10", "--policy", str(policy), "--out", str(out)]
    args += ["--observations", str(seen)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskwatch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    # The demo's agent leaves at 20 s of source time: interrupt once the away event opened.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if _last_ts(seen) > 25:
            break
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["type"] for e in events] == ["away"]
    assert events[0]["start_s"] == pytest.approx(20.0, abs=1) and events[0]["end_s"] > 21


def _last_ts(observations: Path) -> float:
    """Source time of the last analysed frame written so far."""
    lines = observations.read_text().splitlines() if observations.exists() else []
    return float(json.loads(lines[-2])["ts"]) if len(lines) > 1 else 0.0


def test_annotated_video_blurs_every_face_but_the_main_one(tmp_path: Path) -> None:
    gif = shared_file("data", "dev", "videos", "two-people-head-turns.gif")
    video = tmp_path / "review.mp4"
    run = deskwatch("analyze", str(gif), "--annotate", str(video))
    assert run.returncode == 0, run.stderr
    capture = cv2.VideoCapture(str(video))
    ok, annotated = capture.read()
    assert ok
    original = next(iter(open_source(str(gif), fps=2))).image
    with FaceDetector.create_from_options(FaceDetectorOptions()) as detector:
        assert len(detector.find(original, 1.0)) == 2
        assert len(detector.find(as_image(annotated), 2.0)) == 1  # the other face is unreadable


def test_stream_url_is_analysed(tmp_path: Path) -> None:
    clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(clip.parent))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/{clip.name}"
        obs = tmp_path / "obs.jsonl"
        run = deskwatch("analyze", url, "--observations", str(obs))
        server.shutdown()
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in obs.read_text().splitlines()]
    assert len(rows) == 21 and all(len(r["faces"]) == 1 for r in rows)
    assert [r["ts"] for r in rows[:3]] == pytest.approx([0.0, 0.5, 1.0], abs=0.01)  # source time


def _png_header(width: int, height: int) -> bytes:
    """A small PNG whose IHDR claims ``width``×``height`` (its data is one empty row)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF marker is rewritten to claim ``width``×``height``."""
    import numpy as np

    _ok, data = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    raw = bytearray(data.tobytes())
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(raw)


@pytest.mark.parametrize(
    ("name", "make", "command"),
    [
        ("huge.png", lambda: _png_header(60000, 60000), "analyze"),
        ("big.png", lambda: _png_header(20000, 20000), "inspect"),
        ("big.jpg", lambda: _jpeg_claiming(30000, 30000), "inspect"),
        ("big.jpg", lambda: _jpeg_claiming(30000, 30000), "analyze"),
        ("folder", lambda: _png_header(60000, 60000), "analyze"),
    ],
)
def test_an_image_over_the_pixel_limit_is_refused_before_decoding(
    tmp_path: Path, name: str, make: object, command: str
) -> None:
    assert callable(make)
    target = tmp_path / name
    if name == "folder":
        target.mkdir()
        (target / "a.png").write_bytes(make())
    else:
        target.write_bytes(make())
    run = deskwatch(command, str(target))
    assert run.returncode == 2, run.stderr
    assert "megapixels per image" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
