"""POST /prompt validation, ported from ComfyUI's `validate_prompt` / `validate_inputs`.

The "current" profile follows execution.py@04e2a914: a missing or unknown class_type is
`missing_node_type` naming the node id, class and title; `value_not_in_list` lists the invalid
values as reprs (multiselect lists checked item by item, `remote_combo` not checked); V3
DynamicCombo inputs arrive flattened (`format`, `format.codec`, …) and are validated under
those names (catalog.input_specs).

It keeps the real server's quirks on purpose: values are converted in place (the stored prompt
holds `16` for `"16"`), every failing node is charged to every failing output, a dangling link
surfaces as a KeyError/IndexError "exception_during_validation", and custom validators (LoadImage)
replace the min/max/combo checks of their inputs.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from core.json_types import JsonObject, JsonValue

from .catalog import Catalog, InputSpec
from .media import annotated_path

Reason = JsonObject
Result = tuple[bool, list[Reason], str]

FILE_VALIDATORS = {  # class_type -> (input name, message template)
    "LoadImage": ("image", "Invalid image file: {}"),
    "LoadAudio": ("audio", "Invalid audio file: {}"),
    "LoadVideo": ("file", "Invalid video file: {}"),
}


def error(kind: str, message: str, details: str, extra: JsonObject | None = None) -> Reason:
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


def full_type_name(klass: type) -> str:
    module = klass.__module__
    return klass.__qualname__ if module == "builtins" else f"{module}.{klass.__qualname__}"


class Validator:
    def __init__(self, catalog: Catalog, dirs: dict[str, Path]):
        self.catalog = catalog
        self.dirs = dirs

    @property
    def current(self) -> bool:
        return self.catalog.profile.current

    def validate_prompt(
        self, prompt: JsonValue, partial: JsonValue
    ) -> tuple[bool, Reason | None, list, dict]:
        """(valid, error, good output ids, node_errors), as ComfyUI returns them."""
        outputs = []
        for node_id in prompt:
            reason = self._node_type_error(node_id, prompt[node_id])
            if reason is not None:
                return False, reason, [], {}
            class_type = prompt[node_id]["class_type"]
            if self.catalog.is_output(class_type) and (partial is None or node_id in partial):
                outputs.append(node_id)
        if not outputs:
            return False, error("prompt_no_outputs", "Prompt has no outputs", ""), [], {}
        return self._validate_outputs(prompt, outputs)

    def _node_type_error(self, node_id: str, node: dict) -> Reason | None:
        where = f"Node ID '#{node_id}'"
        if "class_type" not in node:
            if not self.current:
                msg = "Cannot execute because a node is missing the class_type property."
                return error("invalid_prompt", msg, where)
            title = node.get("_meta", {}).get("title")
            msg = f"Node '{title or f'ID #{node_id}'}' has no class_type. The workflow may be "
            msg += "corrupted or a custom node is missing."
            extra = {"node_id": node_id, "class_type": None, "node_title": title}
            return error("missing_node_type", msg, where, extra)
        class_type = node["class_type"]
        if class_type in self.catalog:
            return None
        if not self.current:
            msg = f"Cannot execute because node {class_type} does not exist."
            return error("invalid_prompt", msg, where)
        title = node.get("_meta", {}).get("title", class_type)
        msg = f"Node '{title}' not found. The custom node may not be installed."
        extra = {"node_id": node_id, "class_type": class_type, "node_title": title}
        return error("missing_node_type", msg, where, extra)

    def _validate_outputs(self, prompt: dict, outputs: list[str]) -> tuple:
        good: list[str] = []
        failures: list[Reason] = []
        node_errors: JsonObject = {}
        validated: JsonObject = {}
        for output in outputs:
            valid, reasons = self._validate_output(prompt, output, validated)
            if valid:
                good.append(output)
                continue
            failures.extend(reasons)
            _charge(prompt, validated, node_errors, output)
        if good:
            return True, None, good, node_errors
        details = "\n".join(f"{r['message']}: {r['details']}" for r in failures)
        msg = "Prompt outputs failed validation"
        return False, error("prompt_outputs_failed_validation", msg, details), [], node_errors

    def _validate_output(self, prompt: dict, output: str, validated: dict) -> tuple[bool, list]:
        try:
            valid, reasons, _ = self.validate_inputs(prompt, output, validated)
            return valid, reasons
        except Exception as ex:
            tb = traceback.format_tb(ex.__traceback__)
            extra = {"exception_type": full_type_name(type(ex)), "traceback": tb}
            msg = "Exception when validating node"
            reasons = [error("exception_during_validation", msg, str(ex), extra)]
            validated[output] = (False, reasons, output)
            return False, reasons

    def validate_inputs(self, prompt: dict, unique_id: str, validated: dict) -> Result:
        if unique_id in validated:
            return validated[unique_id]
        inputs = prompt[unique_id]["inputs"]
        class_type = prompt[unique_id]["class_type"]
        custom = FILE_VALIDATORS.get(class_type)
        errors: list[Reason] = []
        valid = True
        for spec in self.catalog.input_specs(class_type, inputs):
            if spec.name not in inputs:
                if spec.category == "required":
                    errors.append(_missing(spec.name))
                continue
            value = inputs[spec.name]
            if isinstance(value, list):
                valid = self._check_link(prompt, spec, value, validated, errors) and valid
                continue
            skip_checks = custom is not None and custom[0] == spec.name
            self._check_value(inputs, spec, value, errors, skip_checks)
        if custom is not None:
            errors += self._custom_errors(inputs, *custom)
        result = (False, errors, unique_id) if errors or not valid else (True, [], unique_id)
        validated[unique_id] = result
        return result

    def _check_link(
        self, prompt: dict, spec: InputSpec, value: list, validated: dict, errors: list
    ) -> bool:
        """False when the linked node is invalid (its own errors are reported on it)."""
        if len(value) != 2:
            msg = "Bad linked input, must be a length-2 list of [node_id, slot_index]"
            extra = {"input_name": spec.name, "input_config": spec.config, "received_value": value}
            errors.append(error("bad_linked_input", msg, spec.name, extra))
            return True
        linked_id = value[0]
        linked_class = prompt[linked_id]["class_type"]
        received_type = self.catalog.return_types(linked_class)[value[1]]
        if not validate_node_input(received_type, spec.kind):
            errors.append(_type_mismatch(spec, received_type, value))
            return True
        try:
            return self.validate_inputs(prompt, linked_id, validated)[0] is not False
        except Exception as ex:
            validated[linked_id] = (False, [_inner_exception(spec, value, ex)], linked_id)
            return False

    def _check_value(
        self, inputs: dict, spec: InputSpec, value: JsonValue, errors: list, skip_checks: bool
    ) -> None:
        try:
            value = _convert(spec.kind, value)
            inputs[spec.name] = value
        except Exception as ex:
            errors.append(_conversion_error(spec, value, ex))
            return
        if skip_checks:
            return
        reason = _range_error(spec, value) or _combo_error(spec, value, self.current)
        if reason:
            errors.append(reason)

    def _custom_errors(self, inputs: dict, name: str, template: str) -> list[Reason]:
        value = inputs.get(name) if isinstance(inputs, dict) else None
        if not isinstance(value, str) or annotated_path(value, self.dirs).exists():
            return []
        msg = "Custom validation failed for node"
        details = f"{name} - {template.format(value)}"
        return [error("custom_validation_failed", msg, details, {"input_name": name})]


def validate_node_input(received_type: JsonValue, input_type: JsonValue) -> bool:
    """ComfyUI's type check: equal, `*`, or overlapping comma-separated unions."""
    if received_type == input_type:
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {t.strip() for t in received_type.split(",")}
    wanted = {t.strip() for t in input_type.split(",")}
    return "*" in received or "*" in wanted or bool(received & wanted)


