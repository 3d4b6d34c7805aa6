"""Room audio: levels, voice activity, the two audio rules, and that no sound is kept."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from deskwatch.audio import SAMPLE_RATE, AudioAnalyser, AudioObservation, AudioTrack, open_audio
from deskwatch.audio.analysis import Samples
from deskwatch.errors import SourceError
from deskwatch.events.event import Event
from deskwatch.perception.observation import HeadPose, Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.registry import RulesConfig, build_rules
from tests.conftest import make_obs, shared_file
from tests.test_cli import deskwatch

SPEECH = (
    "Hello, can you hear me? I am the second person in this room, and I am reading a long "
    "sentence aloud, so that the detector has plenty of speech to find in this recording."
)


def _noise(level_dbfs: float, seconds: int, rng: np.random.Generator) -> Samples:
    amplitude = 32768 * 10 ** (level_dbfs / 20)
    noise = rng.normal(0, amplitude, SAMPLE_RATE * seconds)
    samples: Samples = np.clip(noise, -32768, 32767).astype(np.int16)
    return samples


def _analysed(samples: Samples) -> list[AudioObservation]:
    analyser = AudioAnalyser()
    return [
        analyser.analyse(samples[i : i + SAMPLE_RATE], i / SAMPLE_RATE)
        for i in range(0, samples.size, SAMPLE_RATE)
    ]


def _events(audio: list[AudioObservation], mouth: list[float] | None = None) -> list[Event]:
    """Run the default rules over 2 frames per audio second; ``mouth`` per frame (or no face)."""
    rules = build_rules(RulesConfig())
    found: list[Event] = []
    for i in range(2 * len(audio)):
        ts = i / 2
        obs = make_obs(ts, faces=1, head=_head(mouth[i]) if mouth else _head(0.1))
        obs.stages.append(Stage.FACE_MESH)
        obs.audio = audio[i // 2]
        found += [e for rule in rules for e in rule.update(obs, ts) if not e.is_open]
    return found + [e for rule in rules for e in rule.flush(len(audio))]


def _head(mouth_opening: float) -> HeadPose:
    return HeadPose(0.0, 0.0, 0.0, 0.0, 0.3, mouth_opening)


def _types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real synthetic speech from Debian's espeak-ng (about 9 s)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (scripts/test installs it as root)")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run([espeak, "-w", str(path), SPEECH], check=True, capture_output=True)
    return path


def test_level_of_a_full_scale_square_wave_is_0_dbfs() -> None:
    square = np.where(np.arange(SAMPLE_RATE) % 40 < 20, 32767, -32767).astype(np.int16)
    assert _analysed(square)[0].level_dbfs == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize(
    ("level_dbfs", "fires"), [(-60.0, False), (-45.0, False), (-30.0, True), (-15.0, True)]
)
def test_background_noise_fires_only_above_the_threshold(
    level_dbfs: float, fires: bool, rng: np.random.Generator
) -> None:
    audio = _analysed(_noise(level_dbfs, 15, rng))
    assert audio[0].floor_dbfs == pytest.approx(level_dbfs, abs=1.5)
    assert all(a.speech_ratio == 0 for a in audio)  # steady noise is not speech
    assert _types(_events(audio)) == (["background_noise"] if fires else [])


def test_silence_is_nothing() -> None:
    audio = _analysed(np.zeros(SAMPLE_RATE * 15, np.int16))
    assert {(a.level_dbfs, a.speech_ratio) for a in audio} == {(-100.0, 0.0)}
    assert _events(audio) == []


def test_speech_is_detected_and_is_not_noise(speech_wav: Path) -> None:
    audio = list(AudioTrack(open_audio(str(speech_wav))))
    assert len(audio) >= 6
    assert np.mean([a.speech_ratio for a in audio]) > 0.5
    assert -40 < np.median([a.level_dbfs for a in audio]) < -5
    assert "background_noise" not in _types(_events(audio))


def test_a_video_audio_track_is_read_through_a_pipe(speech_wav: Path, tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    track = tmp_path / "speech.mka"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech_wav), str(track)], check=True)
    from_wav = list(AudioTrack(open_audio(str(speech_wav))))
    from_pipe = list(AudioTrack(open_audio(str(track))))
    assert len(from_pipe) == len(from_wav)
    assert from_pipe[0].level_dbfs == pytest.approx(from_wav[0].level_dbfs, abs=1.5)


@pytest.mark.parametrize(
    ("mouth", "expected"),
    [
        ([0.05, 0.35, 0.1, 0.3] * 10, []),  # the agent is talking
        ([0.1] * 40, ["other_voice"]),  # mouth still: someone else is
    ],
    ids=["agent-speaks", "mouth-still"],
)
def test_other_voice_needs_a_still_mouth(
    speech_wav: Path, mouth: list[float], expected: list[str]
) -> None:
    audio = list(AudioTrack(open_audio(str(speech_wav))))[:8]
    assert _types(_events(audio, mouth[: 2 * len(audio)])) == expected


def test_audio_rules_do_nothing_without_audio() -> None:
    rules = build_rules(RulesConfig())
    for i in range(60):
        obs: Observation = make_obs(i / 2, head=_head(0.1))
        obs.stages.append(Stage.FACE_MESH)
        assert not [e for rule in rules for e in rule.update(obs, i / 2)]


def test_missing_audio_file_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_audio("missing.wav")


def test_speech_over_a_silent_face_and_no_sound_reaches_the_disk_or_network(
    speech_wav: Path, tmp_path: Path
) -> None:
    """The dev clip's agent sits silently while speech plays: other_voice, and only events out."""
    clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    out = tmp_path / "events.jsonl"
    before = set(tmp_path.rglob("*"))
    args = ["analyze", str(clip), "--audio", str(speech_wav), "--out", str(out)]
    run = deskwatch(*args, cwd=tmp_path, watched=True)
    assert run.returncode == 0, run.stderr
    log = run.stderr.splitlines()
    written = {line.split(" ", 1)[1] for line in log if line.startswith("WRITE ")}
    assert written <= {str(out), os.devnull}, written
    assert not [line for line in log if line.startswith("NETWORK")]
    assert set(tmp_path.rglob("*")) - before == {out}
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert "other_voice" in [e["type"] for e in events]
    for event in events:  # numbers only: levels, ratios, durations
        assert all(isinstance(v, float) for v in event["evidence"].values())
    assert out.stat().st_size < 5_000  # one second of sound alone would be 32 kB
