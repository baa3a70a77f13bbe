"""The house plan's import directions, read from the source (every import, module-level or
inside a function): core imports only the standard library; repositories only core; executors
neither repositories nor app; app neither executors.backends nor main; nothing outside tests/
imports tests/."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"app", "core", "executors", "repositories", "main", "tests", "takeboard"}

# package → the names (or name prefixes) of ours it must not import
FORBIDDEN = {
    "core": ("app", "executors", "repositories", "main", "tests"),
    "repositories": ("app", "executors", "main", "tests"),
    "executors": ("app", "repositories", "main", "tests"),
    "app": ("executors.backends", "main", "tests"),
    "main.py": ("tests",),
}


def imported_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def sources(part: str) -> list[Path]:
    target = ROOT / part
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def breaks(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_no_module_imports_against_the_house_plan(part):
    wrong = [
        f"{shown(path)} imports {name}"
        for path in sources(part)
        for name in imported_names(path)
        if breaks(name, FORBIDDEN[part])
    ]
    assert not wrong, "\n".join(wrong)


def test_core_imports_only_the_standard_library_and_itself():
    outside = {
        f"{shown(path)} imports {name}"
        for path in sources("core")
        for name in imported_names(path)
        if name.split(".")[0] not in sys.stdlib_module_names | {"core", "__future__"}
    }
    assert not outside, "\n".join(sorted(outside))


def test_the_checks_see_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from tests.comfyui_server import x\n", encoding="utf-8")
    assert breaks(imported_names(module)[0], FORBIDDEN["main.py"])
    assert not breaks("executors.backends_x", ("executors.backends",))
    module.write_text("def f(a: 'dict[str, Any]', *b: int) -> None: ...\n", encoding="utf-8")
    assert any_parameters(module) == [f"{module}:1 f(a)"]


def any_parameters(path: Path) -> list[str]:
    """Parameters annotated with `Any` (JSON values have their own names, core.json_types)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            found += [
                f"{shown(path)}:{a.lineno} {node.name}({a.arg})"
                for a in every
                if a.annotation is not None and _mentions_any(a.annotation)
            ]
    return found


def _mentions_any(annotation: ast.expr) -> bool:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body  # a quoted annotation
    return any(isinstance(n, ast.Name) and n.id == "Any" for n in ast.walk(annotation))


@pytest.mark.parametrize("part", ["core", "executors"])
def test_no_parameter_is_typed_any(part):
    found = [hit for path in sources(part) for hit in any_parameters(path)]
    assert not found, "\n".join(found)
