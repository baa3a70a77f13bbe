"""Reading embedded graphs from real files, and what a graph was made with."""

from __future__ import annotations

import json
import zlib

import pytest

from core.models import MediaKind
from executors.demo_server.media import SAMPLES  # recorded from ComfyUI 0.3.64
from executors.library_import.embedded import UnreadableFile, read_embedded
from executors.library_import.graph import settings_key, trace
from executors.library_import.prompt_data import draft
from tests.comfyui_server.examples import txt2img
from tests.library_outputs import png_with_chunks, song


@pytest.mark.parametrize(
    "name",
    ["c1_fx_anim_3frames.webp", "c1_fx_apng_3frames.png", "c1_fx_vid_h264.mp4",
     "c1_fx_webm_vp9.webm", "c2_fx_flac.flac", "c2_fx_mp3.mp3", "c2_fx_opus.opus"],
)  # fmt: skip
def test_files_a_real_comfyui_saved_carry_their_prompt(name):
    graph = read_embedded(SAMPLES / name).prompt
    savers = {node["class_type"] for node in graph.values()}
    assert savers & {"SaveAnimatedWEBP", "SaveAnimatedPNG", "SaveVideo", "SaveAudio"}


def test_png_text_in_itxt_compressed_and_ztxt(tmp_path):
    graph, ui = txt2img(seed=4), {"nodes": [], "note": "café"}
    itxt = b"workflow\0\1\0en\0\0" + zlib.compress(json.dumps(ui, ensure_ascii=False).encode())
    ztxt = b"prompt\0\0" + zlib.compress(json.dumps(graph).encode())
    path = png_with_chunks(tmp_path / "x.png", [(b"iTXt", itxt), (b"zTXt", ztxt)])
    embedded = read_embedded(path)
    assert (embedded.prompt, embedded.workflow) == (graph, ui)


def test_a_zlib_stream_that_is_damaged_is_one_line(tmp_path):
    path = png_with_chunks(tmp_path / "x.png", [(b"zTXt", b"prompt\0\0not zlib")])
    with pytest.raises(UnreadableFile, match=r"^its zTXt chunk at byte 33 is malformed"):
        read_embedded(path)


def test_flux_graph_with_a_guider_reroutes_and_a_zeroed_negative():
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
        "2": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "a cat"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["2", 0], "clip": ["9", 0]}},
        "4": {"class_type": "Reroute", "inputs": {"": ["3", 0]}},
        "5": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["4", 0], "guidance": 3}},
        "6": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["5", 0]}},
        "7": {"class_type": "RandomNoise", "inputs": {"noise_seed": 42}},
        "8": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 832, "height": 1216}},
        "10": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {"noise": ["7", 0], "guider": ["6", 0], "latent_image": ["8", 0]},
        },
        "11": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0]}},
        "12": {"class_type": "SaveImage", "inputs": {"images": ["11", 0]}},
    }
    traced = trace(graph)
    assert (traced.positive, traced.seed, traced.model) == ("a cat", 42, "flux1-dev.safetensors")
    assert (traced.width, traced.height) == (832, 1216)
    data = draft(MediaKind.IMAGE, traced, {}, "x").data
    assert data["aspect_ratio"] == "13:19" and data["negative_prompt"] == ""


def test_an_ace_step_song_and_its_zeroed_negative():
    traced = trace(song("rock", "[chorus]\nyeah", 11))
    assert traced.negative == "" and traced.seed == 11
    data = draft(MediaKind.AUDIO, traced, {"duration_s": 59.9}, "s").data
    assert (data["lyrics"], data["tags"], data["duration_s"]) == ("[chorus]\nyeah", ["rock"], 60.0)
    assert data["time_signature"] == "4/4" and data["params"]["model"].startswith("ace_step")


def test_values_the_schema_refuses_are_left_out_not_fatal():
    graph = song("rock", "", 1)
    graph["94"]["inputs"].update(bpm=900, keyscale="H sharp minor")
    data = draft(MediaKind.AUDIO, trace(graph), {}, "s").data
    assert (data["tempo"], data["key"], data["lyrics"]) == (None, None, "[instrumental]")


def test_the_settings_key_ignores_seeds_even_through_a_primitive_node():
    assert settings_key(song("a", "b", 1), "audio") == settings_key(song("a", "b", 2), "audio")
    assert settings_key(song("a", "b", 1), "audio") != settings_key(song("a", "c", 1), "audio")
    assert settings_key(txt2img(seed=1), "image") != settings_key(txt2img(seed=1), "video")


@pytest.mark.parametrize(
    ("text", "problem"),
    [('{"1": "\\udc80"}', "not a valid character"), ("[" * 100_000, "nested deeper"),
     ('{"1": NaN}', "NaN")],
)  # fmt: skip
def test_an_embedded_graph_the_library_cannot_hold_is_one_line(tmp_path, text, problem):
    path = png_with_chunks(tmp_path / "x.png", [(b"tEXt", b"prompt\0" + text.encode())])
    with pytest.raises(UnreadableFile, match=r"^its embedded prompt is not valid JSON") as caught:
        read_embedded(path)
    assert problem in str(caught.value)


def test_odd_graphs_are_traced_without_crashing():
    graph = {
        "1": {"class_type": "KSampler", "inputs": {"positive": ["1", 0], "seed": ["2", 0]}},
        "2": {"class_type": "PrimitiveInt", "inputs": {"value": ["2", 0]}},  # a loop
        "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": "not a dict"},
        "5": "not a node",
    }
    traced = trace(graph)
    assert (traced.positive, traced.seed, traced.width) == ("", None, None)
    assert settings_key(graph, "image") == settings_key(graph, "image")