def _convert(kind: JsonValue, value: JsonValue) -> JsonValue:
    converters = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    if isinstance(kind, str) and kind in converters:
        return converters[kind](value)
    return value


def _charge(prompt: dict, validated: dict, node_errors: dict, output: str) -> None:
    """Every invalid node with reasons gets `output` added to its dependent_outputs."""
    for node_id, (valid, reasons, _) in validated.items():
        if valid is True or not reasons:
            continue
        if node_id not in node_errors:
            class_type = prompt[node_id]["class_type"]
            node_errors[node_id] = {
                "errors": reasons,
                "dependent_outputs": [],
                "class_type": class_type,
            }
        node_errors[node_id]["dependent_outputs"].append(output)


def _missing(name: str) -> Reason:
    """Details name a dynamic input by its last part (`format.codec` → `codec`)."""
    details = name.split(".")[-1]
    return error(
        "required_input_missing", "Required input is missing", details, {"input_name": name}
    )


def _type_mismatch(spec: InputSpec, received_type: str, link: list) -> Reason:
    details = f"{spec.name}, received_type({received_type}) mismatch input_type({spec.kind})"
    extra = {
        "input_name": spec.name,
        "input_config": spec.config,
        "received_type": received_type,
        "linked_node": link,
    }
    msg = "Return type mismatch between linked nodes"
    return error("return_type_mismatch", msg, details, extra)


