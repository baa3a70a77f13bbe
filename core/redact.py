"""Secrets out of log lines. A cloud machine's host name is its credential (RunComfy: "use this
URL in a trusted environment"), and RunComfy API paths carry the user and server ids; both can
reach a log through a library's debug line or an exception's text (requests names the host)."""

from __future__ import annotations

import logging
import re

PATTERNS = (
    (re.compile(r"/prod/api/users/[^\s\"']+"), "/prod/api/users/…"),
    (re.compile(r"[\w-]+-comfyui\.runcomfy\.com"), "****.runcomfy.com"),
)


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then hides the secrets — in the message and in any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
