"""Artifact files on disk: safe names, atomic writes, take folders and media facts.

names (safe file names), files (atomic, hashed writes on core.atomic), store (`ArtifactStore`:
take folders and paths relative to the home), media (what a file is, and whether a take file is
the media its name says), facts (size, frames, duration; PyAV optional and lazy).
"""

from executors.storage.facts import av_duration, is_cover_stream, load_av, media_facts
from executors.storage.files import StoredFile, store_bytes, store_file, write_stream
from executors.storage.media import KINDS, guess_media, verify_media
from executors.storage.names import MAX_NAME_BYTES, safe_filename
from executors.storage.store import ArtifactStore

__all__ = [
    "KINDS",
    "MAX_NAME_BYTES",
    "ArtifactStore",
    "StoredFile",
    "av_duration",
    "guess_media",
    "is_cover_stream",
    "load_av",
    "media_facts",
    "safe_filename",
    "store_bytes",
    "store_file",
    "verify_media",
    "write_stream",
]
