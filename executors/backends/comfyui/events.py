"""What a ComfyUI run reports (events while it runs) and returns (its result): frozen records.

Progress and Preview are the ones every backend reports (executors/backends/base.py)."""

from __future__ import annotations

from dataclasses import dataclass

from executors.backends.base import Preview, Progress


@dataclass(frozen=True)
class Accepted:
    """The server queued the prompt (POST /prompt answered 200 without node errors)."""

    prompt_id: str


@dataclass(frozen=True)
class NodeStarted:
    node: str
    class_type: str
    fraction: float = 0.0  # of the whole prompt, when the node started


@dataclass(frozen=True)
class Cached:
    nodes: tuple[str, ...]


Event = Accepted | Progress | Preview | NodeStarted | Cached


@dataclass(frozen=True)
class OutputFile:
    node_id: str
    filename: str
    subfolder: str
    type: str  # output | temp | input, or "text" for a PreviewAny-style text output
    media: str  # image | video | audio | text
    animated: bool = False
    text: str | None = None


@dataclass(frozen=True)
class RunResult:
    prompt_id: str
    outputs: list[OutputFile]
    cached: bool  # every output node was served from ComfyUI's cache (old files, none new)
    timings: dict[str, float | None]  # queued / started / finished, epoch seconds
    preview: Preview | None = None  # the last live preview

    @property
    def files(self) -> list[OutputFile]:
        """The media the workflow made (text displays are not media)."""
        return [o for o in self.outputs if o.media != "text"]

    @property
    def texts(self) -> dict[str, list[str]]:
        """Text displays (PreviewAny, "Show Text" nodes) by node id."""
        texts: dict[str, list[str]] = {}
        for output in self.outputs:
            if output.media == "text":
                texts.setdefault(output.node_id, []).append(output.text or "")
        return texts
