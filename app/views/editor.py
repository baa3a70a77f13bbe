"""The prompt editor: a form per media kind (generated from the schema) and a raw JSON tab.

Thin widgets over app.editor_state: every decision (conversion, validation, which field an
error names, dirty tracking) lives there. Tk thread only.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import messagebox, ttk
from typing import Any

from app.editor_state import (
    Checked,
    EditorState,
    FormField,
    data_to_values,
    error_field,
    form_fields,
    json_to_values,
    values_to_json,
    warning_line,
)
from app.param_controls_state import FunctionCatalog
from app.views.field_errors import ERROR_COLOR, FieldErrors
from app.views.form_inputs import FormInput, TextInput, make_input
from app.views.history_tab import HistoryTab
from app.views.param_controls import ParamControls, params_text
from app.views.tier_dialog import AddTier, TierDialog
from app.views.traces import on_write
from core.errors import AppError, InputError
from core.models import MediaKind, PromptRecord
from repositories.prompts import PromptRepository

# How the editor's database write runs: `writes(work, done)` calls `work()` and hands its
# result (a PromptRecord, or the AppError it raised) to `done` on the Tk thread. The window
# passes its bridge's worker; alone, the editor writes inline.
Writes = Callable[[Callable[[], PromptRecord], Callable[[object], None]], None]

DEBOUNCE_MS = 300
WARNING_COLOR = "#b9770e"
HINT_COLOR = "#777777"


def _inline(work: Callable[[], PromptRecord], done: Callable[[object], None]) -> None:
    try:
        result: object = work()
    except AppError as exc:
        result = exc
    done(result)


def _ask(parent: tk.Misc) -> Callable[[str], bool]:
    return lambda question: messagebox.askyesno("Takeboard", question, parent=parent)


class PromptEditor(ttk.Frame):
    """Edit one prompt: load/new/duplicate/delete/save; `dirty` says if there are changes."""

    def __init__(
        self,
        parent: tk.Misc,
        prompts: PromptRepository,
        on_saved: Callable[[int], None],
        *,
        on_deleted: Callable[[int], None] | None = None,
        confirm: Callable[[str], bool] | None = None,
        template_warnings: Callable[[MediaKind], list[str]] | None = None,
        functions: FunctionCatalog | None = None,
        add_tier: AddTier | None = None,
        writes: Writes = _inline,
    ) -> None:
        """`template_warnings(kind)`: warnings about the templates a prompt of `kind` runs,
        from cached data only (it is called on the Tk thread). `functions`: what the function
        dropdown offers and its parameters' controls; `add_tier` (a worker runs it) backs the
        "Add tier…" button."""
        super().__init__(parent, padding=6)
        self.functions = functions or FunctionCatalog()
        self.add_tier = add_tier
        self.template_warnings = template_warnings or (lambda kind: [])
        self.prompts = prompts
        self.on_saved, self.writes = on_saved, writes
        self.on_deleted = on_deleted
        self.confirm: Callable[[str], bool] = confirm or _ask(self)
        self.state = EditorState.new(MediaKind.IMAGE)
        self.inputs: dict[str, FormInput] = {}
        self.error_labels = FieldErrors()
        self.json_ok = True
        self._filling = False
        self._source = "form"
        self._pending: str | None = None
        self._json_written = ""
        self._form_kind: MediaKind | None = None
        self._build()
        self._show_state()

    # --- public API -----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self.state.dirty

    @property
    def prompt_id(self) -> int | None:
        return self.state.prompt_id

    def load(self, prompt_id: int) -> None:
        self.state = EditorState.from_record(self.prompts.get(prompt_id))
        self._show_state()

    def new(self, kind: MediaKind | str) -> None:
        self.state = EditorState.new(kind)
        self._show_state()

    def fill(self, title: str, data: dict[str, Any]) -> None:
        """Put a draft (the screenwriter's title and data) into the form, unsaved."""
        self.state.title = title
        self.state.values = data_to_values(self.state.kind, data)
        self._show_state()

    def duplicate(self) -> None:
        """Turn the editor into an unsaved copy of the current prompt; save() adds it."""
        self.state.duplicate()
        self._show_state()

    def delete(self) -> bool:
        """Move the loaded prompt to the trash (restorable) after confirmation."""
        prompt_id = self.state.prompt_id
        if prompt_id is None:
            return False
        question = f"Move “{self.state.title}” to the trash? It can be restored from there."
        if not self.confirm(question):
            return False
        self.prompts.delete(prompt_id)
        self.new(self.state.kind)
        if self.on_deleted:
            self.on_deleted(prompt_id)
        return True

    def save(self) -> bool:
        """Add or update the prompt: True when the form is valid and its write was sent (once
        it is written the editor shows the saved prompt and `on_saved(id)` runs); False when
        the form is invalid (then every error shows, touched or not)."""
        self.state.submitted = True
        checked = self.validate_now()
        if checked is None or not checked.ok:
            return False
        self.save_button.state(["disabled"])
        self.writes(self._write(checked), self._written)
        return True

    def _write(self, checked: Checked) -> Callable[[], PromptRecord]:
        """The write, holding no widget (it may run on a worker)."""
        prompts, prompt_id, favorite = self.prompts, self.state.prompt_id, self.state.favorite
        title, data, tags, kind = checked.title, checked.data, checked.tags, self.state.kind
        if prompt_id is None:
            return lambda: prompts.add(kind, title, data, tags=tags, favorite=favorite)
        return lambda: prompts.update(
            prompt_id, title=title, data=data, tags=tags, favorite=favorite
        )

    def _written(self, result: object) -> None:
        """Tk thread: the saved prompt, or why it was not saved."""
        self.save_button.state(["!disabled"])
        if isinstance(result, InputError):
            self.error_labels.show({error_field(str(result)) or "data": str(result)})
        elif isinstance(result, AppError):
            messagebox.showerror("Takeboard", str(result), parent=self)
        elif isinstance(result, PromptRecord):
            self.state = EditorState.from_record(result)
            self._show_state()
            self.on_saved(result.id)

    def restore_version(self, version: int) -> None:
        """Save an old version as the new current one (after asking, if there are edits)."""
        prompt_id = self.state.prompt_id
        if prompt_id is None:
            return
        if self.dirty and not self.confirm(f"Restore v{version}? Your unsaved changes are lost."):
            return
        record = self.prompts.restore_version(prompt_id, version)
        self.load(record.id)
        self.on_saved(record.id)

    def validate_now(self) -> Checked | None:
        """Run the debounced validation at once; returns the Checked result (None: bad JSON)."""
        if self._pending is not None:
            self.after_cancel(self._pending)
            self._pending = None
        return self._revalidate()

    def destroy(self) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
            self._pending = None
        super().destroy()

    # --- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.columnconfigure(0, weight=1)
        head = ttk.Frame(self)
        head.grid(row=0, column=0, sticky="ew")
        head.columnconfigure(1, weight=1)
        self.kind_label = ttk.Label(head, font=("TkDefaultFont", 11, "bold"))
        self.kind_label.grid(row=0, column=0, columnspan=3, sticky="w", pady=(0, 4))
        self.warning_label = ttk.Label(head, foreground=WARNING_COLOR)
        self.warning_label.grid(row=6, column=0, columnspan=3, sticky="w")
        self.title_var = tk.StringVar(self)
        self.tags_var = tk.StringVar(self)
        self.favorite_var = tk.BooleanVar(self)
        self.title_entry = self._record_row(head, 1, "Title", self.title_var, "title")
        self.tags_entry = self._record_row(head, 3, "Tags", self.tags_var, "tags")
        self.favorite_check = ttk.Checkbutton(head, text="Favorite", variable=self.favorite_var)
        self.favorite_check.grid(row=5, column=1, sticky="w")
        for var in (self.title_var, self.tags_var, self.favorite_var):
            on_write(head, var, self._form_changed)

        self.notebook = ttk.Notebook(self)
        self.notebook.grid(row=1, column=0, sticky="nsew", pady=6)
        self.rowconfigure(1, weight=1)
        self.form = ttk.Frame(self.notebook, padding=4)
        self.form.columnconfigure(1, weight=1)
        self.notebook.add(self.form, text="Form")
        json_tab = ttk.Frame(self.notebook, padding=4)
        json_tab.columnconfigure(0, weight=1)
        json_tab.rowconfigure(0, weight=1)
        self.json_input = TextInput(json_tab, lambda: self._changed("json"), height=18)
        self.json_input.widget.configure(font="TkFixedFont", wrap="none")
        self.json_input.widget.grid(row=0, column=0, sticky="nsew")
        self.json_error = ttk.Label(json_tab, foreground=ERROR_COLOR)
        self.json_error.grid(row=1, column=0, sticky="w")
        self.notebook.add(json_tab, text="JSON")
        self.history = HistoryTab(self.notebook, self.prompts, self.restore_version)
        self.notebook.add(self.history, text="History")

        bar = ttk.Frame(self)
        bar.grid(row=2, column=0, sticky="ew")
        self.save_button = ttk.Button(bar, text="Save", command=self.save)
        self.duplicate_button = ttk.Button(bar, text="Duplicate", command=self.duplicate)
        self.delete_button = ttk.Button(bar, text="Move to trash", command=self.delete)
        for column, button in enumerate((self.save_button, self.duplicate_button)):
            button.grid(row=0, column=column, padx=(0, 4))
        self.delete_button.grid(row=0, column=2)
        self.status_label = ttk.Label(bar, foreground=HINT_COLOR)
        self.status_label.grid(row=0, column=3, padx=8)

    def _record_row(
        self, parent: ttk.Frame, row: int, label: str, var: tk.StringVar, key: str
    ) -> ttk.Entry:
        ttk.Label(parent, text=label).grid(row=row, column=0, sticky="w", padx=(0, 6))
        entry = ttk.Entry(parent, textvariable=var)
        entry.grid(row=row, column=1, sticky="ew")
        if key == "tags":
            ttk.Label(parent, text="comma-separated", foreground=HINT_COLOR).grid(
                row=row, column=2, sticky="w", padx=4
            )
        self.error_labels.add(parent, row + 1, key)
        return entry

    def _build_form(self, kind: MediaKind) -> None:
        for child in self.form.winfo_children():
            child.destroy()
        self.error_labels.drop_form()
        self.inputs = {}
        row = 0
        for spec in form_fields(kind):
            ttk.Label(self.form, text=spec.name.replace("_", " ")).grid(
                row=row, column=0, sticky="nw", padx=(0, 6), pady=(2, 0)
            )
            field_input = self._make_input(spec)
            sticky = "nsew" if spec.widget == "long" else "ew"
            field_input.widget.grid(row=row, column=1, sticky=sticky, pady=(2, 0))
            if spec.hint:
                ttk.Label(self.form, text=spec.hint, foreground=HINT_COLOR).grid(
                    row=row, column=2, sticky="nw", padx=4
                )
            self.inputs[spec.name] = field_input
            self.error_labels.add(self.form, row + 1, spec.key)
            row += 2
        self.param_controls = ParamControls(
            self.form,
            self.functions,
            self._params_edited,
            self._ask_tier if self.add_tier else None,
        )
        self.param_controls.grid(row=row, column=0, columnspan=3, sticky="ew")
        row += 1
        self.error_labels.add(self.form, row, "data")
        self._form_kind = kind

    def _make_input(self, spec: FormField) -> FormInput:
        return make_input(self.form, spec, self._form_changed, self._function_names)

    def _function_names(self) -> list[str]:
        """What the function dropdown offers when it opens: the kind's functions."""
        return self.functions.names(self.state.kind)

    # --- state ↔ widgets ------------------------------------------------------------------------

    def _show_state(self) -> None:
        state = self.state
        self._filling = True
        try:
            if state.kind != self._form_kind:
                self._build_form(state.kind)
            self.title_var.set(state.title)
            self.tags_var.set(state.tags)
            self.favorite_var.set(state.favorite)
            for name, field_input in self.inputs.items():
                field_input.set(state.values.get(name, ""))
            self._json_written = values_to_json(state.kind, state.values)
            self.json_input.set(self._json_written)
        finally:
            self._filling = False
        number = f" #{state.prompt_id}" if state.prompt_id is not None else " (new)"
        self.kind_label.configure(text=f"{state.kind.value.capitalize()} prompt{number}")
        self.warning_label.configure(text=warning_line(self.template_warnings(state.kind)))
        self.delete_button.state(["disabled" if state.prompt_id is None else "!disabled"])
        self.history.show(state.prompt_id)
        self._source = "form"
        self.validate_now()

    def _form_changed(self) -> None:
        self._changed("form")

    def _changed(self, source: str) -> None:
        if self._filling:
            return
        if source == "form":
            values = {name: inp.get() for name, inp in self.inputs.items()}
            title, tags, favorite = self.title_var.get(), self.tags_var.get(), self.favorite_var
            if not self.state.edit(title, tags, bool(favorite.get()), values):
                return  # a late <<Modified>> from filling the widgets, not an edit
        elif self.json_ok and self.json_input.get() == self._json_written:
            return  # the JSON text we wrote ourselves
        self._source = source
        self._update_status()
        if self._pending is not None:
            self.after_cancel(self._pending)
        self._pending = self.after(DEBOUNCE_MS, self.validate_now)

    def _revalidate(self) -> Checked | None:
        if self._source == "json":
            try:
                values = json_to_values(self.state.kind, self.json_input.get())
            except InputError as exc:
                self.json_ok = False
                self.json_error.configure(text=str(exc))
                self.save_button.state(["disabled"])
                return None
            state = self.state
            state.edit(state.title, state.tags, state.favorite, values)
            self._filling = True
            try:
                for name, field_input in self.inputs.items():
                    field_input.set(values.get(name, ""))
            finally:
                self._filling = False
        else:
            text = values_to_json(self.state.kind, self.state.values)
            self._json_written = text
            if self.json_input.get() != text:
                self._filling = True
                try:
                    self.json_input.set(text)
                finally:
                    self._filling = False
        self.json_ok = True
        self.json_error.configure(text="")
        self.param_controls.show(self.state.kind, self.state.values)
        checked = self.state.check(self.param_controls.errors())
        shown = self.state.shown_errors(checked.errors)
        self.error_labels.show(shown)
        self.save_button.state(["disabled" if shown else "!disabled"])
        self._update_status()
        return checked

    def _update_status(self) -> None:
        self.status_label.configure(text="● unsaved changes" if self.dirty else "")

    # --- the function's parameters ------------------------------------------------------------

    def _params_edited(self, params: dict) -> None:
        """A parameter control changed: the params field takes the new object (and from there
        the usual path: touched, dirty, validated)."""
        self.inputs["params"].set(params_text(params))

    def _ask_tier(self, function: str) -> TierDialog:
        pinned = " ".join(f"{k}={v}" for k, v in self.param_controls.params.items())
        return TierDialog(self, function, self.add_tier, pinned, on_done=self._tier_added)

    def _tier_added(self, line: str) -> None:
        self.status_label.configure(text=line)
