"""The Takeboard window: prompt list, editor, takes gallery, queue panel and status bar around
the engine API. Only the Tk thread touches Tk: the engine runs on its own threads and reports
through the EventBridge, and the window's calls to the engine API that write or wait (queue,
cancel, retry, pause, settings that apply now, start and stop) run on the bridge's worker or
another thread. The prompt and take actions are in app/prompt_actions.py and
app/take_actions.py."""

from __future__ import annotations

import logging
import threading
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, messagebox, ttk
from typing import Any

from app import theme
from app.bridge import EventBridge
from app.cli import Context
from app.cli_jobs import cached_servers
from app.cli_workflows import tier_line
from app.first_start_state import DEMO_LABEL, server_name
from app.icons import Icons
from app.live_state import ABOUT_BACKENDS, cloud_meter
from app.param_controls_state import FunctionCatalog
from app.prompt_actions import PromptActions
from app.settings_state import ServerRow, connection_text
from app.take_actions import TakeActions
from app.template_warnings import TemplateWarnings
from app.views.editor import PromptEditor
from app.views.first_start import DemoSwitch, FirstStart
from app.views.gallery import TakesGallery
from app.views.import_dialog import ImportDialog
from app.views.prompt_list import PromptList
from app.views.queue_panel import QueuePanel
from app.views.settings import SettingsDialog
from app.views.status_bar import StatusBar
from app.views.workflow_import import WorkflowImport
from app.window_layout import (
    MIN_SIZE,
    default_panes,
    first_geometry,
    read_layout,
    restore_panes,
    save_layout,
)
from core.config import Config
from core.errors import AppError, UserError
from core.jobs import JobEvent, JobFinished, JobStarted
from executors.control import Control, FoundServer, JobCounts
from executors.library_import.importer import LibraryImport
from executors.workflow_import.catalog import Seen
from executors.workflow_import.tiers import add_tier

log = logging.getLogger(__name__)
STATUS_REFRESH_MS = 2000


