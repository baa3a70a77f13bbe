"""The look on the real window: View → Light / Dark / Follow system switches every part (ttk
widgets, the canvas gallery and status bar, the icons), the choice is remembered, and the first
window is sized to the screen."""

from __future__ import annotations

import json
from tkinter import ttk

from app import theme
from app.application import Application
from tests.gui.conftest import pump, pump_until, wired


def view_menu(root):
    bar = root.nametowidget(root.cget("menu"))
    return root.nametowidget(bar.entrycget("View", "menu"))


def shows(app, name: str) -> bool:
    colours = theme.PALETTES[name]
    indicator = next(iter(app.status.indicators.values()))
    return (
        ttk.Style(app.root).theme_use() == f"sun-valley-{name}"
        and app.gallery.canvas.cget("background") == colours.canvas
        and indicator.cget("background") == colours.background
        and indicator.itemcget("name", "fill") == colours.text
        and app.icons.photo("generate").cget("file").endswith(f"generate-{name}.png")
    )


def test_view_menu_switches_every_part_and_the_choice_is_remembered(app, root, ctx, comfy_server):
    app.control.backends(refresh=True)
    assert pump_until(root, lambda: app.status.indicators, 5)
    assert app.theme_mode.get() == "system" and shows(app, "light")  # no desktop here: light
    view_menu(root).invoke("Dark")
    pump(root)
    assert app.theme_mode.get() == "dark" and shows(app, "dark")
    view_menu(root).invoke("Light")
    pump(root)
    assert shows(app, "light")
    view_menu(root).invoke("Dark")
    app._save_layout()
    assert json.loads((ctx.config.home / "window.json").read_text())["theme"] == "dark"
    app.stop_engine()
    app.bridge.stop()
    for child in root.winfo_children():
        child.destroy()
    again = Application(root, wired(ctx, comfy_server.url))
    try:
        again.control.backends(refresh=True)
        assert pump_until(root, lambda: again.status.indicators, 5)
        assert again.theme_mode.get() == "dark" and shows(again, "dark")
    finally:
        again.stop_engine()
        again.bridge.stop()


def test_follow_system_reads_the_os_setting_off_the_tk_thread(app, root, monkeypatch):
    import threading

    readers: list[str] = []

    def dark_desktop() -> str:
        readers.append(threading.current_thread().name)
        return "Dark"

    monkeypatch.setattr(theme, "detect", dark_desktop)
    app.set_theme("light")
    app.set_theme("system")
    assert pump_until(root, lambda: ttk.Style(root).theme_use() == "sun-valley-dark", 5)
    assert readers == ["theme-detect"]
    app.set_theme("system")
    app.set_theme("light")  # chosen while the OS was being read: the choice wins
    assert pump_until(root, lambda: len(readers) == 2, 5)
    pump(root, 60)
    assert ttk.Style(root).theme_use() == "sun-valley-light"


def test_the_first_window_takes_most_of_the_screen(app, root):
    pump(root, 100)
    screen_w, screen_h = root.winfo_screenwidth(), root.winfo_screenheight()
    assert root.winfo_width() == max(1000, int(screen_w * 0.8))
    assert root.winfo_height() >= min(screen_h, max(650, int(screen_h * 0.8)))


def test_destroyed_widgets_are_let_go_when_the_next_one_follows(root):
    import tkinter as tk

    from app import theme

    gone = tk.Canvas(root)
    theme.follow(gone, lambda palette: None)
    gone.destroy()
    kept = tk.Canvas(root)
    theme.follow(kept, lambda palette: None)
    assert [w for w, _ in root.__dict__["_theme_followers"]] == [kept]
