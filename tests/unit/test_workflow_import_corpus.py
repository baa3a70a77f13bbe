"""Every real workflow in tests/data/workflows (see SOURCES.md) imports; the API graph made from
each passes the project's ComfyUI server's own validation (executors/demo_server, profile
"current", the full 0.3.64 catalog) except for model files and input files that server does not
have and node classes its catalog lacks, which the import must report as missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from executors.demo_server.catalog import Catalog
from executors.demo_server.profiles import profile
from executors.demo_server.validation import Validator
from executors.object_info import is_model_file
from executors.workflow_import.catalog import ObjectInfo
from executors.workflow_import.importer import ImportOptions, import_workflow

CORPUS = Path(__file__).resolve().parent.parent / "data" / "workflows"
UI_FILES = sorted((CORPUS / "ui").glob("*.json"))
API_FILES = sorted((CORPUS / "api").glob("*.json"))
EXCEPTIONS = ("exception_during_validation", "exception_during_inner_validation")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    catalog = Catalog({}, tmp_path_factory.mktemp("models"), profile("current"))
    inputs = tmp_path_factory.mktemp("input")
    return catalog.object_info(), Validator(catalog, {"input": inputs})


def test_the_corpus_is_big_enough():
    assert len(UI_FILES) >= 40 and len(API_FILES) >= 20
    ui = [json.loads(p.read_text()) for p in UI_FILES]
    assert sum(bool(w.get("definitions", {}).get("subgraphs")) for w in ui) >= 10
    assert sum(any(n.get("mode") == 4 for n in w["nodes"]) for w in ui) >= 5
    assert sum(any(n["type"] == "PrimitiveNode" for n in w["nodes"]) for w in ui) >= 3
    assert sum(bool(w.get("extra", {}).get("linearData")) for w in ui) >= 3


@pytest.mark.parametrize("path", UI_FILES + API_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_imports_and_passes_server_validation(path, server, tmp_path):
    object_info, validator = server
    result = import_workflow(path, tmp_path, ImportOptions(), ObjectInfo(object_info, "fake"))
    graph = json.loads((Path(result.path) / "workflow.json").read_text())
    classes = {node["class_type"] for node in graph.values()}
    assert sorted(classes - set(object_info)) == result.missing_nodes
    assert result.outputs and result.parameters
    known = {nid: node for nid, node in graph.items() if node["class_type"] in object_info}
    removed = set(graph) - set(known)
    valid, error, _, node_errors = validator.validate_prompt(known, None)
    unexpected = [
        (node_id, reason["type"], reason.get("details"))
        for node_id, entry in node_errors.items()
        for reason in entry["errors"]
        if not _explained(reason, removed)
    ]
    assert unexpected == []
    assert valid or node_errors or error["type"] == "prompt_no_outputs" and removed
    reported = {(m.node, m.input) for m in result.missing_models}
    for node_id, entry in node_errors.items():
        for reason in entry["errors"]:
            if reason["type"] == "value_not_in_list":
                assert (node_id, reason["extra_info"]["input_name"]) in reported


def _explained(reason: dict, removed: set[str]) -> bool:
    """Errors the corpus may have: model files and input files the test server lacks, and
    links to nodes whose (custom) classes its catalog lacks."""
    if reason["type"] == "value_not_in_list":
        return is_model_file(reason["extra_info"].get("received_value"))
    if reason["type"] == "custom_validation_failed":  # LoadImage/LoadAudio/LoadVideo files
        return True
    return reason["type"] in EXCEPTIONS and reason.get("details", "").strip("'") in removed
