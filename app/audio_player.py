"""Playing a song take: decode it, then feed an audio device (miniaudio) from memory.

Decoding (worker thread): miniaudio reads MP3, FLAC, WAV and Ogg Vorbis; anything else (Opus,
AAC) goes through PyAV when the `video` extra is installed. Every take is converted to one
format (player_state.SAMPLE_RATE, stereo, signed 16-bit), so one device setting plays any.

Which device: the system's default output through miniaudio's backends in their order
(PulseAudio, ALSA, JACK, … on Linux; WASAPI on Windows; Core Audio on macOS). Where none can
be opened (no sound card: CI, a server, a container) the player falls back to miniaudio's null
backend, which consumes audio in real time and plays it nowhere, and says so in `note`; later
songs of the session then go to the null backend at once.
TAKEBOARD_AUDIO=null picks the null backend at once (the tests and the bench set it).

Threads: the Tk thread calls play/pause/seek/load and reads the position; each only changes
the shared PlayerState under a lock, so none waits for the device. The device is opened and
started on a worker the first time something plays, and stopped and closed on a worker by
close(). miniaudio's own thread pulls samples through `_stream`. miniaudio itself is imported
on those workers: its import takes 30–190 ms (it imports numpy when that is installed).
"""

from __future__ import annotations

import array
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.player_state import CHANNELS, SAMPLE_RATE, Peaks, PlayerState, compute_peaks
from core.errors import AppError

if TYPE_CHECKING:
    import miniaudio

PERIOD_MS = 30  # the device asks for this much audio at a time
_NO_OUTPUT = threading.Event()  # no sound device could be opened in this process
NO_DEVICE_NOTE = "No sound device could be opened: playing silently (the playhead still moves)."


class AudioError(AppError):
    """A take that cannot be decoded or played; the message is one line with the way out."""


@dataclass(frozen=True)
class DecodedAudio:
    """A whole take in the player's format: interleaved stereo signed 16-bit at SAMPLE_RATE."""

    path: Path
    samples: array.array

    @property
    def frames(self) -> int:
        return len(self.samples) // CHANNELS

    @property
    def duration_s(self) -> float:
        return self.frames / SAMPLE_RATE


@dataclass(frozen=True)
class LoadedTake:
    """What the panel needs to show and play a take (made on a worker)."""

    audio: DecodedAudio
    peaks: Peaks


def load_take(path: Path) -> LoadedTake:
    """Decode a take and compute its waveform (worker thread). Raises AudioError."""
    audio = decode(Path(path))
    return LoadedTake(audio, compute_peaks(audio.samples))


def decode(path: Path) -> DecodedAudio:
    """Decode a whole file to the player's format (worker thread). Raises AudioError."""
    if not path.is_file():
        raise AudioError(f"{path.name} is not there any more — it was moved or deleted.")
    import miniaudio

    try:
        sound = miniaudio.decode_file(
            str(path), miniaudio.SampleFormat.SIGNED16, CHANNELS, SAMPLE_RATE
        )
        audio = DecodedAudio(path, sound.samples)
    except miniaudio.DecodeError:
        audio = _decode_with_av(path)
    if audio.frames == 0:
        raise AudioError(f"{path.name} holds no sound — open it in the system player to check it.")
    return audio


def _decode_with_av(path: Path) -> DecodedAudio:
    try:
        import av  # the `video` extra; imported here, on the worker, only for such files
    except ImportError:
        raise AudioError(
            f"{path.name}: this format needs PyAV — install it (pip install 'takeboard[video]') "
            "or open the take in the system player."
        ) from None
    try:
        return DecodedAudio(path, _av_samples(av, path))
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise AudioError(
            f"{path.name} could not be decoded as audio ({exc.__class__.__name__}) — "
            "open it in the system player to check the file."
        ) from exc


def _av_samples(av, path: Path) -> array.array:
    samples = array.array("h")
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in [*container.decode(stream), None]:  # None flushes the resampler
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2 * CHANNELS])
    return samples