class Application(PromptActions, TakeActions):
    def __init__(self, root: tk.Tk, ctx: Context, *, banner: str = ""):
        self.root, self.ctx = root, ctx
        self.confirm = lambda question: messagebox.askyesno("Takeboard", question, parent=root)
        self.bridge = EventBridge(root, self._on_event)
        if ctx.control is None:
            raise RuntimeError("the window needs the engine API (main.build_context wires it)")
        self.control: Control = ctx.control
        self.control.open(self.bridge.put)
        self.demo = DemoSwitch(root, self.control)
        self.functions = FunctionCatalog()  # the editor's functions and their parameters
        self.workflows = WorkflowImport(root, ctx.config, on_imported=self.templates_changed)
        root.title("Takeboard" + (f" — {banner}" if banner else ""))
        root.minsize(*MIN_SIZE)
        layout = read_layout(ctx.config.home)
        first = first_geometry(root.winfo_screenwidth(), root.winfo_screenheight())
        geometry = layout.get("geometry") or first
        root.geometry(geometry)
        self.theme_mode = tk.StringVar(root, theme.parse_mode(layout.get("theme")))
        shown = theme.resolve(self.theme_mode.get(), theme.detect())  # before the window shows
        theme.apply(root, shown)
        self.icons = Icons(root, shown)
        self._build(banner)
        panes = layout.get("panes") or default_panes(geometry)
        root.after_idle(restore_panes, root, self._panes, panes)
        self._bind_keys()
        root.protocol("WM_DELETE_WINDOW", self.quit)
        self.bridge.start()
        self._starter = threading.Thread(
            target=self.control.start, name="engine-start", daemon=True
        )
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
        self.template_warnings = TemplateWarnings(self.control.templates, self._cached_servers)
        self.editor = PromptEditor(
            self.tabs,
            self.ctx.prompts,
            self._saved,
            on_deleted=lambda _id: self.prompts.refresh(),
            template_warnings=self.template_warnings.for_kind,
            functions=self.functions,
            add_tier=self.add_tier,
            writes=self.bridge.call,  # the prompt's write off the Tk thread
        )
        self.functions.refresh(self.control.templates, self._cached_object_infos)
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
        return cached_servers(self.ctx)

    def _cached_object_infos(self) -> dict[str, dict[str, Any]]:
        """A worker thread: the /object_info last seen of each configured server."""
        return self._cached_servers().infos

    def templates_changed(self) -> None:
        """A worker thread, after an import or a new tier: the engine reloads its templates
        (the new function runs at once) and the editor's catalog is built again."""
        templates = self.control.reload_templates()
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
        """Server indicators and the cloud meter from memory; the job counts are read from
        SQLite on the bridge's worker. No network."""
        states = self.control.backends()
        self.status.update_servers(states)
        self.first_start.follow(states)
        self.bridge.call(self.control.counts, self._show_counts)
        self.status.update_cloud(cloud_meter(self.control.cloud.snapshot()))
        self._status_job = self.root.after(STATUS_REFRESH_MS, self._refresh_status)

    def _show_counts(self, counts: object) -> None:
        if isinstance(counts, JobCounts):
            self.status.update_counts(counts.running, counts.queued, counts.failed)

    def import_takes(self) -> None:
        """File → Import takes…: a folder of ComfyUI outputs becomes prompts and takes."""
        folder = filedialog.askdirectory(parent=self.root, title="Import ComfyUI outputs")
        if folder:
            takes = self.ctx.takes(self.ctx.artifacts)
            importer = LibraryImport(self.ctx.prompts, self.ctx.artifacts, takes)
            ImportDialog(self.root, importer, Path(folder), on_done=self.prompts.refresh)

    # --- queue actions ------------------------------------------------------------------------

    def pause(self) -> None:
        self.bridge.call(self.control.pause, self._show_failure)

    def resume(self) -> None:
        self.bridge.call(self.control.resume, self._show_failure)

    def cancel(self, job_id: int) -> None:
        control = self.control
        self.bridge.call(lambda: control.cancel(job_id), self._show_failure)

    def retry_failed(self) -> None:
        self.bridge.call(self.control.retry, self._show_failure)

    # --- settings -----------------------------------------------------------------------------

    def open_settings(self, found: FoundServer | None = None) -> None:
        """File → Settings…; from the first-start panel with a found server as a new row."""
        dialog = SettingsDialog(
            self.root,
            self.ctx.config.home,
            self._settings_saved,
            self._test_connection,
            cloud=self.control.cloud,
        )
        if found is not None:
            taken = [view.value().name for view in dialog.rows]
            dialog.add_server(ServerRow(server_name(found.url, taken), found.url))

    def _scan(self) -> list[FoundServer]:
        """A worker thread: what answers on this machine's usual ports (backends --discover)."""
        return self.control.discover(self.ctx.config)

    def _settings_saved(self, config: Config) -> None:
        """Tk thread: the online switch, the cloud settings and new servers apply now (on the
        bridge's worker); then the dialog's message."""
        self.ctx.config = config
        control = self.control
        self.bridge.call(lambda: control.apply_settings(config), self._settings_applied)

    def _settings_applied(self, result: object) -> None:
        self._show_failure(result)
        text = (
            "Settings saved. The online switch, cloud settings and new servers apply now; "
            "other server, retry and timeout changes apply the next time Takeboard starts."
        )
        if not self.ctx.config.allow_online and self.control.cloud.snapshot().state != "none":
            text += (
                "\n\nA cloud machine is still running and billing. With online access off "
                "Takeboard cannot stop it: turn online access on and press Stop, or stop "
                "it on runcomfy.com."
            )
        messagebox.showinfo("Takeboard", text, parent=self.root)

    def _test_connection(self, url: str) -> tuple[bool, str]:
        """Worker thread, no Tk: one probe of one server."""
        return connection_text(self.control.probe(url))

    # --- quitting -----------------------------------------------------------------------------

    def quit(self) -> None:
        """Stop starting jobs, let running ones finish their step, keep queued ones queued."""
        self._save_layout()
        self.root.after_cancel(self._status_job)
        stopper = threading.Thread(target=self.stop_engine, name="engine-stop", daemon=True)
        stopper.start()
        self._close_when_stopped(stopper)

    def stop_engine(self) -> None:
        """Any thread but Tk's: wait for the engine to have started, then stop it, the demo
        backend and the cloud machine when the user chose auto-stop at quit."""
        self._starter.join()
        try:
            for notice in self.control.shutdown():
                log.info("cloud: %s", notice)
        except AppError as exc:  # quitting goes on; the machine is still in cloud.json
            log.warning("cloud: auto-stop at quit failed: %s", exc)

    def _save_layout(self) -> None:
        save_layout(self.root, self._panes, self.theme_mode.get(), self.ctx.config.home)

    def _close_when_stopped(self, stopper: threading.Thread) -> None:
        if stopper.is_alive():
            self.root.after(100, self._close_when_stopped, stopper)
            return
        self.bridge.stop()
        self.root.destroy()


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
