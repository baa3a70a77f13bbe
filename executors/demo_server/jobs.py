"""The Jobs API of current ComfyUI, on the "current" profile only.

Routes and their error bodies follow server.py@002c3fb9 (get_jobs, get_job_by_id,
cancel_job_by_id, cancel_jobs_batch); job shapes, statuses, the preview pick and cancel
classification follow comfy_execution/jobs.py@172be438 (normalize_queue_item,
normalize_history_item, get_outputs_summary, count_previewable_outputs, get_all_jobs,
cancel_job). Only `/api/jobs…` exists (the real routes are declared with the prefix).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from core.json_types import JsonObject, JsonValue

from .prompt_queue import PromptQueue

STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
HISTORY_STATUSES = {"completed", "failed", "cancelled"}
PREVIEWABLE_MEDIA = {"images", "video", "audio", "3d", "text"}
THREE_D_EXTS = (".obj", ".fbx", ".gltf", ".glb", ".usdz")
TEXT_EXTS = (".txt", ".md", ".json")
TEXT_PREVIEW_MAX = 1024
END_EVENTS = ("execution_success", "execution_error", "execution_interrupted")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def validate_job_id(value: JsonValue) -> str:
    """The id unchanged when it is a canonical lowercase hyphenated UUID string."""
    if not isinstance(value, str):
        raise ValueError(f"job id must be a string, got {type(value).__name__}")
    if str(uuid.UUID(value)) != value:
        raise ValueError("job id must be a UUID in canonical lowercase hyphenated form")
    return value


def _pruned(job: JsonObject) -> JsonObject:
    return {key: value for key, value in job.items() if value is not None}


def _metadata(extra_data: JsonObject) -> tuple[JsonValue, JsonValue]:
    """(create_time, workflow_id): the id is extra_data.extra_pnginfo.workflow.id."""
    workflow = extra_data.get("extra_pnginfo", {}).get("workflow", {})
    return extra_data.get("create_time"), workflow.get("id")


def queue_job(item: tuple, status: str, include_workflow: bool = False) -> JsonObject:
    priority, prompt_id, prompt, extra_data, _ = item[:5]
    create_time, workflow_id = _metadata(extra_data)
    job = _pruned(
        {
            "id": prompt_id,
            "status": status,
            "priority": priority,
            "create_time": create_time,
            "outputs_count": 0,
            "previewable_outputs_count": 0,
            "workflow_id": workflow_id,
        }
    )
    if include_workflow:
        job["workflow"] = {"prompt": prompt, "extra_data": extra_data}
    return job


def history_job(prompt_id: str, entry: dict, include_outputs: bool = False) -> JsonObject:
    priority, _, prompt, extra_data, _ = entry["prompt"]
    create_time, workflow_id = _metadata(extra_data)
    status_info = entry.get("status") or {}
    start, end, error, interrupted = _timeline(status_info.get("messages", []))
    status = "completed"
    if status_info.get("status_str") == "error":
        status = "cancelled" if interrupted else "failed"
    outputs = entry.get("outputs", {})
    count, preview = outputs_summary(outputs)
    job = _pruned(
        {
            "id": prompt_id,
            "status": status,
            "priority": priority,
            "create_time": create_time,
            "execution_start_time": start,
            "execution_end_time": end,
            "execution_error": error,
            "outputs_count": count,
            "previewable_outputs_count": count_previewable(outputs),
            "preview_output": preview,
            "workflow_id": workflow_id,
        }
    )
    if include_outputs:
        job["outputs"] = normalize_outputs(outputs)
        job["execution_status"] = entry.get("status")
        job["workflow"] = {"prompt": prompt, "extra_data": extra_data}
    return job


def _timeline(messages: list) -> tuple[JsonValue, JsonValue, JsonValue, bool]:
    """(start ms, end ms, execution_error data, interrupted) from the status messages."""
    start = end = error = None
    interrupted = False
    for entry in messages:
        if not (isinstance(entry, list | tuple) and len(entry) >= 2 and isinstance(entry[1], dict)):
            continue
        event, data = entry[0], entry[1]
        if event == "execution_start":
            start = data.get("timestamp")
        elif event in END_EVENTS:
            end = data.get("timestamp")
            error = data if event == "execution_error" else error
            interrupted = interrupted or event == "execution_interrupted"
    return start, end, error, interrupted


def _file_item(item: JsonValue) -> JsonObject | None:
    """A dict item as it is; a 3D file name as a file dict; anything else None."""
    if isinstance(item, dict):
        return item
    if isinstance(item, str) and item.lower().endswith(THREE_D_EXTS):
        return {"filename": item, "type": "output", "subfolder": "", "mediaType": "3d"}
    return None


def _is_previewable(media_type: str, item: dict) -> bool:
    fmt = item.get("format", "")
    name = item.get("filename", "").lower()
    return (
        media_type in PREVIEWABLE_MEDIA
        or bool(fmt and fmt.startswith(("video/", "audio/")))
        or name.endswith(THREE_D_EXTS + TEXT_EXTS)
    )


def _is_text(media_type: str, item: dict) -> bool:
    return media_type == "text" or item.get("filename", "").lower().endswith(TEXT_EXTS)


def _media_items(outputs: dict) -> list[tuple[str, str, JsonValue]]:
    """(node id, media type, item) for every list item; `animated` flags are not items."""
    return [
        (node_id, media_type, item)
        for node_id, node_outputs in outputs.items()
        if isinstance(node_outputs, dict)
        for media_type, items in node_outputs.items()
        if media_type != "animated" and isinstance(items, list)
        for item in items
    ]


def outputs_summary(outputs: dict) -> tuple[int, dict | None]:
    """(outputs_count, preview_output): saved media first, then temp media, then a saved
    text file, then raw text (which is never counted)."""
    count = 0
    slots = ("output", "other", "text_file", "text")
    picks: dict[str, JsonObject | None] = dict.fromkeys(slots)
    for node_id, media_type, raw in _media_items(outputs):
        item = _file_item(raw)
        if item is None:
            if media_type == "text" and raw is not None and picks["text"] is None:
                preview = _text_preview(str(raw))
                picks["text"] = {**preview, "nodeId": node_id, "mediaType": media_type}
            continue
        count += 1
        if picks["output"] is not None or not _is_previewable(media_type, item):
            continue
        enriched = {**item, "nodeId": node_id}
        enriched.setdefault("mediaType", media_type)
        slot = "text_file" if _is_text(media_type, item) else "other"
        slot = "output" if slot == "other" and item.get("type") == "output" else slot
        picks[slot] = picks[slot] or enriched
    return count, picks["output"] or picks["other"] or picks["text_file"] or picks["text"]


def _text_preview(value: str) -> JsonObject:
    if len(value) <= TEXT_PREVIEW_MAX:
        return {"content": value}
    return {"content": value[:TEXT_PREVIEW_MAX], "truncated": True}


def count_previewable(outputs: dict) -> int:
    items = [(media, _file_item(raw)) for _, media, raw in _media_items(outputs)]
    return sum(1 for media, item in items if item is not None and _is_previewable(media, item))


def normalize_outputs(outputs: dict) -> dict:
    """3D file names become file dicts, None items are dropped, the rest stays."""
    normalized: JsonObject = {}
    for node_id, node_outputs in outputs.items():
        if not isinstance(node_outputs, dict):
            normalized[node_id] = node_outputs
            continue
        normalized[node_id] = {
            media: items
            if media == "animated" or not isinstance(items, list)
            else [_file_item(item) or item for item in items if item is not None]
            for media, items in node_outputs.items()
        }
    return normalized


def _error(message: str, status: int = 400, **extra: JsonValue) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class JobsApi:
    """The four `/api/jobs` routes over one server "process" state."""

    def __init__(self, queue: PromptQueue, interrupt: Callable[[], None]):
        self.queue = queue
        self.interrupt = interrupt  # the global interrupt

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/api/jobs", self.list_jobs),
            ("GET", "/api/jobs/{job_id}", self.get_job),
            ("POST", "/api/jobs/{job_id}/cancel", self.cancel_one),
            ("POST", "/api/jobs/cancel", self.cancel_batch),
        ]

    def _snapshot(self) -> tuple[list[tuple], list[tuple]]:
        running = [item[:5] for item in self.queue.running.values()]
        return running, [item[:5] for item in self.queue.heap]

    async def list_jobs(self, request: web.Request) -> web.Response:
        query = request.rel_url.query
        parsed = _list_query(query)
        if isinstance(parsed, web.Response):
            return parsed
        statuses, sort_by, sort_order, limit, offset = parsed
        jobs = self._all_jobs(statuses, query.get("workflow_id"))
        jobs.sort(key=_sort_key(sort_by), reverse=sort_order == "desc")
        total = len(jobs)
        page = jobs[offset:] if offset > 0 else jobs
        page = page[:limit] if limit is not None else page
        pagination = {"offset": offset, "limit": limit, "total": total}
        pagination["has_more"] = offset + len(page) < total
        return web.json_response({"jobs": page, "pagination": pagination})

    def _all_jobs(self, statuses: list[str], workflow_id: str | None) -> list[dict]:
        running, queued = self._snapshot()
        jobs = [queue_job(item, "in_progress") for item in running if "in_progress" in statuses]
        jobs += [queue_job(item, "pending") for item in queued if "pending" in statuses]
        if HISTORY_STATUSES & set(statuses):
            for prompt_id, entry in self.queue.history.items():
                job = history_job(prompt_id, entry)
                if job["status"] in statuses:
                    jobs.append(job)
        if workflow_id:
            jobs = [job for job in jobs if job.get("workflow_id") == workflow_id]
        return jobs

    async def get_job(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        running, queued = self._snapshot()
        job = None
        if job_id in self.queue.history:
            job = history_job(job_id, self.queue.history[job_id], include_outputs=True)
        for items, status in ((running, "in_progress"), (queued, "pending")):
            for item in items:
                if job is None and item[1] == job_id:
                    job = queue_job(item, status, include_workflow=True)
        if job is None:
            return _error("Job not found", status=404)
        return web.json_response(job)

    def _cancel(self, job_id: str) -> bool:
        """Interrupt it only while it is the one running; dequeue it while pending."""
        if self._interrupt_if_running(job_id):
            return True
        if self.queue.delete(job_id):
            return True
        return self._interrupt_if_running(job_id)  # it may have started in between

    def _interrupt_if_running(self, job_id: str) -> bool:
        if any(item[1] == job_id for item in self.queue.running.values()):
            self.interrupt()
            return True
        return False

    async def cancel_one(self, request: web.Request) -> web.Response:
        return web.json_response({"cancelled": self._cancel(request.match_info["job_id"])})

    async def cancel_batch(self, request: web.Request) -> web.Response:
        try:
            json_data = await request.json()
        except json.JSONDecodeError:
            return _error("Request body must be valid JSON")
        job_ids = json_data.get("job_ids") if isinstance(json_data, dict) else None
        if not isinstance(job_ids, list):
            return _error("job_ids must be a list")
        invalid = [_invalid_id(job_id) for job_id in job_ids if _invalid_id(job_id) is not None]
        if invalid:
            return _error("job_ids contains invalid id(s)", invalid_ids=invalid)
        results = [self._cancel(job_id) for job_id in job_ids]
        return web.json_response({"cancelled": any(results)})


def _invalid_id(job_id: JsonValue) -> str | None:
    """None for a good id, else how the server lists it (repr for non-strings)."""
    try:
        validate_job_id(job_id)
    except (ValueError, AttributeError):
        return job_id if isinstance(job_id, str) else repr(job_id)
    return None


def _sort_key(sort_by: str) -> Callable[[JsonObject], JsonValue]:
    if sort_by == "execution_duration":

        def duration(job: dict) -> JsonValue:
            start, end = job.get("execution_start_time", 0), job.get("execution_end_time", 0)
            return end - start if end and start else 0

        return duration
    return lambda job: job.get("create_time", 0)


def _list_query(query: Mapping[str, str]) -> tuple | web.Response:
    """(statuses, sort_by, sort_order, limit, offset) or the 400 the real server answers."""
    statuses = list(STATUSES)
    if query.get("status"):
        statuses = [s.strip().lower() for s in query["status"].split(",") if s.strip()]
        invalid = [s for s in statuses if s not in STATUSES]
        if invalid:
            valid = ", ".join(STATUSES)
            return _error(f"Invalid status value(s): {', '.join(invalid)}. Valid values: {valid}")
    sort_by = query.get("sort_by", "created_at").lower()
    sort_order = query.get("sort_order", "desc").lower()
    if sort_by not in ("created_at", "execution_duration"):
        return _error("sort_by must be 'created_at' or 'execution_duration'")
    if sort_order not in ("asc", "desc"):
        return _error("sort_order must be 'asc' or 'desc'")
    limit = offset = None
    if "limit" in query:
        limit = _int(query["limit"])
        if limit is None:
            return _error("limit must be an integer")
        if limit <= 0:
            return _error("limit must be a positive integer")
    if "offset" in query:
        offset = _int(query["offset"])
        if offset is None:
            return _error("offset must be an integer")
    return statuses, sort_by, sort_order, limit, max(offset or 0, 0)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
