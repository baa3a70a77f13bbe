"""The look's plain decisions: which theme shows, the first window's size, the shipped icons."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from app import icons, theme
from app.window_layout import default_panes, first_geometry


def test_a_chosen_mode_wins_and_the_system_decides_follow_system():
    assert theme.resolve("dark", "Light") == "dark"
    assert theme.resolve("light", "Dark") == "light"
    assert theme.resolve("system", "Dark") == "dark"
    assert theme.resolve("system", "Light") == "light"
    assert theme.resolve("system", None) == "light"  # unreadable (Linux without a desktop)


def test_a_remembered_mode_is_read_safely():
    assert [theme.parse_mode(m) for m in ("light", "dark", "system")] == ["light", "dark", "system"]
    assert theme.parse_mode(None) == "system" and theme.parse_mode("blue") == "system"
    assert theme.parse_mode(["dark"]) == "system"


def test_reading_the_system_setting_never_raises():
    assert theme.detect() in ("Dark", "Light", None)


@pytest.mark.parametrize(
    ("screen", "expected"),
    [
        ((1920, 1080), "1536x864+192+108"),  # 80 %
        ((1280, 800), "1024x650+128+75"),  # at least the minimum height
        ((3840, 2160), "2400x1500+720+330"),  # at most the maximum
        ((800, 600), "800x600+0+0"),  # never larger than the screen
    ],
)
def test_the_first_window_is_sized_to_the_screen(screen, expected):
    assert first_geometry(*screen) == expected


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_the_shipped_icons_are_the_drawn_ones(mode, tmp_path):
    """app/assets/icons is what `python -m app.icons` draws: the PNGs cannot drift."""
    for name in icons.NAMES:
        shipped = Image.open(icons.icon_path(name, mode)).convert("RGBA")
        drawn = icons.draw(name, mode)
        assert shipped.size == (icons.SIZE, icons.SIZE)
        assert ImageChops.difference(shipped, drawn).getbbox() is None, name
        assert drawn.getextrema()[3][1] == 255, f"{name} is empty"


def test_without_a_saved_layout_the_panes_split_the_window():
    assert default_panes("1280x800+0+0") == [448, 704]
    assert default_panes("1024x650") == [364, 563]
    assert default_panes("garbage") == []
