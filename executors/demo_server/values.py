"""What flows along a link on the fake server: small descriptions instead of tensors (an image
batch is its size, count and colour), or a JSON input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True)
class Images:
    width: int
    height: int
    count: int
    rgb: tuple[int, int, int] = (128, 128, 128)

    def __str__(self) -> str:
        return f"tensor of shape [{self.count}, {self.height}, {self.width}, 3]"


@dataclass(frozen=True)
class Latent:
    width: int
    height: int
    count: int
    frames: int = 1
    seconds: float = 0.0
    rgb: tuple[int, int, int] = (0, 0, 0)

    def __str__(self) -> str:
        shape = f"[{self.count}, 4, {self.height // 8}, {self.width // 8}]"
        return f"{{'samples': tensor of shape {shape}}}"


@dataclass(frozen=True)
class Audio:
    seconds: float
    sample_rate: int = 44100
    channels: int = 2

    def __str__(self) -> str:
        return f"{{'waveform': tensor of {self.seconds}s, 'sample_rate': {self.sample_rate}}}"


@dataclass(frozen=True)
class Video:
    images: Images
    fps: float
    audio: Audio | None = None

    def __str__(self) -> str:
        return f"VideoFromComponents({self.images.count} frames at {self.fps} fps)"


@dataclass(frozen=True)
class Opaque:
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"<{self.kind} {self.detail}>".replace(" >", ">")


VALUE_KINDS = {Images: "IMAGE", Latent: "LATENT", Audio: "AUDIO", Video: "VIDEO"}
# What flows along a link: a JSON input, or one of the values above.
NodeValue: TypeAlias = Any
