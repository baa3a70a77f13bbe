"""A template's parameters as a draft 2020-12 JSON Schema, for the editor's controls."""

from __future__ import annotations

from core.json_types import JsonObject, JsonValue
from executors.object_info import combo_options
from executors.templates.check import server_input
from executors.templates.model import SEED_MAX, ObjectInfo, ParamSpec, Template, type_of

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
JSON_TYPES = {"int": "integer", "float": "number", "string": "string", "bool": "boolean"}


def parameter_schema(template: Template, object_info: ObjectInfo | None = None) -> JsonObject:
    """A draft 2020-12 JSON Schema of the template's parameters, for GUI controls; with a
    server's object_info, a combo input's choices (either dialect) become its `enum`."""
    properties = {
        name: _property(template, spec, object_info) for name, spec in template.parameters.items()
    }
    required = [name for name, spec in template.parameters.items() if spec.required]
    return {
        "$schema": SCHEMA_DIALECT,
        "title": template.display_name,
        "description": template.description,
        "type": "object",
        "properties": properties,
        "required": required,
    }


def _property(template: Template, spec: ParamSpec, object_info: ObjectInfo | None) -> JsonObject:
    prop: JsonObject = {"title": spec.name}
    if spec.description:
        prop["description"] = spec.description
    if spec.type == "seed":
        prop.update(type="integer", minimum=0, maximum=SEED_MAX)
    elif spec.type == "lookup":
        server = server_input(object_info, template.workflow[spec.node_id], spec.input_name)
        prop.update(type="string", enum=lookup_choices(spec, server))
    elif spec.type == "file_upload":
        prop.update(type="string", format="file-path")
    else:
        node = template.workflow[spec.node_id]
        current = node["inputs"][spec.input_name]
        prop["type"] = JSON_TYPES.get(spec.value_type or type_of(current) or "string")
        choices = combo_options(server_input(object_info, node, spec.input_name))
        if choices:
            prop["enum"] = list(choices)
    if spec.minimum is not None:
        prop["minimum"] = spec.minimum
    if spec.maximum is not None:
        prop["maximum"] = spec.maximum
    if spec.default is not None:
        prop["default"] = spec.default
    if spec.advanced:
        prop["advanced"] = True
    return prop


def lookup_choices(spec: ParamSpec, server: JsonValue) -> list[JsonValue]:
    """The lookup's keys; for a plain combo (every key maps to itself, as an import writes
    them), the server's current options too: a model added since the import is offered."""
    keys = list(spec.lookup_table)
    if not _is_plain_combo(spec):
        return keys
    return list(dict.fromkeys([*(combo_options(server) or []), *keys]))


def _is_plain_combo(spec: ParamSpec) -> bool:
    return all(key == value for key, value in spec.lookup_table.items())
