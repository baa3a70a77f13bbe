"""`workflows import` through main(): parameters found, files ComfyUI saved, updates and
refusals, one-line failures, the object_info cache (real files on disk, real media files)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import av
import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from core.errors import InputError
from executors.workflow_import.catalog import (
    CORE_WARNING,
    ObjectInfo,
    ObjectInfoCache,
    SeenObjectInfo,
    choose,
    core_catalog,
)
from executors.workflow_import.importer import ImportOptions, import_workflow
from main import main

CORPUS = Path(__file__).resolve().parent.parent / "data" / "workflows"
SDXL = CORPUS / "ui" / "sdxl_simple_example.json"
SONG = CORPUS / "ui" / "audio_ace_step_1_t2a_song.json"


def run(home: Path, *args: str, capsys) -> tuple[int, dict | str, str]:
    code = main(["--home", str(home), "workflows", "import", *map(str, args)])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in args and code == 0 else out), err


def test_json_output_and_parameters_traced_from_the_sampler(tmp_path, capsys):
    code, result, err = run(tmp_path, SDXL, "--json", capsys=capsys)
    assert code == 0, err
    assert set(result) == {"function", "quality", "kind", "path", "parameters", "outputs",
                           "missing_nodes", "missing_models", "warnings"}  # fmt: skip
    assert (result["function"], result["quality"], result["kind"]) == (
        "sdxl_simple_example",
        "standard",
        "image",
    )
    graph = json.loads((Path(result["path"]) / "workflow.json").read_text())
    params = result["parameters"]
    sampler = graph[params["seed"]["target"].split(".")[0]]
    positive = sampler["inputs"]["positive"][0]
    assert params["prompt"]["target"] == f"{positive}.text"
    assert params["negative_prompt"]["target"] == f"{sampler['inputs']['negative'][0]}.text"
    assert params["seed"]["type"] == "seed" and params["checkpoint"]["type"] == "lookup"
    assert {"steps", "cfg", "sampler", "scheduler", "width", "height"} <= set(params)
    assert CORE_WARNING in result["warnings"]
    assert result["missing_models"] == []  # no server's file list to check against
    template = json.loads((Path(result["path"]) / "template.json").read_text())
    models = {m["name"]: m for m in template["models"]}  # with where to get them
    assert models["sd_xl_base_1.0.safetensors"]["folder"] == "checkpoints"
    assert models["sd_xl_base_1.0.safetensors"]["url_hint"].startswith("https://huggingface.co/")
    assert template["imported"]["runnable"] is True
    assert (Path(result["path"]) / "workflow.ui.json").is_file()
    assert main(["--home", str(tmp_path), "functions", "--json"]) == 0
    names = [f["name"] for f in json.loads(capsys.readouterr().out)]
    assert "sdxl_simple_example" in names


def test_song_parameters(tmp_path, capsys):
    code, result, err = run(tmp_path, SONG, "--json", capsys=capsys)
    assert code == 0, err
    assert result["kind"] == "audio"
    assert {"lyrics", "tags", "duration_s", "seed"} <= set(result["parameters"])


def test_app_mode_inputs_come_first(tmp_path, capsys):
    path = CORPUS / "ui" / "template_qwen_image_illustration_lora.json"
    code, result, err = run(tmp_path, path, "--json", capsys=capsys)
    assert code == 0, err
    main_params = [n for n, p in result["parameters"].items() if not p.get("advanced")]
    assert main_params[:3] == ["prompt", "width", "height"]
    assert result["parameters"]["prompt"]["target"] == "76:6.text"  # node 6 in subgraph 76


def test_krita_parameter_nodes_become_parameters(tmp_path, capsys):
    path = CORPUS / "api" / "krita-workflow-custom.json"
    code, result, err = run(tmp_path, path, "--json", capsys=capsys)
    assert code == 0, err
    graph = json.loads((Path(result["path"]) / "workflow.json").read_text())
    assert not any(n["class_type"] == "ETN_Parameter" for n in graph.values())
    assert "ETN_Parameter" not in result["missing_nodes"]
    assert "ETN_KritaCanvas" in result["missing_nodes"]


def test_swarm_input_nodes_are_inlined(tmp_path, capsys):
    graph = json.loads((CORPUS / "api" / "examples_lora_lora.json").read_text())
    sampler = next(nid for nid, n in graph.items() if n["class_type"] == "KSampler")
    inputs = {"title": "Steps Count", "value": 31, "min": 1, "max": 150}
    graph["90"] = {"class_type": "SwarmInputInteger", "inputs": inputs}
    graph[sampler]["inputs"]["steps"] = ["90", 0]
    path = tmp_path / "swarm.json"
    path.write_text(json.dumps(graph))
    code, result, err = run(tmp_path, path, "--json", capsys=capsys)
    assert code == 0, err
    assert result["parameters"]["steps"] == {
        "target": f"{sampler}.steps",
        "type": "direct",
        "min": 1,
        "max": 150,
    }
    saved = json.loads((Path(result["path"]) / "workflow.json").read_text())
    assert saved[sampler]["inputs"]["steps"] == 31 and "90" not in saved


def test_same_workflow_updates_another_is_refused_unless_replace(tmp_path, capsys):
    assert run(tmp_path, SDXL, capsys=capsys)[0] == 0
    assert run(tmp_path, SDXL, capsys=capsys)[0] == 0
    folder = tmp_path / "workflows" / "sdxl_simple_example" / "standard"
    assert json.loads((folder / "template.json").read_text())["version"] == 2
    code, _, err = run(tmp_path, SONG, "--function", "sdxl_simple_example", capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and "--replace" in err
    args = (SONG, "--function", "sdxl_simple_example", "--replace", "--json")
    code, result, _ = run(tmp_path, *args, capsys=capsys)
    assert code == 0 and result["kind"] == "audio"
    code, _, err = run(tmp_path, SDXL, "--function", "create_image", capsys=capsys)
    assert code == 2 and "bundled template" in err


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    cases = {
        "notjson.json": "{nodes",
        "other.json": json.dumps({"keys": [1]}),
        "no_output.json": json.dumps({"1": {"class_type": "EmptyLatentImage",
                                            "inputs": {"width": 8, "height": 8, "batch_size": 1}}}),
    }  # fmt: skip
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        code, _, err = run(tmp_path, tmp_path / name, capsys=capsys)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (name, err)
    code, _, err = run(tmp_path, SDXL, "--server", "nowhere", capsys=capsys)
    assert code == 2 and "no ComfyUI server named 'nowhere'" in err
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    code, _, err = run(tmp_path, tmp_path / "plain.png", capsys=capsys)
    assert code == 2 and "no ComfyUI workflow embedded" in err


# --- files ComfyUI saved ----------------------------------------------------------------------


def _graphs() -> tuple[str, str]:
    return (
        (CORPUS / "api" / "examples_lora_lora.json").read_text(),
        (CORPUS / "ui" / "examples_lora_lora.json").read_text(),
    )


def _png(path: Path) -> None:
    prompt, workflow = _graphs()
    info = PngInfo()  # nodes.py SaveImage: tEXt prompt + one chunk per extra_pnginfo key
    info.add_text("prompt", prompt)
    info.add_text("workflow", workflow)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)


def _webp(path: Path) -> None:
    prompt, workflow = _graphs()
    image = Image.new("RGB", (8, 8))
    exif = image.getexif()  # nodes_images.py SaveAnimatedWEBP: 0x0110 prompt, 0x010F workflow
    exif[0x0110], exif[0x010F] = f"prompt:{prompt}", f"workflow:{workflow}"
    image.save(path, save_all=True, append_images=[image], exif=exif, duration=100)


def _xmp_webp(path: Path) -> None:
    prompt, workflow = _graphs()  # as an attribute and as an element, XML-escaped
    xmp = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description comfy:prompt='
        f"{quoteattr(prompt)}><comfy:workflow>{escape(workflow)}</comfy:workflow>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    Image.new("RGB", (8, 8)).save(path, xmp=xmp.encode())


AUDIO_RATES = {"flac": 8000, "libmp3lame": 44100, "libopus": 48000}


def _media(path: Path, codec: str) -> None:
    prompt, workflow = _graphs()
    options = {"movflags": "use_metadata_tags"} if path.suffix == ".mp4" else {}
    # comfy_api video save_to and nodes_audio save_audio: container metadata, JSON text
    with av.open(str(path), "w", options=options) as container:
        container.metadata["prompt"], container.metadata["workflow"] = prompt, workflow
        if codec in AUDIO_RATES:
            rate = AUDIO_RATES[codec]
            stream = container.add_stream(codec, rate=rate, layout="mono")
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 2048), np.int16), "s16", "mono")
            frame.sample_rate = rate
        else:
            stream = container.add_stream(codec, rate=1)
            stream.width = stream.height = 16
            stream.pix_fmt = "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), "rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


def test_files_comfyui_saved_import_their_embedded_graph(tmp_path, capsys):
    codecs = {"c.flac": "flac", "d.mp4": "mpeg4", "e.mp3": "libmp3lame", "f.opus": "libopus",
              "g.webm": "libvpx-vp9"}  # fmt: skip
    makers = {"a.png": _png, "b.webp": _webp, "h.webp": _xmp_webp}
    makers.update({name: lambda p, c=codec: _media(p, c) for name, codec in codecs.items()})
    prompt = json.loads(_graphs()[0])
    for name, make in makers.items():
        make(tmp_path / name)
        code, result, err = run(tmp_path, tmp_path / name, "--json", capsys=capsys)
        assert code == 0, (name, err)
        folder = Path(result["path"])
        assert set(json.loads((folder / "workflow.json").read_text())) == set(prompt)
        assert json.loads((folder / "workflow.ui.json").read_text())["nodes"]


# --- the object_info cache ----------------------------------------------------------------------


def test_cached_object_info_is_used_offline(tmp_path):
    cache = ObjectInfoCache(tmp_path)
    assert choose(cache, ["gpu"], None).warning == CORE_WARNING
    seen = SeenObjectInfo(cache)
    info = {"KSampler": core_catalog()["KSampler"]}
    seen("gpu", info)
    cache.path("gpu").write_text("{}")  # the same object seen again is not rewritten
    seen("gpu", info)
    assert cache.load("gpu") == {}
    seen("gpu", dict(info))
    chosen = choose(cache, ["gpu"], None)
    assert (chosen.server, chosen.warning, list(chosen.nodes)) == ("gpu", "", ["KSampler"])
    assert "'other'" in choose(cache, ["gpu"], "other").warning


def test_the_cache_keeps_each_servers_node_replacements(tmp_path):
    cache = ObjectInfoCache(tmp_path)
    moved = {"OldSampler": [{"old_node_id": "OldSampler", "new_node_id": "KSampler"}]}
    SeenObjectInfo(cache)("gpu", {"KSampler": {}}, moved)
    SeenObjectInfo(cache)("old", {"KSampler": {}})
    seen = cache.seen(["gpu", "old", "never"])
    assert seen.infos == {"gpu": {"KSampler": {}}, "old": {"KSampler": {}}}
    assert seen.replacements == {"gpu": moved}


def test_damaged_workflows_import_or_say_one_line(tmp_path):
    """Real corpus files with values replaced or removed at random (seeded): each imports or is
    refused with one line, never an exception of another kind."""
    rnd = random.Random(12)
    odd = [None, 1, -1, "x", [], {}, [1, 2], ["a", 0], True, 1.5, [None] * 6, {"id": 1}, -10]
    files = sorted((CORPUS / "ui").glob("*.json")) + sorted((CORPUS / "api").glob("*.json"))
    info = ObjectInfo(core_catalog(), None)
    outcomes = []
    for _ in range(200):
        data = json.loads(rnd.choice(files).read_text())
        for _ in range(rnd.randint(1, 6)):
            _damage(data, rnd, odd)
        path = tmp_path / "damaged.json"
        path.write_text(json.dumps(data))
        try:
            import_workflow(path, tmp_path / "home", ImportOptions(replace=True), info)
            outcomes.append("imported")
        except InputError as exc:
            assert "\n" not in str(exc)
            outcomes.append("refused")
    assert {"imported", "refused"} <= set(outcomes)


def _damage(data, rnd, odd) -> None:
    """Replace or delete one value somewhere in `data`."""
    while isinstance(data, dict | list) and data:
        key = rnd.choice(list(data)) if isinstance(data, dict) else rnd.randrange(len(data))
        roll = rnd.random()
        if roll < 0.2:
            del data[key]
            return
        if roll < 0.5:
            data[key] = copy.deepcopy(rnd.choice(odd))
            return
        data = data[key]


def test_api_workflows_are_the_same_when_their_nodes_are(tmp_path, capsys):
    graph = json.loads((CORPUS / "api" / "examples_lora_lora.json").read_text())
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(graph))
    assert run(tmp_path, path, capsys=capsys)[0] == 0
    sampler = next(nid for nid, n in graph.items() if n["class_type"] == "KSampler")
    graph[sampler]["inputs"]["steps"] = 33  # the same workflow, exported again: updated
    path.write_text(json.dumps(graph))
    assert run(tmp_path, path, capsys=capsys)[0] == 0
    saved = tmp_path / "workflows" / "mine" / "standard" / "workflow.json"
    assert json.loads(saved.read_text())[sampler]["inputs"]["steps"] == 33
    graph["99"] = {"class_type": "PreviewImage", "inputs": {"images": [sampler, 0]}}
    path.write_text(json.dumps(graph))  # another workflow under that name: refused
    code, _, err = run(tmp_path, path, capsys=capsys)
    assert code == 2 and "--replace" in err


def test_inputs_the_server_does_not_declare_are_left_out_of_an_api_graph(tmp_path):
    """A 2023 export carries LoadImage's upload button as an input; the server ignores it, and
    with that server's object_info the import leaves it out (the shipped catalog keeps all)."""
    path = CORPUS / "api" / "examples_img2img_img2img_workflow.json"
    nodes = core_catalog()
    home = tmp_path / "home"
    result = import_workflow(path, home, ImportOptions(function="i2i"), ObjectInfo(nodes, "gpu"))
    graph = json.loads((Path(result.path) / "workflow.json").read_text())
    assert graph["10"]["inputs"] == {"image": "example.png"}
    offline = ImportOptions(function="i2i_offline")
    result = import_workflow(path, home, offline, ObjectInfo(nodes, None))
    graph = json.loads((Path(result.path) / "workflow.json").read_text())
    assert "choose file to upload" in graph["10"]["inputs"]