def _inner_exception(spec: InputSpec, link: list, ex: Exception) -> Reason:
    extra = {
        "input_name": spec.name,
        "input_config": spec.config,
        "exception_message": str(ex),
        "exception_type": full_type_name(type(ex)),
        "traceback": traceback.format_tb(ex.__traceback__),
        "linked_node": link,
    }
    msg = "Exception when validating inner node"
    return error("exception_during_inner_validation", msg, str(ex), extra)


def _conversion_error(spec: InputSpec, value: JsonValue, ex: Exception) -> Reason:
    extra = {
        "input_name": spec.name,
        "input_config": spec.config,
        "received_value": value,
        "exception_message": str(ex),
    }
    msg = f"Failed to convert an input value to a {spec.kind} value"
    return error("invalid_input_type", msg, f"{spec.name}, {value}, {ex}", extra)


def _range_error(spec: InputSpec, value: JsonValue) -> Reason | None:
    extra = {"input_name": spec.name, "input_config": spec.config, "received_value": value}
    if "min" in spec.extra and value < spec.extra["min"]:
        msg = f"Value {value} smaller than min of {spec.extra['min']}"
        return error("value_smaller_than_min", msg, spec.name, extra)
    if "max" in spec.extra and value > spec.extra["max"]:
        msg = f"Value {value} bigger than max of {spec.extra['max']}"
        return error("value_bigger_than_max", msg, spec.name, extra)
    return None


def _combo_error(spec: InputSpec, value: JsonValue, current: bool) -> Reason | None:
    """0.3.64 quotes the value; current (execution.py@04e2a914 validate_inputs) lists the
    invalid values as reprs, checks multiselect lists item by item and skips remote combos."""
    options = spec.options
    if options is None or current and spec.extra.get("remote_combo"):
        return None
    multiselect = current and spec.extra.get("multiselect", False) and isinstance(value, list)
    invalid = [v for v in value if v not in options] if multiselect else [value]
    if not invalid or not multiselect and value in options:
        return None
    config: JsonValue = spec.config
    listing = str(options)
    if len(options) > 20:  # the real server does not echo long model lists
        listing, config = f"(list of length {len(options)})", None
    extra = {"input_name": spec.name, "input_config": config, "received_value": value}
    shown = ", ".join(repr(v) for v in invalid) if current else f"'{value}'"
    details = f"{spec.name}: {shown} not in {listing}"
    return error("value_not_in_list", "Value not in list", details, extra)
