"""WanGP's answers read into typed records: its models, and the gallery items of a finished
job (two generations of them). Pure; any thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import PermanentBackendError
from core.json_types import JsonObject

from .errors import Where

ID_ARGUMENTS = ("media_id", "gallery_id")  # the download tool's argument names, newest first


@dataclass(frozen=True)
class Item:
    """One file WanGP made: its gallery id and the name it had on the server."""

    gallery_id: str
    filename: str


@dataclass(frozen=True)
class Made:
    """A finished WanGP job: its id and the gallery items of its files."""

    job_id: str
    items: list[Item]


def model_entry(record: JsonObject) -> JsonObject:
    """A wangp_list_models record as {model_type, name, available (True/False/None)}."""
    availability = record.get("availability")
    available = availability.get("available") if isinstance(availability, dict) else None
    model_type = str(record.get("model_type") or "")
    return {
        "model_type": model_type,
        "name": str(record.get("name") or model_type),
        "available": available if isinstance(available, bool) else None,
    }


def gallery_items(result: JsonObject, id_argument: str, where: Where) -> list[Item]:
    """The gallery items of a finished job's files. WanGP 12.60 lists full records
    ({gallery_id, path, ...}); later versions compact ones ({media_id, filename, ...})."""
    records = [i for i in result.get("gallery_items") or [] if isinstance(i, dict)]
    items = [item for record in records if (item := _item(record, id_argument))]
    if items and len(items) == len(records):  # all of them, or the job fails
        return items
    made = len(result.get("generated_files") or [])
    if made:
        raise PermanentBackendError(
            f"WanGP made {made} file(s) but listed {len(items)} with a {id_argument} to "
            "download them by; the files stay in WanGP's output folder — update WanGP.",
            **where,
        )
    raise PermanentBackendError(
        "WanGP finished the job without producing a file; look at WanGP's console.", **where
    )


def _item(record: JsonObject, id_argument: str) -> Item | None:
    """A gallery record as an Item; None when it carries no id (never the text 'None')."""
    gallery_id = next((record[k] for k in (id_argument, *ID_ARGUMENTS) if record.get(k)), None)
    if not isinstance(gallery_id, str):
        return None
    name = record.get("filename") or Path(str(record.get("path") or "")).name
    return Item(gallery_id, str(name or ""))
