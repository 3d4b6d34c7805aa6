"""Room audio (extra ``deskwatch[audio]``): levels and voice activity, never the sound.

Samples live only in memory inside ``capture`` and ``analysis``; what leaves this package
is an ``AudioObservation`` of numbers (dBFS levels, a speech ratio).
"""

from deskwatch.audio.analysis import SAMPLE_RATE, AudioAnalyser, level_dbfs
from deskwatch.audio.capture import AudioChunk, AudioSource, is_microphone, open_audio
from deskwatch.audio.track import AudioTrack
from deskwatch.perception.observation import AudioObservation

__all__ = [
    "SAMPLE_RATE",
    "AudioAnalyser",
    "AudioChunk",
    "AudioObservation",
    "AudioSource",
    "AudioTrack",
    "is_microphone",
    "level_dbfs",
    "open_audio",
]
