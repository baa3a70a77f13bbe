"""`GET /view` and `POST /upload/image`: the server's files, as ComfyUI serves and stores them
(server.py@002c3fb9 view_image and upload_image)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from . import media
from .faults import Faults, hostile_view
from .jobs import Handler
from .machine import Config


class FilesApi:
    """The two file routes over one server's folders."""

    def __init__(self, config: Config, faults: Faults):
        self.config = config
        self.faults = faults

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("GET", "/view", self.view), ("POST", "/upload/image", self.upload_image)]

    async def view(self, request: web.Request) -> web.StreamResponse:
        query: dict[str, str] = dict(request.rel_url.query)
        if "filename" not in query:
            return web.Response(status=404)
        alias = self.faults.aliases.get((query["filename"], query.get("subfolder", "")))
        if alias is not None:
            query = {**query, "filename": alias[0], "subfolder": alias[1]}
        filename, kind = media.split_annotation(query["filename"])
        if not filename or filename[0] == "/" or ".." in filename:
            return web.Response(status=400)
        base = self.config.dirs.get(kind or query.get("type", "output"))
        if base is None:
            return web.Response(status=400)
        if "subfolder" in query:
            folder = base / query["subfolder"]
            if os.path.commonpath((os.path.abspath(folder), str(base))) != str(base):
                return web.Response(status=403)
            base = folder
        filename = os.path.basename(filename)
        path = base / filename
        if not path.is_file():
            return web.Response(status=404)
        if self.faults.hostile.view is not None:
            return await hostile_view(request, self.faults.hostile.view, path)
        return _file_response(path, filename, query, self.config.profile.current)

    async def upload_image(self, request: web.Request) -> web.Response:
        post = await request.post()
        image = post.get("image")
        kind = str(post.get("type", "input"))
        upload_dir = self.config.dirs[kind]  # an unknown type fails like the real server (500)
        if not isinstance(image, web.FileField) or not image.filename:
            return web.Response(status=400)
        subfolder = str(post.get("subfolder", ""))
        folder = upload_dir / os.path.normpath(subfolder)
        path = os.path.abspath(folder / image.filename)
        if os.path.commonpath((str(upload_dir), path)) != str(upload_dir):
            return web.Response(status=400)
        folder.mkdir(parents=True, exist_ok=True)
        data = image.file.read()
        overwrite = post.get("overwrite") in ("true", "1")
        name, duplicate = image.filename, False
        if not overwrite:
            name, duplicate = _free_name(folder, image.filename, data)
        if not duplicate:
            (folder / name).write_bytes(data)
        return web.json_response({"name": name, "subfolder": subfolder, "type": kind})


def _free_name(folder: Path, filename: str, data: bytes) -> tuple[str, bool]:
    """(name, already there): an existing file with the same bytes is reused, otherwise
    `name (1).ext`, `name (2).ext`, … until the name is free."""
    stem, ext = os.path.splitext(filename)
    name, index = filename, 1
    while (folder / name).exists():
        if _sha256((folder / name).read_bytes()) == _sha256(data):
            return name, True
        name = f"{stem} ({index}){ext}"
        index += 1
    return name, False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_response(
    path: Path, filename: str, query: Mapping[str, str], current: bool
) -> web.StreamResponse:
    disposition = {"Content-Disposition": f'filename="{filename}"'}
    channel = query.get("channel", "rgba")
    if "preview" in query:
        body, content_type = media.reencode(path, query["preview"], query.get("channel", ""))
        return web.Response(body=body, content_type=content_type, headers=disposition)
    if channel in ("rgb", "a"):
        body = media.channel_png(path, channel)
        return web.Response(body=body, content_type="image/png", headers=disposition)
    headers = {**disposition, "Content-Type": media.content_type(filename)}
    if current:  # server.py@002c3fb9 view_image
        headers["X-Content-Type-Options"] = "nosniff"
    return web.FileResponse(path, headers=headers)
