"""The window shows why a damaged library was not opened, instead of opening normally
(issue 15 item 6): main() without a command, a real Tk window on the display."""

from __future__ import annotations

import tkinter as tk

from main import main


def texts(widget: tk.Misc) -> list[str]:
    found = [str(widget.cget("text"))] if "text" in widget.keys() else []  # noqa: SIM118
    for child in widget.winfo_children():
        found += texts(child)
    return found


def test_a_damaged_library_shows_its_message_instead_of_the_window(home, monkeypatch, capsys):
    (home / "takeboard.db").write_bytes(b"this is not sqlite" * 300)
    before = (home / "takeboard.db").read_bytes()
    shown: dict[str, object] = {}

    def look_then_quit(root: tk.Tk, *_args: object) -> None:  # in place of the event loop
        root.update()
        shown["title"], shown["texts"] = root.title(), texts(root)
        shown["menu"] = root.cget("menu")
        frame = root.winfo_children()[0]
        next(w for w in frame.winfo_children() if texts(w) == ["Quit"]).invoke()

    monkeypatch.setattr(tk.Tk, "mainloop", look_then_quit)
    assert main(["--home", str(home)]) == 1
    assert shown["title"] == "Takeboard — the library was not opened"
    message = next(t for t in shown["texts"] if "damaged" in t)
    assert "file is not a database" in message and "library repair" in message
    assert shown["menu"] == ""  # not the main window
    assert (home / "takeboard.db").read_bytes() == before
    assert "library repair" in capsys.readouterr().err
