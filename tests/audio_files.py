"""Real song files for the player's tests and bench: a WAV written with the standard library."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path


def write_tone(path: Path, seconds: float, *, hz: float = 220.0, rate: int = 44_100) -> Path:
    """A mono 16-bit sine at `rate` (not the player's 48 kHz stereo, so decoding converts),
    rising from silence to full loudness so its waveform is not flat."""
    frames = int(seconds * rate)
    values = (
        round(32000 * (i / frames) * math.sin(2 * math.pi * hz * i / rate)) for i in range(frames)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{frames}h", *values))
    return path
