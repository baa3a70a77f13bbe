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


def breaks(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_no_module_imports_against_the_house_plan(part):
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(part)
        for name in imported_names(path)
        if breaks(name, FORBIDDEN[part])
    ]
    assert not wrong, "\n".join(wrong)


def test_core_imports_only_the_standard_library_and_itself():
    outside = {
        f"{path.relative_to(ROOT)} imports {name}"
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
