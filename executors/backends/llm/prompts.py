"""What the screenwriter tells the model and how it reads the reply (pure; any thread).

The system prompt lists the fields of a kind, built from `core.models.SCHEMAS`: each field's
type and limits are read from its check's closure, plus a hint in words.
"""

from __future__ import annotations

import inspect
import json
import re

from core.errors import InputError
from core.fields import Field
from core.json_types import JsonValue
from core.models import SCHEMAS, MediaKind, parse_enum

KIND_ALIASES = {"song": "audio", "music": "audio", "picture": "image", "movie": "video"}
FIELD_HINTS = {
    "prompt": "the scene: subject, action, setting, light, camera, style, in rich detail "
    "(for a sound effect: what it sounds like)",
    "task": '"song" (the default) or "sfx" for a sound effect; never "voice"',
    "source_audio": "leave it out (a recording the user adds)",
    "lora": "leave it out (a LoRA file the user adds)",
    "negative_prompt": "what to keep out, e.g. blurry, watermark, extra fingers",
    "style_tags": "a few short style words",
    "title": "the song's title",
    "lyrics": "required for a song; ACE-Step style: sections marked [verse], [chorus], "
    "[bridge], [outro] on their own lines, then the sung lines; at least one [verse] and one "
    "[chorus]",
    "tags": "genre, instruments, mood and voice, e.g. sea shanty, accordion, male choir",
    "tempo": "beats per minute",
    "key": "musical key",
    "duration_s": "length in seconds",
    "seed": "leave it out: the app picks one",
    "params": "leave it out unless asked",
    "reference_image": "leave it out (a file path the user adds)",
    "start_image": "leave it out (a file path the user adds)",
    "frames": "leave it out when duration_s is given (give only one of them)",
}


def parse_kind(kind: MediaKind | str) -> MediaKind:
    """image, audio (or song), video."""
    if isinstance(kind, str):
        kind = KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower())
    return parse_enum(MediaKind, kind, "kind")


def describe_field(name: str, spec: Field) -> str:
    """One line about a schema field: its type and limits from the check's closure."""
    check = spec.check
    kind = check.__qualname__.split(".")[0]
    params = inspect.getclosurevars(check).nonlocals if kind != "text_list" else {}
    if kind == "text":
        what = "non-empty text" if params.get("non_empty") else "text"
    elif kind in ("integer", "number"):
        noun = "whole number" if kind == "integer" else "number"
        what = f"{noun} from {params.get('lo')} to {params.get('hi')}"
    elif kind == "one_of":
        what = "one of " + ", ".join(f'"{c}"' for c in params.get("choices", ()))
    elif kind == "pattern":
        what = f'text like "{params.get("example")}"'
    elif kind == "text_list":
        what = "list of texts"
    elif kind == "free_params":
        what = "object"
    else:
        what = "value"
    extra = ["required"] if spec.required else []
    if spec.default not in (None, "", [], {}):
        extra.append(f"default {json.dumps(spec.default)}")
    hint = FIELD_HINTS.get(name)
    line = f'- "{name}": {what}' + (f" ({', '.join(extra)})" if extra else "")
    return line + (f" — {hint}" if hint else "")


def system_prompt(kind: MediaKind | str) -> str:
    kind = parse_kind(kind)
    fields = "\n".join(describe_field(name, spec) for name, spec in SCHEMAS[kind].items())
    media = {"image": "an image", "audio": "a song", "video": "a video clip"}[kind.value]
    return (
        f"You are a screenwriter who writes generation prompts for {media}.\n"
        'Reply with one JSON object and nothing else: {"title": short title for the library, '
        '"data": {...}}.\n'
        f"The fields of data (no other fields allowed):\n{fields}\n"
        "Use only these field names. Leave out optional fields you have nothing for."
        + (LYRICS_EXAMPLE if kind is MediaKind.AUDIO else "")
    )


LYRICS_EXAMPLE = (
    '\nLyrics look like this (newlines as \\n in JSON): "[verse]\\nFirst line\\nSecond line'
    '\\n\\n[chorus]\\nHook line\\nHook line"'
)
FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_reply(content: str) -> tuple[str, JsonValue]:
    """(title, data) from the model's text: fences stripped, JSON between the outer braces."""
    fenced = FENCE.search(content or "")
    text = fenced.group(1) if fenced else (content or "")
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise InputError("data: the model did not reply with a JSON object — ask for JSON only")
    try:
        obj = json.loads(text[start : end + 1])
    except ValueError as exc:
        raise InputError(f"data: the model's reply is not valid JSON ({exc})") from None
    if isinstance(obj.get("data"), dict):
        title = obj.get("title")
        return (title if isinstance(title, str) else ""), obj["data"]
    return "", obj
