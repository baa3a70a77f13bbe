"""A real Gradio Blocks app on loopback for the gradio backend's tests.

Endpoints (all named, keyword arguments as in the function signatures):

* `/voice_convert(input_audio, semitones)` → `(info text, WAV)`, like RVC's `/infer_convert`:
  the input WAV's samples are re-read at 2**(semitones/12) speed, so a 440 Hz tone comes back
  at 880 Hz for +12, with the same length and sample rate.
* `/sound_effect(prompt, duration, steps)` → WAV of `duration` seconds, AudioLDM-style; reports
  `gr.Progress` over `steps` "denoising" steps of SOUND_STEP_S each; one call at a time (a GPU
  app's queue), so a second call waits in the queue.
* `/slow(steps, step_s, tag)` → text; `gr.Progress` over `steps` sleeps of `step_s` (deadline
  and cancel tests); adds `tag` to SLOW_FINISHED when done. Unlimited concurrency, so a
  cancelled call that the server keeps running never delays the next test.
* `/boom(prompt)` raises `gr.Error(BOOM_TEXT)`; `/oom(prompt)` raises `gr.Error(OOM_TEXT)`.

Use the session fixture from any test module:

    from tests.gradio_app import gradio_app  # noqa: F401  (the fixture)

    def test_x(gradio_app):  # GradioApp(url, outputs)
        ...

The fixture sets the offline variables (`quiet_hub_env`) before gradio is imported (the
import is lazy: collecting this module costs nothing), launches in-process on 127.0.0.1 on a
free port with `prevent_thread_lock=True`, `quiet=True`, `share=False`, `ssr_mode=False`, and
closes the app at the end of the session. Files the endpoints return are written under
`outputs` (inside the session's temp folder, also passed as `allowed_paths`).
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
import wave
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from executors.backends.gradio import quiet_hub_env

SAMPLE_RATE = 16000
SOUND_STEP_S = 0.15
BOOM_TEXT = "voice model alto.pth is missing — put it in assets/weights and refresh"
OOM_TEXT = (
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity; "
    "6.12 GiB already allocated)"
)
SLOW_FINISHED: set[str] = set()  # tags of /slow calls the app finished (the app is in-process)


@dataclass(frozen=True)
class GradioApp:
    url: str  # http://127.0.0.1:<port>
    outputs: Path  # where the endpoints write the files they return
    demo: Any  # the gradio Blocks


# --- audio with the stdlib ----------------------------------------------------------------------


def write_tone(path: Path, *, seconds: float, freq: float, rate: int = SAMPLE_RATE) -> Path:
    """A mono 16-bit sine WAV; returns `path`."""
    count = int(seconds * rate)
    samples = array(
        "h", (int(12000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(count))
    )
    return write_samples(path, samples, rate)


def write_samples(path: Path, samples: array, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def read_samples(path: Path | str) -> tuple[int, array]:
    """(sample rate, 16-bit samples) of a mono WAV."""
    with wave.open(str(path), "rb") as source:
        if source.getnchannels() != 1 or source.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit audio")
        rate = source.getframerate()
        samples = array("h", source.readframes(source.getnframes()))
    return rate, samples


def dominant_hz(path: Path | str) -> float:
    """The frequency of a plain tone, from its zero crossings."""
    rate, samples = read_samples(path)
    crossings = sum(1 for a, b in zip(samples, samples[1:], strict=False) if a < 0 <= b)
    return crossings * rate / len(samples)


# --- the endpoints' work (no gradio needed) ------------------------------------------------------


def shift_pitch(source: Path, semitones: float, target: Path) -> tuple[int, Path]:
    """Re-read the samples at 2**(semitones/12) speed, wrapping round: same length and rate."""
    rate, samples = read_samples(source)
    ratio = 2 ** (semitones / 12)
    count = len(samples)
    shifted = array("h", (samples[int(i * ratio) % count] for i in range(count)))
    return count, write_samples(target, shifted, rate)


def synthesize(prompt: str, seconds: float, target: Path) -> Path:
    """A decaying tone whose pitch depends on the prompt (stands in for AudioLDM)."""
    freq = 200 + zlib.crc32(prompt.encode()) % 600
    count = max(1, int(seconds * SAMPLE_RATE))
    samples = array(
        "h",
        (
            int(10000 * math.exp(-3 * i / count) * math.sin(2 * math.pi * freq * i / SAMPLE_RATE))
            for i in range(count)
        ),
    )
    return write_samples(target, samples, SAMPLE_RATE)


# --- the app ------------------------------------------------------------------------------------


def build_demo(outputs: Path) -> Any:
    """The Blocks app; imports gradio (≈4 s the first time)."""
    import gradio as gr

    def new_file(stem: str) -> Path:
        return outputs / f"{stem}-{uuid.uuid4().hex[:8]}.wav"

    def voice_convert(input_audio: str, semitones: float) -> tuple[str, str]:
        frames, path = shift_pitch(Path(input_audio), float(semitones), new_file("converted"))
        return f"Success. {frames} frames, {semitones:+g} semitones", str(path)

    def sound_effect(
        prompt: str,
        duration: float,
        steps: int,
        progress=gr.Progress(),  # noqa: B008 (how gradio spots a progress tracker)
    ) -> str:
        for _ in progress.tqdm(range(int(steps)), desc="denoising"):
            time.sleep(SOUND_STEP_S)
        return str(synthesize(prompt, float(duration), new_file("effect")))

    def slow(steps: int, step_s: float, tag: str, progress=gr.Progress()) -> str:  # noqa: B008
        for _ in progress.tqdm(range(int(steps)), desc="waiting"):
            time.sleep(float(step_s))
        SLOW_FINISHED.add(tag)
        return f"slept {int(steps)} steps"

    def boom(prompt: str) -> str:
        raise gr.Error(BOOM_TEXT, print_exception=False)

    def oom(prompt: str) -> str:
        raise gr.Error(OOM_TEXT, print_exception=False)

    with gr.Blocks(analytics_enabled=False) as demo:
        audio_in = gr.Audio(type="filepath", label="input audio")
        semitones = gr.Number(value=0, label="transpose (semitones)")
        info = gr.Textbox(label="output information")
        audio_out = gr.Audio(type="filepath", label="converted audio")
        prompt = gr.Textbox(label="prompt")
        duration = gr.Number(value=1.0, label="duration (s)")
        steps = gr.Number(value=4, precision=0, label="steps")
        step_s = gr.Number(value=0.1, label="seconds per step")
        tag = gr.Textbox(value="", label="tag")
        effect = gr.Audio(type="filepath", label="sound effect")
        text = gr.Textbox(label="result")
        run = gr.Button("run")
        run.click(voice_convert, [audio_in, semitones], [info, audio_out], api_name="voice_convert")
        run.click(
            sound_effect,
            [prompt, duration, steps],
            effect,
            api_name="sound_effect",
            concurrency_limit=1,
        )
        run.click(slow, [steps, step_s, tag], text, api_name="slow", concurrency_limit=None)
        run.click(boom, prompt, text, api_name="boom")
        run.click(oom, prompt, text, api_name="oom")
    return demo


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_app(root: Path, *, port: int | None = None) -> GradioApp:
    """Quiet environment first, then gradio: build and launch on loopback (a free port unless
    `port` is given); close with `app.demo.close()`."""
    quiet_hub_env()
    os.environ.setdefault("GRADIO_TEMP_DIR", str(root / "gradio-cache"))
    outputs = root / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    demo = build_demo(outputs)
    demo.queue()
    port = port or free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
        show_error=True,
        allowed_paths=[str(outputs)],
    )
    return GradioApp(f"http://127.0.0.1:{port}", outputs, demo)


@pytest.fixture(scope="session")
def gradio_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradioApp]:
    """The app, launched once per test session (≈4 s, nearly all `import gradio`)."""
    app = launch_app(tmp_path_factory.mktemp("gradio-app"))
    yield app
    app.demo.close()
