"""The Settings dialog: ComfyUI servers, data home, retry and timeouts, default quality, the
online switch and RunComfy cloud GPUs. Save validates through core.config.save_home_config (the
same loader as start-up) and writes <home>/config.json only when everything is valid; an error
is shown next to the field it names. "Test connection" and the cloud's Start / Stop run on
worker threads that report through queues read on the Tk thread, so the window never blocks and
only the Tk thread touches Tk."""

from __future__ import annotations

import queue
import threading
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import TYPE_CHECKING

from app.settings_state import (
    GENERAL,
    ServerRow,
    SettingsForm,
    field_error,
    form_from,
    overrides_from,
    rate_text,
    token_text,
)
from app.views.cloud_actions import ERROR_COLOR, HINT_COLOR, POLL_MS, CloudActions
from app.views.traces import on_write
from core.config import Config, read_home_overrides, save_home_config, shipped_defaults
from core.errors import ConfigError
from core.models import QUALITY_TIERS

if TYPE_CHECKING:  # the dialog only calls what it is given
    from executors.control import CloudControl

NUMBER_LABELS = {
    "retry.attempts": "Attempts",
    "retry.initial_s": "First wait (s)",
    "retry.max_s": "Longest wait (s)",
    "timeouts.connect_s": "Connect (s)",
    "timeouts.read_s": "Read (s)",
    "timeouts.job_s": "Per job (s)",
}
SERVER_LABELS = {"name": "name", "url": "URL", "token_env": "token variable", "verify_tls": "TLS"}
TOKEN_ENV, MACHINE = "cloud.runcomfy.token_env", "cloud.runcomfy.machine_type"
CLOUD_TEXT_LABELS = {
    "cloud.runcomfy.user_id": "User id",
    TOKEN_ENV: "Token variable",
    MACHINE: "Machine type",
    "cloud.runcomfy.workflow_version": "Workflow version",
}
AUTO_STOP, AUTO_STOP_LABEL = (
    "cloud.runcomfy.auto_stop_at_quit",
    "Stop the machine when Takeboard quits",
)
CLOUD_NUMBER_LABELS = {
    "cloud.runcomfy.budget_session_usd": "Session budget ($)",
    "cloud.runcomfy.budget_month_usd": "Month budget ($)",
    "cloud.runcomfy.idle_stop_s": "Stop when idle (min)",
}
CLOUD_HINTS = dict.fromkeys(CLOUD_NUMBER_LABELS, "0 = none")
NO_CLOUD = "Cloud actions are available in the running window."


class ServerRowView:
    """One server's entries, its Test and Remove buttons, and a line for errors and results."""

    def __init__(self, dialog: SettingsDialog, parent: tk.Misc, row: ServerRow):
        self.frame = ttk.Frame(parent, padding=(0, 2))
        self.name = tk.StringVar(self.frame, row.name)
        self.url = tk.StringVar(self.frame, row.url)
        self.token_env = tk.StringVar(self.frame, row.token_env)
        self.verify_tls = tk.BooleanVar(self.frame, row.verify_tls)
        ttk.Entry(self.frame, textvariable=self.name, width=12).grid(row=0, column=0, padx=2)
        self.url_entry = ttk.Entry(self.frame, textvariable=self.url, width=30)
        self.url_entry.grid(row=0, column=1, padx=2, sticky="we")
        ttk.Entry(self.frame, textvariable=self.token_env, width=16).grid(row=0, column=2, padx=2)
        ttk.Checkbutton(self.frame, text="Verify TLS", variable=self.verify_tls).grid(
            row=0, column=3, padx=2
        )
        self.test_button = ttk.Button(
            self.frame, text="Test connection", command=lambda: dialog.test(self)
        )
        self.test_button.grid(row=0, column=4, padx=2)
        ttk.Button(self.frame, text="Remove", command=lambda: dialog.remove_server(self)).grid(
            row=0, column=5, padx=2
        )
        self.error = ttk.Label(self.frame, foreground=ERROR_COLOR, wraplength=520)
        self.error.grid(row=1, column=1, columnspan=5, sticky="w", padx=2)
        self.status = ttk.Label(self.frame, wraplength=520)
        self.status.grid(row=2, column=1, columnspan=5, sticky="w", padx=2)
        self.frame.columnconfigure(1, weight=1)
        self.alive = True

    def value(self) -> ServerRow:
        return ServerRow(
            self.name.get(), self.url.get(), self.token_env.get(), self.verify_tls.get()
        )

    def show_error(self, field: str, text: str) -> None:
        self.error.configure(text=text if field == "url" else f"{SERVER_LABELS[field]}: {text}")
        if field == "url":
            self.url_entry.state(["invalid"])

    def clear_error(self) -> None:
        self.error.configure(text="")
        self.url_entry.state(["!invalid"])