def open_device() -> tuple[miniaudio.PlaybackDevice, str]:
    """The output device and a note for the user ('' when it is a real one); worker thread."""
    import miniaudio

    settings = dict(
        output_format=miniaudio.SampleFormat.SIGNED16,
        nchannels=CHANNELS,
        sample_rate=SAMPLE_RATE,
        buffersize_msec=PERIOD_MS,
        app_name="Takeboard",
    )
    null = [miniaudio.Backend.NULL]
    if os.environ.get("TAKEBOARD_AUDIO", "").lower() == "null":
        return miniaudio.PlaybackDevice(backends=null, **settings), ""
    if not _NO_OUTPUT.is_set():
        try:
            return miniaudio.PlaybackDevice(**settings), ""
        except miniaudio.MiniaudioError:
            _NO_OUTPUT.set()  # the next songs go straight to the null device (no retry noise)
    return miniaudio.PlaybackDevice(backends=null, **settings), NO_DEVICE_NOTE


def _in_background(work, name: str) -> None:
    """Not a daemon: Python waits for it at exit, so a device is never closed (or its thread
    calling into Python) while the interpreter is being torn down — that crashed the process."""
    threading.Thread(target=work, name=name).start()


class AudioPlayer:
    """Plays one take. Tk thread: every public method; none of them waits for the device."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = PlayerState()
        self._samples = array.array("h")
        self._device: miniaudio.PlaybackDevice | None = None
        self._opening = False
        self._closed = False
        self.note = ""  # one line about the device (no sound card), '' when all is well
        self.error = ""  # one line when the device could not be opened at all
        self.pulls = 0  # how many times the device asked for audio (it goes on while paused)

    # --- what the panel reads ----------------------------------------------------------------

    @property
    def position_s(self) -> float:
        with self._lock:
            return self._state.position_s

    @property
    def duration_s(self) -> float:
        with self._lock:
            return self._state.duration_s

    @property
    def playing(self) -> bool:
        with self._lock:
            return self._state.playing

    @property
    def device_name(self) -> str:
        """miniaudio's name of the backend in use ('' until something played)."""
        device = self._device
        return device.backend if device is not None else ""

    # --- what the panel does -------------------------------------------------------------------

    def load(self, audio: DecodedAudio) -> None:
        """Make `audio` the take that plays, paused at its start."""
        with self._lock:
            self._samples = audio.samples
            self._state = PlayerState(audio.frames)

    def play(self) -> None:
        with self._lock:
            self._state.play()
        self._ensure_device()

    def play_from(self, seconds: float) -> None:
        with self._lock:
            self._state.play_from(seconds)
        self._ensure_device()

    def pause(self) -> None:
        with self._lock:
            self._state.pause()

    def toggle(self) -> None:
        with self._lock:
            self._state.toggle()
        self._ensure_device()

    def seek(self, seconds: float) -> None:
        with self._lock:
            self._state.seek(seconds)

    def seek_by(self, delta_s: float) -> None:
        with self._lock:
            self._state.seek_by(delta_s)

    def close(self) -> None:
        """Stop playing; the device is stopped and closed on a worker (closing can take a few
        hundred ms)."""
        with self._lock:
            self._closed = True
            self._state.pause()
            device, self._device = self._device, None
        if device is not None:
            _in_background(device.close, "audio-close")

    # --- device (worker and audio threads) -------------------------------------------------

    def _ensure_device(self) -> None:
        with self._lock:
            if self._device is not None or self._opening or self._closed:
                return
            if not self._state.playing:
                return
            self._opening = True
        _in_background(self._open_device, "audio-open")

    def _open_device(self) -> None:
        import miniaudio

        try:
            device, note = open_device()
            stream = self._stream()
            next(stream)
            device.start(stream)
        except miniaudio.MiniaudioError as exc:
            with self._lock:
                self._opening = False
                self._state.pause()
                self.error = f"No audio output could be opened ({exc}) — check the sound setup."
            return
        with self._lock:
            self._opening, self.note = False, note
            if self._closed:  # closed while opening
                device, keep = None, device
            else:
                self._device, keep = device, None
        if keep is not None:
            keep.close()

    def _stream(self):
        """miniaudio's generator protocol: receives frames wanted, yields the samples."""
        wanted = yield b""
        while True:
            with self._lock:
                self.pulls += 1
                start, count = self._state.advance(wanted)
                chunk = self._samples[start * CHANNELS : (start + count) * CHANNELS]
            wanted = yield chunk  # fewer frames than wanted: the device plays silence
