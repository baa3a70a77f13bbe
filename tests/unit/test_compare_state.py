"""Compare's plain state: the selection, the settings read from a take, the table of only the
differing settings and the prompt words added/removed (the bundled SDXL workflow as graph)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from app.compare_state import (
    TakeSelection,
    compare_hint,
    differences,
    settings_of,
    word_changes,
)
from core.models import ArtifactRecord, MediaKind

WORKFLOW = json.loads(
    (Path(__file__).parents[2] / "workflows/create_image/standard/workflow.json").read_text()
)


def take(take_id: int, *, seed=7, steps=25, tier="standard", prompt="a red fox", values=None):
    """A take as the ComfyUI executor records it: the rendered graph and the values used."""
    graph = copy.deepcopy(WORKFLOW)
    graph["15"]["inputs"]["string_a"] = prompt
    graph["3"]["inputs"].update(seed=seed, steps=steps)
    meta = {
        "workflow": graph,
        "seed": seed,
        "tier": tier,
        "values": values if values is not None else {"prompt": prompt, "seed": seed},
        "server": {"name": "local", "url": "http://127.0.0.1:8188"},
    }
    return ArtifactRecord(
        take_id, 1, MediaKind.IMAGE, f"t{take_id}.png", None, "", 1, metadata=meta
    )


def test_settings_come_from_the_values_then_the_workflow_graph():
    settings = settings_of(take(1, values={"steps": 30, "prompt": "a red fox"}))
    assert (settings.seed, settings.tier, settings.steps) == (7, "standard", 30)
    assert (settings.cfg, settings.sampler) == (7.0, "dpmpp_2m")  # from the KSampler node
    assert settings.model == "sd_xl_base_1.0.safetensors"
    assert settings.server == "local"
    assert settings.prompt.startswith("a red fox")  # traced through StringConcatenate


def test_a_take_without_workflow_or_values_reads_as_unknown():
    bare = ArtifactRecord(1, 1, MediaKind.AUDIO, "a.flac", None, "", 1, metadata={})
    settings = settings_of(bare)
    assert settings.seed is None and settings.model is None and settings.prompt == ""


def test_only_the_settings_that_differ_are_rows():
    a, b, c = take(1), take(2, seed=8), take(3, seed=9, tier="high", steps=40)
    rows = {row.setting: row.values for row in differences([a, b, c])}
    assert rows == {
        "seed": ("7", "8", "9"),
        "tier": ("standard", "standard", "high"),
        "steps": ("25", "25", "40"),
    }


def test_identical_takes_have_no_rows():
    assert differences([take(1), take(2)]) == []


def test_prompt_words_added_and_removed_against_the_first_take():
    a = take(1, prompt="a red fox in snow")
    b = take(2, prompt="a red fox in rain, cinematic")
    c = take(3, prompt="A red fox in snow!")
    (row,) = differences([a, b, c])
    assert row.setting == "prompt words"
    assert row.values == ("(first)", "+rain +cinematic −snow", "same words")


def test_word_changes_ignore_case_and_repeats():
    assert word_changes("Fox fox, snow", "fox snow snow night") == "+night"
    assert word_changes("", "") == "same words"


def test_selection_click_ctrl_and_shift():
    order = [10, 11, 12, 13, 14]
    selection = TakeSelection()
    selection.click(11)
    selection.toggle(13)
    assert selection.ids == [11, 13] and selection.comparable()
    selection.toggle(11)
    assert selection.ids == [13] and not selection.comparable()
    selection.extend(14, order)  # from the anchor (11, the last Ctrl-clicked) to 14
    assert selection.ids == [11, 12, 13, 14]
    selection.extend(10, order)  # the anchor stays: 11 back to 10
    assert selection.ids == [10, 11]
    selection.keep_only([10, 12])
    assert selection.ids == [10] and selection.anchor is None
    selection.extend(12, order)  # no anchor: Shift-click selects one
    assert selection.ids == [12]
    selection.extend(14, order)
    assert selection.ids == [12, 13, 14] and selection.comparable()
    selection.extend(10, order)
    assert selection.ids == [10, 11, 12] and not TakeSelection(order).comparable()


def test_shift_click_without_anchor_selects_one():
    selection = TakeSelection()
    selection.extend(12, [10, 11, 12])
    assert selection.ids == [12] and selection.anchor == 12


def test_hint_says_what_to_do():
    assert "Ctrl-click" in compare_hint(1)
    assert compare_hint(5).startswith("5 takes are selected — compare shows at most 4")
