"""The take viewer's plain state: fit, zoom, pan and the cut of the picture a pane shows; arrow
stepping; the facts the side panel lists."""

from __future__ import annotations

import pytest

from app.viewer_state import ZoomPan, fit_scale, media_of, seed_of, step, take_facts, timing_lines
from core.models import ArtifactRecord, MediaKind

PANE = (800, 600)


def test_fit_shows_the_whole_picture_centred():
    placement = ZoomPan().place((4000, 2000), PANE)
    assert placement.scale == pytest.approx(0.2)
    assert placement.box == (0, 0, 4000, 2000)
    assert placement.size == (800, 400) and placement.offset == (0, 100)


def test_a_small_picture_is_not_blown_up_to_fit():
    assert fit_scale((200, 100), PANE) == 1.0
    placement = ZoomPan().place((200, 100), PANE)
    assert placement.size == (200, 100) and placement.offset == (300, 250)


def test_zoom_in_cuts_the_middle_and_never_goes_below_fit():
    view = ZoomPan().zoomed(4)
    placement = view.place((4000, 2000), PANE)
    assert placement.scale == pytest.approx(0.8)
    assert placement.box == pytest.approx((1500, 625, 2500, 1375))
    assert placement.size == (800, 600) and placement.offset == (0, 0)
    assert view.zoomed(1 / 100).zoom == 1.0


def test_one_to_one_and_pan_follow_the_pointer_up_to_the_edges():
    view = ZoomPan().at_scale(1.0, (4000, 2000), PANE)
    assert view.scale((4000, 2000), PANE) == pytest.approx(1.0)
    moved = view.panned(-100, 50, (4000, 2000), PANE)  # drag left and down
    box = moved.place((4000, 2000), PANE).box
    assert box == pytest.approx((1700, 650, 2500, 1250))
    far = view.panned(10_000, 10_000, (4000, 2000), PANE)  # stops at the top-left corner
    assert far.place((4000, 2000), PANE).box == pytest.approx((0, 0, 800, 600))


def test_one_zoom_pan_serves_panes_of_different_sizes():
    view = ZoomPan(zoom=2.0, centre=(0.25, 0.5))
    big, small = view.place((4000, 4000), (400, 400)), view.place((1000, 1000), (400, 400))
    assert big.box == pytest.approx(tuple(4 * v for v in small.box))


def test_step_stops_at_the_ends():
    ids = [5, 4, 3]
    assert step(ids, 4, 1) == 3 and step(ids, 3, 1) == 3 and step(ids, 5, -1) == 5
    assert step(ids, 99, 1) == 5


def record(kind=MediaKind.IMAGE, **meta) -> ArtifactRecord:
    return ArtifactRecord(9, 1, kind, "takes/9.png", None, "", 1, 1024, 768, metadata=meta)


def test_facts_name_template_model_server_timings_and_texts():
    facts = take_facts(
        record(
            template={"function": "create_image", "quality": "standard", "version": 2},
            tier="standard",
            seed=42,
            server={"name": "local", "url": "http://127.0.0.1:8188"},
            timings={"queued": 10.0, "started": 11.5, "finished": 19.5, "harvested": 19.75},
            texts={"12": ["a caption"]},
            workflow={"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m"}},
                      "3": {"class_type": "KSampler", "inputs": {"model": ["4", 0],
                            "positive": ["4", 1], "seed": 42}},
                      "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}}},
        )
    )  # fmt: skip
    text = "\n".join(facts.lines)
    for expected in (
        "take 9 · image",
        "1024×768",
        "template: create_image/standard v2",
        "model: m",
        "waited 1.5 s in the server's queue",
        "ran 8.0 s",
        "tier: standard",
        "seed: 42",
        "server: local (http://127.0.0.1:8188)",
        "text from node 12: a caption",
    ):
        assert expected in text
    assert '"ckpt_name": "m"' in facts.workflow


def test_broken_timings_and_no_workflow_are_left_out():
    assert timing_lines({"queued": "x", "started": float("nan")}) == []
    assert take_facts(record()).workflow == ""


def test_media_and_seed():
    assert media_of(record(MediaKind.AUDIO)) == "audio"
    assert media_of(record(output={"media": "text"})) == "text"
    assert seed_of(record(seed=True)) is None and seed_of(record(seed=3)) == 3


def test_wheel_zoom_keeps_the_point_under_the_pointer():
    picture, pane = (4000, 2000), PANE
    view = ZoomPan().zoomed(2)  # scale 0.4, centre (2000, 1000)
    zoomed = view.zoomed_at(2, (600, 300), picture, pane)  # 200 px right of the pane's centre
    under_before = 2000 + 200 / 0.4
    placement = zoomed.place(picture, pane)
    assert placement.box[0] + 600 / placement.scale == pytest.approx(under_before)
    assert view.zoomed_at(1 / 100, (600, 300), picture, pane) == ZoomPan()


def test_the_preview_stands_in_for_the_picture_at_the_same_place_and_size():
    picture, preview = (4096, 4096), (256, 256)
    placement = ZoomPan().zoomed(2).place(picture, PANE)
    stand_in = placement.for_picture(picture, preview)
    assert stand_in.size == placement.size and stand_in.offset == placement.offset
    assert stand_in.box == pytest.approx(tuple(v / 16 for v in placement.box))
