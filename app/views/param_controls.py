"""The editor's function picker and the chosen function's parameter controls (spin boxes,
dropdowns, file pickers, an "Advanced" expander), plus file fields with a picker.

Thin widgets over app.param_controls_state: the catalog is built on a worker and only read
here; a control's edit becomes the prompt's `params` through `on_params`. Tk thread only.
"""

from __future__ import annotations

import json
import tkinter as tk
from collections.abc import Callable
from tkinter import filedialog, ttk
from typing import Any

from app.editor_state import parse_json_value
from app.param_controls_state import (
    Control,
    FunctionCatalog,
    controls_for,
    errors,
    merge_params,
    texts_from_params,
    to_value,
)
from app.views.traces import on_write
from core.models import MediaKind

AUTO = "automatic (routing rules)"
HINT_COLOR = "#777777"
POLL_MS = 300  # how often a shown panel looks for a new catalog (an int compare)
ROWS_PER_TICK = 4  # rows built per Tk callback: a function with 40 parameters never blocks


class FunctionInput:
    """The prompt's `function` as a dropdown of the kind's functions ("" = routing decides)."""

    def __init__(self, parent: tk.Misc, on_change: Callable[[], None], names: Callable[[], list]):
        self.var = tk.StringVar(parent, AUTO)
        self.names = names
        self.widget = ttk.Combobox(
            parent, textvariable=self.var, state="readonly", postcommand=self._fill
        )
        self._fill()
        on_write(self.widget, self.var, on_change)

    def _fill(self) -> None:
        self.widget.configure(values=[AUTO, *self.names()])

    def get(self) -> str:
        return "" if self.var.get() == AUTO else self.var.get()

    def set(self, text: str) -> None:
        self._fill()  # a function imported since the form was built is offered too
        self.var.set(text or AUTO)


class FileInput:
    """A path entry with a "…" button that opens the file dialog."""

    def __init__(self, parent: tk.Misc, on_change: Callable[[], None], title: str = "Choose"):
        self.var = tk.StringVar(parent)
        self.widget = ttk.Frame(parent)
        self.widget.columnconfigure(0, weight=1)
        self.entry = ttk.Entry(self.widget, textvariable=self.var, width=34)
        self.entry.grid(row=0, column=0, sticky="ew")
        self.button = ttk.Button(self.widget, text="…", width=3, command=self.pick)
        self.button.grid(row=0, column=1, padx=(2, 0))
        self.title = title
        on_write(self.widget, self.var, on_change)

    def pick(self) -> None:
        name = filedialog.askopenfilename(parent=self.widget, title=self.title)
        if name:
            self.var.set(name)

    def get(self) -> str:
        return self.var.get()

    def set(self, text: str) -> None:
        if self.var.get() != text:
            self.var.set(text)


