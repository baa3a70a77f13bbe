"""Draft with the screenwriter: "Draft…" turns a one-line idea into a new prompt, "Enhance"
rewrites the selected one, both with the engine API's screenwriter (as the CLI `draft` command)
on a worker, with progress and Cancel. The result fills the editor, unsaved. With
no LLM answering the dialog says how to point Takeboard at Ollama or LM Studio."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import Any

from app import theme
from app.views.on_worker import on_worker
from core.config import Config
from core.errors import AppError, ConfigError, TransientBackendError
from core.models import MediaKind

KINDS = [kind.value for kind in MediaKind]
SETUP = (
    "To draft, Takeboard needs an LLM it can reach: run Ollama (ollama serve, then ollama pull "
    "llama3.2) or LM Studio's local server, and set llm.model and llm.api_base in {config} "
    '(Ollama: "ollama_chat/llama3.2" at "http://127.0.0.1:11434"; LM Studio: '
    '"openai/<model>" at "http://127.0.0.1:1234/v1"), or TAKEBOARD_LLM_MODEL / '
    "TAKEBOARD_LLM_API_BASE; then try again."
)
Result = tuple[str, dict[str, Any]]  # (title, data)


def needs_setup(error: AppError) -> bool:
    """Whether the setup advice fits: nothing configured, a model name the client cannot use,
    or a server that does not answer (not: a model that answered something unusable)."""
    return isinstance(error, ConfigError | TransientBackendError) or "LLM_MODEL" in str(error)


def _ask(writer: Any, enhancing: dict[str, Any] | None, kind: str, idea: str) -> Result:
    """A worker thread: one draft or enhancement."""
    if enhancing:
        return writer.enhance(enhancing["kind"], enhancing["data"], idea)
    return writer.draft(kind, idea)


class DraftDialog(tk.Toplevel):
    """`screenwriter()` (on a worker) gives the writer the engine API makes for the settings;
    `enhance`: (kind, data) of the selected prompt, else a new draft; `on_result(kind, title,
    data)` on the Tk thread when the writer answered."""

    def __init__(
        self,
        parent: tk.Misc,
        config: Config,
        screenwriter: Callable[[], Any],
        on_result: Callable[[str, str, dict[str, Any]], None],
        *,
        kind: str = "image",
        enhance: dict[str, Any] | None = None,
    ):
        super().__init__(parent)
        self.config, self.screenwriter = config, screenwriter
        self.on_result, self.enhancing = on_result, enhance
        self.title("Enhance with the screenwriter" if enhance else "Draft with the screenwriter")
        self.transient(parent.winfo_toplevel())
        self._asked = 0  # which request's answer is awaited; Cancel moves it on
        self.dropped = 0  # answers that came after Cancel
        self.running = False
        self.kind_var = tk.StringVar(self, kind)
        self._build()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind("<Escape>", lambda _e: self.close())
        self.bind("<Return>", lambda _e: self.start())

    def _build(self) -> None:
        body = ttk.Frame(self, padding=theme.PAD * 2)
        body.pack(fill="both", expand=True)
        ask = "What should change? (optional)" if self.enhancing else "Your idea, in a line:"
        ttk.Label(body, text=ask).pack(anchor="w")
        self.idea = ttk.Entry(body, width=60)
        self.idea.pack(fill="x", pady=(2, theme.PAD))
        self.idea.focus_set()
        if not self.enhancing:
            kinds = ttk.Frame(body)
            kinds.pack(anchor="w", pady=(0, theme.PAD))
            for kind in KINDS:
                ttk.Radiobutton(kinds, text=kind, value=kind, variable=self.kind_var).pack(
                    side="left", padx=(0, theme.PAD)
                )
        self.progress = ttk.Progressbar(body, mode="indeterminate", length=360)
        self.progress.pack(fill="x")
        self.message = ttk.Label(body, text="", wraplength=480, justify="left")
        self.message.pack(anchor="w", pady=theme.PAD)
        buttons = ttk.Frame(body)
        buttons.pack(anchor="e")
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="right")
        label = "Enhance" if self.enhancing else "Draft"
        self.go_button = ttk.Button(buttons, text=label, command=self.start)
        self.go_button.pack(side="right", padx=(0, theme.PAD))

    # --- asking on a worker ---------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        idea, kind = self.idea.get().strip(), self.kind_var.get()
        if not self.enhancing and not idea:
            self.message.configure(text="Describe what you want in a line, then press Draft.")
            return
        self._asked += 1
        self.running = True
        self.go_button.state(["disabled"])
        self.progress.start(20)
        self.message.configure(text="Asking the screenwriter… (Cancel stops waiting)")
        number, screenwriter, enhancing = self._asked, self.screenwriter, self.enhancing
        on_worker(
            self,
            lambda: _ask(screenwriter(), enhancing, kind, idea),  # holds no widget
            lambda answer: self._answered(number, answer),
            "the screenwriter",
        )

    def _answered(self, number: int, answer: Any) -> None:
        if number != self._asked:  # cancelled meanwhile: the late answer is dropped
            self.dropped += 1
            return
        self._idle()
        if isinstance(answer, AppError):
            hint = SETUP.format(config=Path(self.config.home) / "config.json")
            text = f"{answer}\n\n{hint}" if needs_setup(answer) else str(answer)
            self.message.configure(text=text)
            return
        title, data = answer
        kind = self.enhancing["kind"] if self.enhancing else self.kind_var.get()
        self.on_result(str(kind), title, data)
        self.destroy()

    def _idle(self) -> None:
        self.running = False
        self.progress.stop()
        self.go_button.state(["!disabled"])

    def cancel(self) -> None:
        """Stop waiting (the answer, if it comes, is dropped); a second Cancel closes."""
        if not self.running:
            self.close()
            return
        self._asked += 1
        self._idle()
        self.message.configure(text="Cancelled — nothing was changed.")

    def close(self) -> None:
        self._asked += 1
        self.running = False
        self.destroy()