def _follow(var: tk.StringVar, label: ttk.Label, text: Callable[[], str]) -> None:
    """Keep `label` showing text() as `var` changes."""
    label.configure(text=text())
    on_write(label, var, lambda: label.configure(text=text()))


class SettingsDialog(tk.Toplevel):
    def __init__(
        self,
        parent: tk.Misc,
        home: str | Path,
        on_saved: Callable[[Config], None],
        test_connection: Callable[[str], tuple[bool, str]],
        *,
        modal: bool = True,
        env: dict[str, str] | None = None,
        cloud: CloudControl | None = None,
    ):
        super().__init__(parent)
        self.home = Path(home)
        self.on_saved = on_saved
        self.test_connection = test_connection
        self.env = env
        self.cloud = cloud
        self.cloud_actions: CloudActions | None = None
        self.title("Settings")
        self.transient(parent.winfo_toplevel())
        self._results: queue.Queue[tuple[ServerRowView, bool, str]] = queue.Queue()
        self._pending = 0
        self._poll_job: str | None = None
        self._defaults = shipped_defaults()
        problem = ""
        try:
            self._base = read_home_overrides(self.home)
        except ConfigError as exc:
            self._base, problem = {}, f"{exc} — saving replaces it"
        self.rows: list[ServerRowView] = []
        self.number_vars: dict[str, tk.StringVar] = {}
        self.text_vars: dict[str, tk.StringVar] = {}
        self.flag_vars: dict[str, tk.BooleanVar] = {}
        self.errors: dict[str, ttk.Label] = {}
        self._build(form_from(self._defaults, self._base))
        self.errors[GENERAL].configure(text=problem)
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.bind("<Escape>", lambda _e: self.cancel())
        if modal:
            self.grab_set()

    # --- layout -------------------------------------------------------------------------------

    def _build(self, form: SettingsForm) -> None:
        body = ttk.Frame(self, padding=10)
        body.pack(fill="both", expand=True)
        body.columnconfigure(0, weight=1)
        self._build_servers(body, form).grid(
            row=0, column=0, columnspan=2, sticky="nsew", pady=(0, 8)
        )
        self._build_home(body).grid(row=1, column=0, sticky="we", pady=(0, 8))
        self._build_numbers(body, form).grid(row=2, column=0, sticky="we", pady=(0, 8))
        self._build_general(body, form).grid(row=3, column=0, sticky="we", pady=(0, 8))
        self._build_cloud(body, form).grid(
            row=1, column=1, rowspan=3, sticky="nsew", padx=(8, 0), pady=(0, 8)
        )
        self.errors[GENERAL] = ttk.Label(body, foreground=ERROR_COLOR, wraplength=640)
        self.errors[GENERAL].grid(row=4, column=0, columnspan=2, sticky="w")
        buttons = ttk.Frame(body)
        buttons.grid(row=5, column=0, columnspan=2, sticky="e", pady=(8, 0))
        ttk.Button(buttons, text="Cancel", command=self.cancel).pack(side="right")
        ttk.Button(buttons, text="Save", command=self.save).pack(side="right", padx=(0, 6))

    def _build_servers(self, parent: tk.Misc, form: SettingsForm) -> ttk.LabelFrame:
        box = ttk.LabelFrame(parent, text="ComfyUI servers", padding=6)
        header = ttk.Frame(box)
        header.pack(fill="x")
        for text, width in (("Name", 12), ("URL", 30), ("Token variable", 16)):
            ttk.Label(header, text=text, width=width).pack(side="left", padx=2)
        self.server_list = ttk.Frame(box)
        self.server_list.pack(fill="x")
        for row in form.servers:
            self.add_server(row)
        ttk.Button(box, text="Add server", command=self.add_server).pack(anchor="w", pady=(4, 0))
        return box

    def _build_home(self, parent: tk.Misc) -> ttk.LabelFrame:
        box = ttk.LabelFrame(parent, text="Data home", padding=6)
        entry = ttk.Entry(box, width=60)
        entry.insert(0, str(self.home))
        entry.configure(state="readonly")
        entry.pack(fill="x")
        ttk.Label(
            box, text="Chosen when Takeboard starts: --home or TAKEBOARD_HOME.", foreground="#555"
        ).pack(anchor="w")
        return box

    def _build_numbers(self, parent: tk.Misc, form: SettingsForm) -> ttk.LabelFrame:
        box = ttk.LabelFrame(parent, text="Retry and timeouts", padding=6)
        for n, (path, label) in enumerate(NUMBER_LABELS.items()):
            self.number_vars[path] = tk.StringVar(box, form.numbers.get(path, ""))
            ttk.Label(box, text=label).grid(row=n, column=0, sticky="w", padx=(0, 6))
            ttk.Entry(box, textvariable=self.number_vars[path], width=10).grid(row=n, column=1)
            self.errors[path] = ttk.Label(box, foreground=ERROR_COLOR)
            self.errors[path].grid(row=n, column=2, sticky="w", padx=6)
        return box

    def _build_general(self, parent: tk.Misc, form: SettingsForm) -> ttk.LabelFrame:
        box = ttk.LabelFrame(parent, text="Generation", padding=6)
        ttk.Label(box, text="Default quality").grid(row=0, column=0, sticky="w", padx=(0, 6))
        self.quality = tk.StringVar(box, form.default_quality)
        ttk.Combobox(
            box, textvariable=self.quality, values=QUALITY_TIERS, state="readonly", width=12
        ).grid(row=0, column=1, sticky="w")
        self.errors["default_quality"] = ttk.Label(box, foreground=ERROR_COLOR)
        self.errors["default_quality"].grid(row=0, column=2, sticky="w", padx=6)
        self.allow_online = tk.BooleanVar(box, form.allow_online)
        ttk.Checkbutton(box, text="Allow online access", variable=self.allow_online).grid(
            row=1, column=0, columnspan=2, sticky="w", pady=(6, 0)
        )
        ttk.Label(
            box,
            text="Lets jobs leave this machine and LAN: cloud GPUs, hosted LLMs.",
            foreground="#555",
        ).grid(row=2, column=0, columnspan=3, sticky="w")
        self.errors["allow_online"] = ttk.Label(box, foreground=ERROR_COLOR)
        self.errors["allow_online"].grid(row=1, column=2, sticky="w", padx=6)
        return box

    def _build_cloud(self, parent: tk.Misc, form: SettingsForm) -> ttk.LabelFrame:
        box = ttk.LabelFrame(parent, text="Cloud GPUs (RunComfy)", padding=6)
        hints = self._build_cloud_fields(box, form)
        self.token_status, self.rate = hints[TOKEN_ENV], hints[MACHINE]
        token, machine = self.text_vars[TOKEN_ENV], self.text_vars[MACHINE]
        _follow(token, self.token_status, lambda: token_text(token.get(), self.env))
        _follow(machine, self.rate, lambda: rate_text(form.rates_usd_h, machine.get()))
        ttk.Separator(box).grid(row=20, column=0, columnspan=3, sticky="we", pady=6)
        if self.cloud is None:
            actions: ttk.Frame = ttk.Frame(box)
            ttk.Label(actions, text=NO_CLOUD, foreground=HINT_COLOR).pack(anchor="w")
        else:
            self.cloud_actions = CloudActions(box, self.cloud)
            actions = self.cloud_actions.frame
        actions.grid(row=21, column=0, columnspan=3, sticky="we")
        return box

    def _build_cloud_fields(self, box: ttk.LabelFrame, form: SettingsForm) -> dict[str, ttk.Label]:
        """One grid row per field: label | entry | hint, error. Returns the hint labels."""
        hints: dict[str, ttk.Label] = {}
        for n, (path, label) in enumerate({**CLOUD_TEXT_LABELS, **CLOUD_NUMBER_LABELS}.items()):
            if path in CLOUD_TEXT_LABELS:
                var = self.text_vars[path] = tk.StringVar(box, form.texts.get(path, ""))
            else:
                var = self.number_vars[path] = tk.StringVar(box, form.numbers.get(path, ""))
            if path == MACHINE:
                widget: ttk.Entry = ttk.Combobox(
                    box,
                    textvariable=var,
                    values=tuple(form.rates_usd_h),
                    state="readonly",
                    width=12,
                )
            else:
                widget = ttk.Entry(
                    box, textvariable=var, width=22 if path in self.text_vars else 10
                )
            ttk.Label(box, text=label).grid(row=n, column=0, sticky="w", padx=(0, 6))
            widget.grid(row=n, column=1, sticky="w")
            side = ttk.Frame(box)
            side.grid(row=n, column=2, sticky="w", padx=6)
            hints[path] = ttk.Label(side, text=CLOUD_HINTS.get(path, ""), foreground=HINT_COLOR)
            self.errors[path] = ttk.Label(side, foreground=ERROR_COLOR, wraplength=220)
            hints[path].pack(side="left")
            self.errors[path].pack(side="left", padx=(6, 0))
        self.flag_vars[AUTO_STOP] = tk.BooleanVar(box, form.flags.get(AUTO_STOP, False))
        ttk.Checkbutton(box, text=AUTO_STOP_LABEL, variable=self.flag_vars[AUTO_STOP]).grid(
            row=n + 1, column=0, columnspan=2, sticky="w", pady=(4, 0)
        )
        self.errors[AUTO_STOP] = ttk.Label(box, foreground=ERROR_COLOR)
        self.errors[AUTO_STOP].grid(row=n + 1, column=2, sticky="w", padx=6)
        return hints

    # --- servers --------------------------------------------------------------------------------

    def add_server(self, row: ServerRow | None = None) -> ServerRowView:
        view = ServerRowView(self, self.server_list, row or ServerRow())
        view.frame.pack(fill="x")
        self.rows.append(view)
        return view

    def remove_server(self, view: ServerRowView) -> None:
        view.alive = False
        self.rows.remove(view)
        view.frame.destroy()

    def test(self, view: ServerRowView) -> None:
        """Ask test_connection(url) on a worker thread; the answer comes back via _poll."""
        url = view.url.get().strip()
        if not url:
            view.status.configure(text="enter the server's URL first")
            return
        view.status.configure(text="testing…")
        view.test_button.state(["disabled"])
        self._pending += 1
        threading.Thread(
            target=self._run_test, args=(view, url), name="settings-test", daemon=True
        ).start()
        if self._poll_job is None:
            self._poll_job = self.after(POLL_MS, self._poll)

    def _run_test(self, view: ServerRowView, url: str) -> None:
        """Worker thread: no Tk here, only the queue."""
        try:
            ok, text = self.test_connection(url)
        except Exception as exc:  # a failing test is a result to show, not a crash
            ok, text = False, f"test failed: {exc}"
        self._results.put((view, ok, text))

    def _poll(self) -> None:
        self._poll_job = None
        while not self._results.empty():
            view, ok, text = self._results.get_nowait()
            self._pending -= 1
            if view.alive:
                view.status.configure(text=text, foreground="#1b5e20" if ok else ERROR_COLOR)
                view.test_button.state(["!disabled"])
        if self._pending > 0:
            self._poll_job = self.after(POLL_MS, self._poll)

    # --- save / cancel --------------------------------------------------------------------------

    def form(self) -> SettingsForm:
        return SettingsForm(
            servers=[view.value() for view in self.rows],
            numbers={path: var.get() for path, var in self.number_vars.items()},
            default_quality=self.quality.get(),
            allow_online=self.allow_online.get(),
            texts={path: var.get() for path, var in self.text_vars.items()},
            flags={path: var.get() for path, var in self.flag_vars.items()},
        )

    def save(self) -> Config | None:
        """Validate and write; on an error show it by its field, write nothing, stay open."""
        self._clear_errors()
        try:
            overrides = overrides_from(self.form(), self._defaults, self._base)
            config = save_home_config(self.home, overrides, env=self.env)
        except ConfigError as exc:
            self._show_error(str(exc))
            return None
        self.on_saved(config)
        self.close()
        return config

    def cancel(self) -> None:
        self.close()

    def close(self) -> None:
        if self._poll_job is not None:
            self.after_cancel(self._poll_job)
        if self.cloud_actions is not None:
            self.cloud_actions.close()
        self.grab_release()
        self.destroy()

    def error_text(self, key: str) -> str:
        """The error shown for a field key ("retry.attempts", "servers[0].url", GENERAL)."""
        if key.startswith("servers["):
            return str(self.rows[int(key[8 : key.index("]")])].error.cget("text"))
        return str(self.errors[key].cget("text"))

    def _show_error(self, message: str) -> None:
        key, text = field_error(message)
        if key.startswith("servers["):
            row, field = int(key[8 : key.index("]")]), key.rsplit(".", 1)[1]
            if row < len(self.rows):
                self.rows[row].show_error(field, text)
                return
            key, text = GENERAL, message
        self.errors[key].configure(text=text)

    def _clear_errors(self) -> None:
        for label in self.errors.values():
            label.configure(text="")
        for view in self.rows:
            view.clear_error()
