"""Workflow templates as data: load and validate them, derive the function registry, render.

A template is a folder `<function>/<quality>/` holding `template.json` and a ComfyUI workflow
in API format. A template for another backend family ("backend": "wangp" | "gradio" |
"command") holds a flat JSON request instead (WanGP settings, an endpoint's keyword arguments,
a command's inputs); it is kept as a one-node graph `{"request": {"inputs": {…}}}`, so its
parameters (targets are plain field names) are checked and rendered by the same code.

The modules: model (the records and names), load (reading folders, validating one template),
params (targets and parameters), template_set (tiers, the function registry, warnings),
schema (parameters as JSON Schema), render (the graph to send), check (a template against one
server's object_info).
"""

from executors.templates.check import check_against_object_info, template_warnings
from executors.templates.load import (
    BUNDLED_DIR,
    TEMPLATE_FILE,
    load_template,
    load_templates,
    template_dirs,
)
from executors.templates.model import (
    KINDS,
    QUALITIES,
    BrokenTemplate,
    FunctionInfo,
    ModelFile,
    ParamSpec,
    Rendered,
    Resolution,
    Template,
    default_function,
    run_facts,
)
from executors.templates.render import render
from executors.templates.schema import parameter_schema
from executors.templates.template_set import TemplateSet

__all__ = [
    "BUNDLED_DIR",
    "KINDS",
    "QUALITIES",
    "TEMPLATE_FILE",
    "BrokenTemplate",
    "FunctionInfo",
    "ModelFile",
    "ParamSpec",
    "Rendered",
    "Resolution",
    "Template",
    "TemplateSet",
    "check_against_object_info",
    "default_function",
    "load_template",
    "load_templates",
    "parameter_schema",
    "render",
    "run_facts",
    "template_dirs",
    "template_warnings",
]