class ParamControls(ttk.Frame):
    """The controls of the function a prompt picked; hidden when it picks none."""

    def __init__(
        self,
        parent: tk.Misc,
        catalog: FunctionCatalog,
        on_params: Callable[[dict[str, Any]], None],
        add_tier: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalog, self.on_params, self.add_tier = catalog, on_params, add_tier
        self.columnconfigure(1, weight=1)
        self.controls: list[Control] = []
        self.inputs: dict[str, Any] = {}
        self.kind: MediaKind = MediaKind.IMAGE
        self.function = ""
        self.params: dict[str, Any] = {}
        self._shown: tuple[str, int] | None = None  # (function, catalog generation) built
        self._filling = False
        self._queued: list[tuple[Control, tk.Misc, int]] = []  # rows still to build
        self._row_job: str | None = None
        self._poll_id: str | None = self.after(POLL_MS, self._poll)

    def show(self, kind: MediaKind, values: dict[str, str]) -> None:
        """Follow the form: its `function` and `params` strings."""
        params = parse_json_value(values.get("params", ""))
        self.kind, self.function = kind, values.get("function", "").strip()
        self.params = params if isinstance(params, dict) else {}
        if self._shown != (self.function, self.catalog.generation):
            self._build()
        self._fill()

    def errors(self) -> dict[str, str]:
        return errors(self.controls, self.params)

    @property
    def building(self) -> bool:
        """Rows are still being added (a few per Tk callback)."""
        return bool(self._queued)

    def destroy(self) -> None:
        for job in (self._poll_id, self._row_job):
            if job is not None:
                self.after_cancel(job)
        self._poll_id = self._row_job = None
        super().destroy()

    # --- building -----------------------------------------------------------------------------

    def _poll(self) -> None:
        self._poll_id = self.after(POLL_MS, self._poll)
        if self.function and self._shown != (self.function, self.catalog.generation):
            self._build()
            self._fill()

    def _build(self) -> None:
        for child in self.winfo_children():
            child.destroy()
        self.controls, self.inputs, self._queued = [], {}, []
        self._shown = (self.function, self.catalog.generation)
        choice = self.catalog.get(self.function) if self.function else None
        if not self.function:
            self.grid_remove()
            return
        self.grid()
        self.title = ttk.Label(self, font=("TkDefaultFont", 10, "bold"))
        self.title.grid(row=0, column=0, columnspan=2, sticky="w", pady=(6, 2))
        if choice is None:
            self.title.configure(text=self._unknown_text())
            return
        tiers = ", ".join(choice.tiers)
        self.title.configure(text=f"{choice.display_name} — tiers: {tiers}")
        if self.add_tier is not None:
            ttk.Button(self, text="Add tier…", command=lambda: self.add_tier(self.function)).grid(
                row=0, column=2, sticky="e"
            )
        self.controls = controls_for(self.kind, choice)
        normal = [c for c in self.controls if not c.advanced]
        self._build_rows(normal, self, 1)
        self._build_advanced([c for c in self.controls if c.advanced], len(normal) + 1)

    def _unknown_text(self) -> str:
        if not self.catalog.loaded.is_set():
            return f"{self.function}: reading its parameters…"
        return f"{self.function}: no such function here — import it, or pick another"

    def _build_advanced(self, controls: list[Control], row: int) -> None:
        if not controls:
            return
        body = ttk.Frame(self)
        body.columnconfigure(1, weight=1)
        self.advanced_shown = tk.BooleanVar(self, False)

        def toggle() -> None:
            opened = self.advanced_shown.get()
            body.grid() if opened else body.grid_remove()
            self.advanced_toggle.configure(text=f"{'▾' if opened else '▸'} Advanced ({count})")

        count = len(controls)
        self.advanced_toggle = ttk.Checkbutton(
            self, text=f"▸ Advanced ({count})", variable=self.advanced_shown, command=toggle
        )
        self.advanced_toggle.grid(row=row, column=0, columnspan=3, sticky="w", pady=(4, 0))
        body.grid(row=row + 1, column=0, columnspan=3, sticky="ew")
        body.grid_remove()
        self._build_rows(controls, body, 0)

    def _build_rows(self, controls: list[Control], parent: tk.Misc, row: int) -> None:
        """Queue the rows; `_build_some` adds them a few per Tk callback."""
        self._queued += [(spec, parent, row + n) for n, spec in enumerate(controls)]
        if self._row_job is None:
            self._row_job = self.after(0, self._build_some)

    def _build_some(self) -> None:
        self._row_job = None
        batch, self._queued = self._queued[:ROWS_PER_TICK], self._queued[ROWS_PER_TICK:]
        for spec, parent, row in batch:
            ttk.Label(parent, text=spec.label).grid(row=row, column=0, sticky="w", padx=(0, 6))
            field_input = self._make(parent, spec)
            field_input.widget.grid(row=row, column=1, sticky="ew", pady=1)
            hint = f"default {spec.hint}" if spec.hint else ""
            ttk.Label(parent, text=hint, foreground=HINT_COLOR).grid(
                row=row, column=2, sticky="w", padx=4
            )
            self.inputs[spec.name] = field_input
        self._fill()
        if self._queued:
            self._row_job = self.after(0, self._build_some)

    def _make(self, parent: tk.Misc, spec: Control) -> Any:
        if spec.widget == "file":
            return FileInput(parent, self._changed, title=spec.label)
        return _VarInput(parent, spec, self._changed)

    # --- values ---------------------------------------------------------------------------------

    def _fill(self) -> None:
        """Set each control from params, unless its text already means that value (so typing
        "1." on the way to "1.5" is not rewritten)."""
        texts = texts_from_params(self.controls, self.params)
        self._filling = True
        try:
            for spec in self.controls:
                field_input = self.inputs.get(spec.name)
                if field_input is None:  # not built yet: filled when it is
                    continue
                if to_value(spec, field_input.get()) != self.params.get(spec.name):
                    field_input.set(texts[spec.name])
        finally:
            self._filling = False

    def _changed(self) -> None:
        if self._filling:
            return
        texts = {name: field_input.get() for name, field_input in self.inputs.items()}
        built = [spec for spec in self.controls if spec.name in self.inputs]
        merged = merge_params(built, texts, self.params)
        if merged != self.params:
            self.params = merged
            self.on_params(merged)


class _VarInput:
    """A spin box, dropdown or entry over one StringVar."""

    def __init__(self, parent: tk.Misc, spec: Control, on_change: Callable[[], None]) -> None:
        self.var = tk.StringVar(parent)
        if spec.widget == "spin":
            low = spec.minimum if spec.minimum is not None else -1e12
            high = spec.maximum if spec.maximum is not None else 1e12
            digits = 0 if spec.integer else 2 if spec.increment < 0.1 else 1
            self.widget = ttk.Spinbox(
                parent,
                textvariable=self.var,
                from_=low,
                to=high,
                increment=spec.increment,
                format=f"%.{digits}f",
            )
        elif spec.widget == "choice":
            self.widget = ttk.Combobox(
                parent, textvariable=self.var, values=["", *spec.choices], state="readonly"
            )
        else:
            self.widget = ttk.Entry(parent, textvariable=self.var)
        on_write(self.widget, self.var, on_change)

    def get(self) -> str:
        return self.var.get()

    def set(self, text: str) -> None:
        self.var.set(text)


def params_text(params: dict[str, Any]) -> str:
    """The params form field's text for `params` (as the editor writes JSON)."""
    return json.dumps(params, ensure_ascii=False) if params else ""
