"""What the audio player decides, as plain Python (no tkinter, no audio device): where the
playhead is, what play/pause/seek do to it, an A/B switch's start, and the waveform's
peaks and pixel mapping. The audio thread and the Tk thread share one PlayerState under the
player's lock (app/audio_player.py); these classes take no locks themselves.

Every take is decoded to one format (SAMPLE_RATE, CHANNELS, signed 16-bit), so one device
setting plays any take.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SAMPLE_RATE = 48_000
CHANNELS = 2
SEEK_STEP_S = 5.0  # the ←/→ keys
PEAK_BUCKETS = 2_000  # peaks kept per take; fitted to the canvas width when drawn


class PlayerState:
    """Transport of one loaded take: its length, the playhead (in frames) and playing or not."""

    def __init__(self, frames: int = 0, rate: int = SAMPLE_RATE):
        self.frames, self.rate = frames, rate
        self.position = 0
        self.playing = False

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate

    @property
    def position_s(self) -> float:
        return self.position / self.rate

    def play(self) -> None:
        """Start from the playhead; a take played to its end starts again from the top."""
        if self.frames == 0:
            return
        if self.position >= self.frames:
            self.position = 0
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def seek(self, seconds: float) -> None:
        """Move the playhead (clamped to the take); playing goes on from there."""
        self.position = min(max(0, round(seconds * self.rate)), self.frames)

    def seek_by(self, delta_s: float) -> None:
        self.seek(self.position_s + delta_s)

    def play_from(self, seconds: float) -> None:
        """Play from `seconds` (A/B: another take's playhead); past this take's end it stays
        there, not playing, rather than starting again from the top."""
        self.seek(seconds)
        self.playing = self.position < self.frames

    def advance(self, wanted: int) -> tuple[int, int]:
        """The audio thread takes up to `wanted` frames: returns (first frame, count) to play
        now, 0 frames when paused; reaching the end stops playing with the playhead there."""
        if not self.playing:
            return self.position, 0
        start = self.position
        count = min(wanted, self.frames - start)
        self.position = start + count
        if self.position >= self.frames:
            self.playing = False
        return start, count


@dataclass(frozen=True)
class Peaks:
    """A take's waveform: per bucket, the lowest and highest sample in -1..1."""

    lows: tuple[float, ...]
    highs: tuple[float, ...]


def compute_peaks(samples: Sequence[int], buckets: int = PEAK_BUCKETS) -> Peaks:
    """Min/max of interleaved signed 16-bit samples over `buckets` equal spans (worker thread;
    each bucket is one min() and one max() over a slice, so the GIL is let go between them)."""
    frames = len(samples) // CHANNELS
    step = max(1, -(-frames // max(1, buckets))) * CHANNELS  # whole frames, rounded up
    lows, highs = [], []
    for start in range(0, len(samples), step):
        span = samples[start : start + step]
        lows.append(min(span) / 32768)
        highs.append(max(span) / 32767)
    return Peaks(tuple(lows), tuple(highs))


def fit_peaks(peaks: Peaks, width: int) -> list[tuple[float, float]]:
    """One (low, high) per pixel column: the extremes of the buckets that column covers."""
    count = len(peaks.highs)
    if count == 0 or width <= 0:
        return []
    columns = []
    for x in range(width):
        first = x * count // width
        last = max(first + 1, (x + 1) * count // width)
        columns.append((min(peaks.lows[first:last]), max(peaks.highs[first:last])))
    return columns


def waveform_outline(peaks: Peaks, width: int, height: int) -> list[float]:
    """Canvas polygon coordinates of the waveform: the highs left to right, the lows back."""
    middle, half = height / 2, max(1.0, height / 2 - 2)
    columns = fit_peaks(peaks, width)
    top = [(x, middle - high * half) for x, (_low, high) in enumerate(columns)]
    bottom = [(x, middle - low * half) for x, (low, _high) in reversed(list(enumerate(columns)))]
    return [value for point in top + bottom for value in point]


def seconds_to_x(seconds: float, duration_s: float, width: int) -> float:
    if duration_s <= 0:
        return 0.0
    return min(max(seconds / duration_s, 0.0), 1.0) * max(0, width - 1)


def x_to_seconds(x: float, width: int, duration_s: float) -> float:
    if width <= 1:
        return 0.0
    return min(max(x / (width - 1), 0.0), 1.0) * duration_s


def clock(seconds: float) -> str:
    """m:ss, e.g. 3:05."""
    whole = int(max(0.0, seconds))
    return f"{whole // 60}:{whole % 60:02d}"
