"""The Takeboard window: prompt list, editor, takes gallery, queue panel and status bar around
one job engine. Only the Tk thread touches Tk: the engine runs on its own threads and reports
through the EventBridge; slow calls (engine start/stop) run on worker threads."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
import tkinter as tk
from collections.abc import Sequence
from pathlib import Path
from tkinter import filedialog, messagebox, simpledialog, ttk
from typing import Any

from app import theme
from app.bridge import EventBridge
from app.cli import Context
from app.cli_workflows import tier_line
from app.first_start_state import DEMO_LABEL, FoundServer, server_name
from app.history_state import take_request
from app.icons import Icons
from app.list_state import favorite_after_toggle
from app.live_state import ABOUT_BACKENDS, cloud_meter
from app.param_controls_state import FunctionCatalog
from app.settings_state import ServerRow, connection_text
from app.template_warnings import TemplateWarnings
from app.variations_state import batch_of, function_schema, queue_batch
from app.views.compare import CompareView
from app.views.draft_dialog import DraftDialog
from app.views.editor import PromptEditor
from app.views.first_start import DemoSwitch, FirstStart
from app.views.gallery import TakesGallery
from app.views.import_dialog import ImportDialog
from app.views.prompt_list import PromptList
from app.views.queue_panel import QueuePanel
from app.views.settings import SettingsDialog
from app.views.status_bar import StatusBar
from app.views.variations import BatchGrid, VariationsDialog
from app.views.viewer import TakeViewer, cover
from app.views.workflow_import import WorkflowImport
from core.config import Config, ServerConfig
from core.errors import AppError, UserError
from core.jobs import JobEvent, JobFinished, JobStarted
from core.models import ArtifactRecord, JobStatus
from executors.cloud import CloudSettings
from executors.library_import.importer import LibraryImport
from executors.pool import ServerPool
from executors.workflow_import.catalog import ObjectInfoCache, Seen
from executors.workflow_import.tiers import add_tier

log = logging.getLogger(__name__)
STATUS_REFRESH_MS = 2000
MIN_SIZE, MAX_SIZE = (1000, 650), (2400, 1500)
FIRST_SHARE = 0.8  # of the screen, for the first window (later ones restore the saved size)


def first_geometry(screen_w: int, screen_h: int) -> str:
    """The first window: 80 % of the screen within MIN_SIZE..MAX_SIZE (never over the screen),
    centred."""
    size = [
        min(screen, max(low, min(high, int(screen * FIRST_SHARE))))
        for screen, low, high in zip((screen_w, screen_h), MIN_SIZE, MAX_SIZE, strict=True)
    ]
    return f"{size[0]}x{size[1]}+{(screen_w - size[0]) // 2}+{(screen_h - size[1]) // 2}"


def default_panes(geometry: str) -> list[int]:
    """Sash positions without a saved layout: the queue below 56 % of the height, the list
    left of 55 % of the width (not the panes' natural sizes, which follow their widgets)."""
    try:
        width, height = (int(v) for v in geometry.split("+")[0].split("x"))
    except ValueError:
        return []
    return [int(height * 0.56), int(width * 0.55)]  # the queue has room for a preview


class Application:
    def __init__(self, root: tk.Tk, ctx: Context, *, banner: str = ""):
        self.root, self.ctx = root, ctx
        self.confirm = lambda question: messagebox.askyesno("Takeboard", question, parent=root)
        self.bridge = EventBridge(root, self._on_event)
        self.engine = ctx.engine(self.bridge.put)
        self.demo = DemoSwitch(root, self.engine, lambda: self.ctx.config)
        self.functions = FunctionCatalog()  # the editor's functions and their parameters
        self.workflows = WorkflowImport(root, ctx.config, on_imported=self.templates_changed)
        root.title("Takeboard" + (f" — {banner}" if banner else ""))
        root.minsize(*MIN_SIZE)
        layout = self._read_layout()
        first = first_geometry(root.winfo_screenwidth(), root.winfo_screenheight())
        geometry = layout.get("geometry") or first
        root.geometry(geometry)
        self.theme_mode = tk.StringVar(root, theme.parse_mode(layout.get("theme")))
        shown = theme.resolve(self.theme_mode.get(), theme.detect())  # before the window shows
        theme.apply(root, shown)
        self.icons = Icons(root, shown)
        self._build(banner)
        root.after_idle(self._restore_panes, layout.get("panes") or default_panes(geometry))
        self._bind_keys()
        root.protocol("WM_DELETE_WINDOW", self.quit)
        self.bridge.start()
        self._starter = threading.Thread(target=self.engine.start, name="engine-start", daemon=True)
        self._starter.start()
        self._refresh_status()

    # --- layout -------------------------------------------------------------------------------

    def _build(self, banner: str) -> None:
        self._build_menu()
        if banner:
            label = ttk.Label(self.root, text=banner, anchor="center", padding=theme.PAD)
            label.pack(fill="x")
            theme.follow(
                label, lambda p: label.configure(background=p.banner, foreground=p.banner_text)
            )
        self._build_toolbar()
        self.status = StatusBar(self.root)
        self.status.pack(side="bottom", fill="x", padx=theme.PAD, pady=(0, theme.PAD // 2))
        body = ttk.PanedWindow(self.root, orient="vertical")
        body.pack(fill="both", expand=True, padx=theme.PAD, pady=(0, theme.PAD))
        self.workflows.accept_drops(body)
        top = ttk.PanedWindow(body, orient="horizontal")
        self.prompts = PromptList(
            top,
            self.ctx.prompts,
            self,
            kind_icon=lambda kind: self.icons.photo(kind.value),
            home=self.ctx.config.home,
        )
        self.prompts.on_select(self._show_prompt)
        top.add(self.prompts, weight=3)
        self.tabs = ttk.Notebook(top)
        self.template_warnings = TemplateWarnings(
            self.engine.executor.templates, self._cached_servers
        )
        self.editor = PromptEditor(
            self.tabs,
            self.ctx.prompts,
            self._saved,
            on_deleted=lambda _id: self.prompts.refresh(),
            template_warnings=self.template_warnings.for_kind,
            functions=self.functions,
            add_tier=self.add_tier,
        )
        self.functions.refresh(self.engine.executor.templates, self._cached_object_infos)
        self.gallery = TakesGallery(self.tabs, self.ctx.artifacts, self.ctx.config.home, self)
        self.tabs.add(self.editor, text="Editor")
        self.tabs.add(self.gallery, text="Takes")
        top.add(self.tabs, weight=4)
        body.add(top, weight=4)
        self.queue = QueuePanel(body, self)
        body.add(self.queue, weight=1)
        self._panes = (body, top)
        self.first_start = FirstStart(
            self.root, self.demo, scan=self._scan, add_server=self.open_settings, before=body
        )

    def _build_menu(self) -> None:
        bar = tk.Menu(self.root)
        file = tk.Menu(bar, tearoff=False)
        for kind in ("image", "audio", "video"):
            self._menu_item(file, f"New {kind} prompt", lambda k=kind: self.new(k), kind)
        file.add_command(label="Draft with the screenwriter…", command=self.draft)
        file.add_command(label="Enhance selected prompt…", command=self.enhance_selected)
        file.add_command(label="Import takes…", command=self.import_takes)
        file.add_command(label="Import workflow…", command=self.workflows.ask)
        file.add_command(label=f"Demo backend on/off ({DEMO_LABEL})", command=self.demo.toggle)
        self._menu_item(file, "Settings…", self.open_settings, "settings")
        file.add_separator()
        file.add_command(label="Quit", accelerator="Ctrl+Q", command=self.quit)
        queue = tk.Menu(bar, tearoff=False)
        self._menu_item(
            queue, "Generate selected", self.generate_selected, "generate", "Ctrl+Enter"
        )
        queue.add_command(label="Variations of selected…", command=self.variations)
        self._menu_item(queue, "Pause queue", self.pause, "pause")
        self._menu_item(queue, "Resume queue", self.resume, "resume")
        queue.add_command(label="Retry failed", command=self.retry_failed)
        view = tk.Menu(bar, tearoff=False)
        for mode in theme.MODES:
            view.add_radiobutton(
                label=theme.MODE_LABELS[mode],
                value=mode,
                variable=self.theme_mode,
                command=lambda: self.set_theme(self.theme_mode.get()),
            )
        about = tk.Menu(bar, tearoff=False)
        about.add_command(label="About the backends…", command=self.about_backends)
        bar.add_cascade(label="File", menu=file)
        bar.add_cascade(label="View", menu=view)
        bar.add_cascade(label="Queue", menu=queue)
        bar.add_cascade(label="Help", menu=about)
        self.root.configure(menu=bar)

    def _menu_item(
        self, menu: tk.Menu, label: str, command: Any, icon: str, accelerator: str = ""
    ) -> None:
        image = self.icons.photo(icon)
        menu.add_command(
            label=label, command=command, image=image, compound="left", accelerator=accelerator
        )

    def _build_toolbar(self) -> None:
        """The main actions, with icons: new prompt, generate, delete; queue; settings."""
        bar = ttk.Frame(self.root, padding=(theme.PAD, theme.PAD // 2))
        bar.pack(side="top", fill="x")
        buttons = (
            ("new", "New prompt", lambda: self.new("image"), "left"),
            ("generate", "Generate", self.generate_selected, "left"),
            ("delete", "Delete", self.delete_selected, "left"),
            ("settings", "Settings", self.open_settings, "right"),
            ("resume", "Resume", self.resume, "right"),
            ("pause", "Pause", self.pause, "right"),
        )
        self.toolbar: dict[str, ttk.Button] = {}
        for name, text, command, side in buttons:
            button = ttk.Button(
                bar,
                text=text,
                image=self.icons.photo(name),
                compound="left",
                command=command,
                style="Toolbutton",
            )
            button.pack(side=side, padx=(0, theme.PAD))
            self.toolbar[name] = button

    def set_theme(self, mode: str) -> None:
        """View → Light / Dark / Follow system (remembered in the layout file)."""
        self.theme_mode.set(theme.parse_mode(mode))
        if mode == theme.SYSTEM:
            theme.detect_later(
                self.root, lambda found: self._show_theme(theme.resolve(mode, found))
            )
        else:
            self._show_theme(mode)

    def _show_theme(self, name: str) -> None:
        if self.theme_mode.get() not in (theme.SYSTEM, name):
            return  # the user chose another mode while the system's was being read
        theme.apply(self.root, name)
        self.icons.use(name)

    def about_backends(self) -> None:
        messagebox.showinfo("About the backends", ABOUT_BACKENDS, parent=self.root)

    def _bind_keys(self) -> None:
        keys = {
            "<Control-n>": lambda: self.new("image"),
            "<Control-q>": self.quit,
            "<Control-Return>": self.generate_selected,
            "<F5>": self.refresh,
        }
        for key, command in keys.items():
            self.root.bind_all(key, lambda _e, c=command: c())
        self.root.bind_all("<Control-f>", lambda _e: self.prompts.search_entry.focus_set())
        self.prompts.tree.bind("<Delete>", lambda _e: self.delete_selected())

    def _cached_servers(self) -> Seen:
        """A worker thread: what was last seen of each configured server (no network)."""
        names = [server.name for server in self.ctx.config.comfyui_servers]
        return ObjectInfoCache(self.ctx.config.home).seen(names)

    def _cached_object_infos(self) -> dict[str, dict[str, Any]]:
        """A worker thread: the /object_info last seen of each configured server."""
        return self._cached_servers().infos

    def templates_changed(self) -> None:
        """A worker thread, after an import or a new tier: the engine reloads its templates
        (the new function runs at once) and the editor's catalog is built again."""
        templates = self.engine.reload_templates()
        self.functions.build(templates, self._cached_object_infos)
        self.template_warnings.reload(templates)

    def add_tier(self, function: str, tier: str, settings: dict[str, str]) -> str:
        """A worker thread (the Add tier… dialog): as `workflows tier`; the line to show."""
        line = tier_line(add_tier(self.ctx.config.home, function, tier, settings))
        self.templates_changed()
        return line

    # --- events from the engine (Tk thread) -----------------------------------------------------

    def _on_event(self, event: JobEvent) -> None:
        self.queue.handle(event)
        self.status.handle(event)
        self.gallery.handle(event)
        if isinstance(event, JobStarted | JobFinished):  # the prompt's status just changed
            self.prompts.update_rows()  # in place: rows never move under the cursor

    def _refresh_status(self) -> None:
        """Server indicators and job counts from memory and SQLite: a few ms, no network."""
        states = self.engine.pool.states()
        self.status.update_servers(states)
        self.first_start.follow(states)
        jobs = self.ctx.jobs.unfinished()
        running = sum(job.status is JobStatus.RUNNING for job in jobs)
        failed = len(self.ctx.jobs.list(status=JobStatus.FAILED, limit=10_000))
        self.status.update_counts(running, len(jobs) - running, failed)
        if self.engine.cloud is not None:
            self.status.update_cloud(cloud_meter(self.engine.cloud.snapshot()))
        self._status_job = self.root.after(STATUS_REFRESH_MS, self._refresh_status)

    def import_takes(self) -> None:
        """File → Import takes…: a folder of ComfyUI outputs becomes prompts and takes."""
        folder = filedialog.askdirectory(parent=self.root, title="Import ComfyUI outputs")
        if folder:
            takes = self.ctx.takes(self.ctx.artifacts)
            importer = LibraryImport(self.ctx.prompts, self.ctx.artifacts, takes)
            ImportDialog(self.root, importer, Path(folder), on_done=self.prompts.refresh)

    # --- prompt actions (PromptList, menus) ---------------------------------------------------

    def _show_prompt(self, prompt_id: int | None) -> None:
        if prompt_id is not None:
            self.editor.load(prompt_id)
            self.gallery.show_prompt(prompt_id)

    def _saved(self, prompt_id: int) -> None:
        self.prompts.refresh()
        self.prompts.select(prompt_id)

    def new(self, kind: str) -> None:
        self.tabs.select(self.editor)
        self.editor.new(kind)

    def refresh(self) -> None:
        self.prompts.refresh()

    def draft(self) -> DraftDialog:
        """File → Draft…: a new prompt from an idea; it fills the editor, unsaved."""
        return DraftDialog(self.root, self.ctx.config, self._drafted)

    def enhance_selected(self) -> DraftDialog | None:
        """File → Enhance…: the selected prompt rewritten into the editor, unsaved."""
        selected = self.prompts.selected_ids()
        if not selected:
            return None
        record = self.ctx.prompts.get(selected[0])
        return DraftDialog(
            self.root,
            self.ctx.config,
            lambda kind, title, data: self._drafted(kind, title, data, record.id),
            enhance={"kind": record.kind.value, "data": record.data},
        )

    def _drafted(
        self, kind: str, title: str, data: dict[str, Any], prompt_id: int | None = None
    ) -> None:
        self.tabs.select(self.editor)
        if prompt_id is None:
            self.editor.new(kind)
        else:
            self.editor.load(prompt_id)
        self.editor.fill(title, data)

    def generate_selected(self) -> None:
        """Ctrl+Enter: Generate every selected prompt, each with its own seed (if it fixes one)."""
        selected = self.prompts.selected_ids()
        if selected:
            self.generate(selected, new_seed=False)

    def generate(
        self,
        ids: list[int],
        quality: str | None = None,
        new_seed: bool = True,
        seed: int | None = None,
    ) -> None:
        """Generate keeps the prompt's own seed (random when it has none); Regenerate asks
        for a fresh one even when the prompt fixes it; same-seed passes `seed`."""
        if seed is None and new_seed:
            seed = random.randrange(2**32)
        overrides = {"seed": seed} if seed is not None else {}
        self._guarded(lambda: self.engine.queue(ids, quality=quality, overrides=overrides))
        self.prompts.update_rows()

    def variations(self, ids: Sequence[int] | None = None) -> VariationsDialog | None:
        """Variations… of the selected prompts (or `ids`): one batch of new seeds or a grid,
        over the parameters of the first prompt's function."""
        ids = list(ids if ids is not None else self.prompts.selected_ids())
        if not ids:
            return None
        first = self.ctx.prompts.get(ids[0])
        schema = self._guarded(
            lambda: function_schema(self.engine.executor.templates, None, first.kind.value)
        )
        if schema is None:
            return None
        engine = self.engine
        return VariationsDialog(
            self.root,
            len(ids),
            schema,
            lambda batch: queue_batch(engine, ids, batch),
            lambda _batch, _jobs: self.prompts.update_rows(),
            seed=first.data.get("seed") if len(ids) == 1 else None,
        )

    def show_batch(self, record: ArtifactRecord) -> BatchGrid | None:
        """A take's batch as a labelled grid (the gallery's menu)."""
        batch = batch_of(record.metadata)
        if batch is None:
            self.gallery.show_hint("This take is not part of a batch — Variations… makes one")
            return None
        takes = [
            r for r in self.gallery.records if (batch_of(r.metadata) or {}).get("id") == batch["id"]
        ]
        return BatchGrid(self.root, takes, self.ctx.config.home)

    def regenerate_same_seed(self, artifact_id: int) -> None:
        take = self.ctx.artifacts.get(artifact_id)
        self.generate(
            [take.prompt_id], quality=take.metadata.get("tier"), seed=take.metadata.get("seed")
        )

    def regenerate_from_take(self, artifact_id: int) -> None:
        """The take's own prompt version, tier and seed, even after the prompt was edited."""

        def queue() -> None:
            request = take_request(self.ctx.artifacts.get(artifact_id))
            overrides = {} if request.seed is None else {"seed": request.seed}
            self.engine.queue(
                [request.prompt_id],
                quality=request.quality,
                overrides=overrides,
                version=request.version,
            )

        self._guarded(queue)
        self.prompts.update_rows()

    def choices_changed(self, prompt_id: int) -> None:
        """A take was rated or circled: the list's rows (thumbnail column) follow."""
        self.prompts.update_rows()

    def duplicate(self, prompt_id: int) -> None:
        record = self.ctx.prompts.get(prompt_id)
        copy = self.ctx.prompts.add(
            record.kind, f"{record.title} (copy)", record.data, tags=record.tags
        )
        self._saved(copy.id)

    def cancel_jobs(self, prompt_id: int) -> None:
        for job in self.ctx.jobs.list(prompt_id=prompt_id):
            if job.status in (JobStatus.QUEUED, JobStatus.WAITING, JobStatus.RUNNING):
                self.engine.cancel(job.id)

    def toggle_favorite(self, ids: Sequence[int]) -> None:
        records = [self.ctx.prompts.get(prompt_id) for prompt_id in ids]
        favorite = favorite_after_toggle([record.favorite for record in records])
        for record in records:
            self.ctx.prompts.update(record.id, favorite=favorite)
        self.prompts.update_rows()

    def add_tag(self, ids: Sequence[int]) -> None:
        """Ask for a tag and add it to every prompt in `ids`."""
        tag = simpledialog.askstring("Add tag", f"Tag for {len(ids)} prompt(s):", parent=self.root)
        if tag and tag.strip():
            self._guarded(lambda: self._tag_all(ids, tag.strip()))

    def _tag_all(self, ids: Sequence[int], tag: str) -> None:
        for prompt_id in ids:
            record = self.ctx.prompts.get(prompt_id)
            if tag not in record.tags:
                self.ctx.prompts.update(prompt_id, tags=[*record.tags, tag])
        self.prompts.update_rows()

    def open_folder(self, prompt_id: int) -> None:
        takes = self.ctx.artifacts.for_prompt(prompt_id)
        folder = (
            (self.ctx.config.home / takes[0].path).parent
            if takes
            else self.ctx.config.home / "artifacts"
        )
        open_with_system(folder)

    def copy_text(self, prompt_id: int) -> None:
        data = self.ctx.prompts.get(prompt_id).data
        self.root.clipboard_clear()
        self.root.clipboard_append(data.get("prompt") or data.get("lyrics") or "")

    def delete(self, ids: Sequence[int]) -> None:
        these = "this prompt" if len(ids) == 1 else f"these {len(ids)} prompts"
        if ids and self.confirm(
            f"Move {these} to the trash? Their takes stay on disk and they can be "
            "restored (tick Trash in the list, then right-click → Restore)."
        ):
            for prompt_id in ids:
                self.ctx.prompts.delete(prompt_id)
            self.prompts.refresh()

    def restore(self, prompt_id: int) -> None:
        self.ctx.prompts.restore(prompt_id)
        self.prompts.refresh()

    def delete_selected(self) -> None:
        self.delete(self.prompts.selected_ids())

    def open_editor(self, prompt_id: int) -> None:
        self.tabs.select(self.editor)
        self.editor.load(prompt_id)

    # --- take actions (gallery) ---------------------------------------------------------------

    def open_file(self, path: Path) -> None:
        open_with_system(path)

    def show_in_folder(self, path: Path) -> None:
        open_with_system(Path(path).parent)

    def copy_path(self, path: Path) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(str(path))

    def view_take(self, records: list[ArtifactRecord], artifact_id: int) -> None:
        """Double-click on a take: the take viewer over the list and tabs (Escape returns)."""
        self._cover(TakeViewer(self.root, records, artifact_id, self.ctx.config.home, self))

    def compare_takes(self, records: list[ArtifactRecord]) -> None:
        self._cover(CompareView(self.root, records, self.ctx.config.home, self))

    def viewer_closed(self, artifact_id: int | None) -> None:
        """Back from the viewer (the take it showed last is selected) or compare (None)."""
        self.gallery.select_only(artifact_id)

    def _cover(self, view: ttk.Frame) -> None:
        """One view at a time over the prompt list and tabs; the queue stays in sight."""
        for child in self.root.winfo_children():
            if isinstance(child, TakeViewer | CompareView) and child is not view:
                child.destroy()
        cover(view, self._panes[1])

    def delete_take(self, artifact_id: int) -> None:
        if self.confirm("Delete this take's record? The file stays on disk."):
            take = self.ctx.artifacts.delete(artifact_id)
            self.gallery.show_prompt(take.prompt_id)
            self.prompts.refresh()

    # --- queue actions ------------------------------------------------------------------------

    def pause(self) -> None:
        self.ctx.jobs.set_paused(True)

    def resume(self) -> None:
        self.ctx.jobs.set_paused(False)

    def cancel(self, job_id: int) -> None:
        self.engine.cancel(job_id)

    def retry_failed(self) -> None:
        for job in self.ctx.jobs.list(status=JobStatus.FAILED):
            self.ctx.jobs.requeue(job.id)

    # --- settings -----------------------------------------------------------------------------

    def open_settings(self, found: FoundServer | None = None) -> None:
        """File → Settings…; from the first-start panel with a found server as a new row."""
        dialog = SettingsDialog(
            self.root,
            self.ctx.config.home,
            self._settings_saved,
            self._test_connection,
            cloud=self.engine.cloud,
        )
        if found is not None:
            taken = [view.value().name for view in dialog.rows]
            dialog.add_server(ServerRow(server_name(found.url, taken), found.url))

    def _scan(self) -> list[dict[str, Any]]:
        """A worker thread: what answers on this machine's usual ports (backends --discover)."""
        from app.cli_jobs import discovered_rows  # imports the discovery probes: only when asked

        return discovered_rows(self.ctx.config)

    def _settings_saved(self, config: Config) -> None:
        self.ctx.config = config
        self.engine.pool.allow_online = config.allow_online  # the switch applies now
        self._join_new_servers(config)
        text = (
            "Settings saved. The online switch, cloud settings and new servers apply now; "
            "other server, retry and timeout changes apply the next time Takeboard starts."
        )
        if self.engine.cloud is not None:
            self.engine.cloud.configure(CloudSettings.from_config(config))
            if not config.allow_online and self.engine.cloud.snapshot().state != "none":
                text += (
                    "\n\nA cloud machine is still running and billing. With online access off "
                    "Takeboard cannot stop it: turn online access on and press Stop, or stop "
                    "it on runcomfy.com."
                )
        messagebox.showinfo("Takeboard", text, parent=self.root)

    def _join_new_servers(self, config: Config) -> None:
        """ComfyUI servers added in Settings join the pool at once (the first start's Add)."""
        from main import comfy_client  # main imports app: resolved at call time

        known = set(self.engine.pool.names())
        for server in config.comfyui_servers:
            if server.name not in known:
                self.engine.pool.add(server, comfy_client(config, server))
        threading.Thread(target=self.engine.pool.refresh, name="pool-refresh", daemon=True).start()

    def _test_connection(self, url: str) -> tuple[bool, str]:
        """Worker thread, no Tk: one probe of one server."""
        from main import comfy_client  # main imports app: resolved at call time

        pool = ServerPool([ServerConfig("test", url)], lambda s: comfy_client(self.ctx.config, s))
        return connection_text(pool.refresh()[0])

    # --- quitting -----------------------------------------------------------------------------

    def quit(self) -> None:
        """Stop starting jobs, let running ones finish their step, keep queued ones queued."""
        self._save_layout()
        self.root.after_cancel(self._status_job)
        stopper = threading.Thread(target=self.stop_engine, name="engine-stop", daemon=True)
        stopper.start()
        self._close_when_stopped(stopper)

    def stop_engine(self) -> None:
        """Any thread but Tk's: wait for the engine to have started, then stop it, then stop
        the cloud machine when the user chose auto-stop at quit."""
        self._starter.join()
        self.engine.stop()
        self.demo.stop_server()
        if self.engine.cloud is not None:
            try:
                for notice in self.engine.cloud.at_quit():
                    log.info("cloud: %s", notice)
            except AppError as exc:  # quitting goes on; the machine is still in cloud.json
                log.warning("cloud: auto-stop at quit failed: %s", exc)

    def _close_when_stopped(self, stopper: threading.Thread) -> None:
        if stopper.is_alive():
            self.root.after(100, self._close_when_stopped, stopper)
            return
        self.bridge.stop()
        self.root.destroy()

    def _guarded(self, action: Any) -> Any:
        try:
            return action()
        except AppError as exc:
            messagebox.showerror("Takeboard", str(exc), parent=self.root)
            return None

    def _layout_file(self) -> Path:
        return self.ctx.config.home / "window.json"

    def _read_layout(self) -> dict[str, Any]:
        """Size and pane positions from the last session ({} when none or unreadable)."""
        try:
            layout = json.loads(self._layout_file().read_text())
        except (OSError, ValueError):
            return {}
        return layout if isinstance(layout, dict) else {}

    def _restore_panes(self, positions: list[Any]) -> None:
        self.root.update_idletasks()
        for pane, position in zip(self._panes, positions, strict=False):
            try:
                pane.sashpos(0, int(position))
            except (tk.TclError, TypeError, ValueError):
                log.info("pane position %r not restored", position)

    def _save_layout(self) -> None:
        layout = {
            "geometry": self.root.geometry(),
            "panes": [pane.sashpos(0) for pane in self._panes],
            "theme": self.theme_mode.get(),
        }
        try:
            self._layout_file().write_text(json.dumps(layout))
        except OSError as exc:
            log.info("window layout not saved: %s", exc)


def open_with_system(path: Path) -> None:
    """Open a file or folder in the system's viewer, without waiting for it."""
    if sys.platform.startswith("win"):
        os.startfile(path)  # noqa: S606 — the user asked to open it
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        subprocess.Popen(
            [opener, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        messagebox.showerror(
            "Takeboard", f"cannot open {path} ({exc.strerror}) — open it from your file manager"
        )


def open_window(ctx: Context, banner: str = "") -> int:
    try:
        root = tk.Tk(className="Takeboard")
    except tk.TclError as exc:
        raise UserError(
            f"cannot open the window ({exc}) — run it in a desktop session, or use "
            "the command line (python main.py --help)"
        ) from None
    Application(root, ctx, banner=banner)
    root.mainloop()
    return 0


def show_library_problem(message: str) -> int:
    """Instead of the main window: why the library was not opened and what to do (nothing was
    written into it). Exit code 1; on stderr too, for a window started from a terminal."""
    print(f"error: {message}", file=sys.stderr)
    try:
        root = tk.Tk(className="Takeboard")
    except tk.TclError:
        return 1
    library_problem_view(root, message)
    root.mainloop()
    return 1


def library_problem_view(root: tk.Tk, message: str) -> ttk.Frame:
    root.title("Takeboard — the library was not opened")
    frame = ttk.Frame(root, padding=16)
    frame.pack(fill="both", expand=True)
    ttk.Label(frame, text="The library was not opened", font=("TkDefaultFont", 12, "bold")).pack(
        anchor="w"
    )
    ttk.Label(frame, text=message, wraplength=560, justify="left").pack(anchor="w", pady=12)
    ttk.Button(frame, text="Quit", command=root.destroy).pack(anchor="e")
    root.protocol("WM_DELETE_WINDOW", root.destroy)
    return frame
