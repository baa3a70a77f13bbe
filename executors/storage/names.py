"""Safe file names for whatever a server reported: no separators, no device names, bounded."""

from __future__ import annotations

import os
import re
import unicodedata

MAX_NAME_BYTES = 200

_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]
}


def safe_filename(name: str, subfolder: str = "") -> str:
    """A plain file name for whatever a server reported; subfolder parts are folded in.

    The result never contains a separator, is never empty, ``.`` or ``..``, is not a Windows
    device name and is at most MAX_NAME_BYTES bytes (UTF-8); the extension is kept.
    """
    base = clean_part(_parts(name)[-1] if _parts(name) else "")
    folded = [clean_part(part) for part in _parts(subfolder)]
    stem, ext = split_ext(base or "file")
    stem = "_".join(part for part in [*folded, stem] if part) or "file"
    if stem.split(".")[0].strip().upper() in RESERVED:
        stem = f"_{stem}"
    return _truncate(stem, MAX_NAME_BYTES - len(ext.encode())) + ext


def _parts(path: str) -> list[str]:
    """Path components of a reported name, with `.`/`..`/empty parts dropped."""
    parts = str(path).replace("\\", "/").split("/")
    return [part for part in parts if part.strip(" .")]


def clean_part(part: str) -> str:
    """NFC, without format characters (bidi overrides such as U+202E, zero-width marks) and
    with controls and separators replaced."""
    part = "".join(map(_clean_char, unicodedata.normalize("NFC", part)))
    return _BAD_CHARS.sub("_", part).strip(" .")


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    return "_" if category in ("Cc", "Zl", "Zp") else char


def split_ext(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    if not stem or len(ext) > 16 or not ext[1:].isalnum():
        return name, ""
    return stem, ext


def _truncate(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(limit, 1)].decode(errors="ignore").rstrip(" .") or "file"
