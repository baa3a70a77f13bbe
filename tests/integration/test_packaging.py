"""What `pip install .` gives: the wheel and the sdist built from this tree hold every module
and the shipped data, no tests, and the installed wheel runs from another folder (issue 13).

The archives are built once per module from a copy of the tree (setuptools' own build backend,
no network); the wheel is installed with `pip install --target` and run with `python -S`, so the
editable install's finder (a .pth file) cannot put the checkout in its place."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import shipped

ROOT = Path(__file__).resolve().parents[2]
CODE = ("app", "core", "executors", "repositories")
NOT_SOURCES = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")
BUILD = "from setuptools import build_meta as b; import sys; print(b.{}(sys.argv[1]))"


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


def _build(source: Path, out: Path, hook: str) -> Path:
    """Run one PEP 517 hook of the project's backend in `source`; the archive it wrote."""
    done = subprocess.run(
        [sys.executable, "-c", BUILD.format(hook), str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = work / "dist"
    out.mkdir()
    return Built(_build(source, out, "build_wheel"), _build(source, out, "build_sdist"))


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def sdist_names(sdist: Path) -> set[str]:
    """The sdist's files, without its top folder (takeboard-<version>/)."""
    with tarfile.open(sdist) as archive:
        names = (m.name.split("/", 1) for m in archive.getmembers() if m.isfile())
        return {parts[1] for parts in names if len(parts) == 2}


def checkout_files(folder: str, pattern: str = "*") -> set[str]:
    files = (ROOT / folder).rglob(pattern)
    return {f.relative_to(ROOT).as_posix() for f in files if _shipped_file(f)}


def _shipped_file(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def modules() -> set[str]:
    """Every Python file of the four code packages in this tree."""
    return set().union(*(checkout_files(package, "*.py") for package in CODE))


def shipped_data() -> set[str]:
    """The data files the program reads, as paths in the checkout."""
    return (
        {"config.json", "main.py"}
        | checkout_files("workflows")
        | checkout_files("app/assets/icons", "*.png")
        | checkout_files("executors/workflow_import/data", "*.json")
        | checkout_files("executors/demo_server/data")
    )


def in_wheel(path: str) -> str:
    """Where a checkout file lies in the wheel: the project's root is the `takeboard` package."""
    return path if path.split("/")[0] in CODE else f"takeboard/{path}"


def test_the_package_list_names_every_package_of_the_tree():
    """pyproject lists the packages (the mapped `takeboard` rules out packages.find): a new
    subpackage that is not listed would be missing from the wheel."""
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {path.rsplit("/", 1)[0].replace("/", ".") for path in modules()}
    missing, gone = folders - set(listed["packages"]), set(listed["packages"]) - folders
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    assert gone == {"takeboard"}, f"remove {sorted(gone - {'takeboard'})} from pyproject.toml"


def test_the_wheel_holds_every_module_and_the_shipped_data(built: Built):
    names = wheel_names(built.wheel)
    expected = {in_wheel(path) for path in modules() | shipped_data()}
    assert len(checkout_files("workflows")) > 20
    assert expected - names == set()
    assert not [name for name in names if name.startswith(("tests/", "bench/"))]


def test_the_sdist_holds_the_sources_and_builds_the_same_wheel(built: Built, tmp_path: Path):
    names = sdist_names(built.sdist)
    assert modules() | shipped_data() | {"pyproject.toml", "README.md"} <= names
    assert not [name for name in names if name.startswith(("tests/", "bench/"))]
    with tarfile.open(built.sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    out = tmp_path / "dist"
    out.mkdir()
    assert wheel_names(_build(unpacked, out, "build_wheel")) == wheel_names(built.wheel)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed with pip into a folder of its own (no dependencies: the test
    environment's site-packages provides them)."""
    target = tmp_path_factory.mktemp("installed")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--disable-pip-version-check", "--target", str(target), str(built.wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return target


class Installed:
    """Runs Python on the installed wheel, from a folder that is not the checkout."""

    def __init__(self, target: Path, cwd: Path):
        self.target, self.cwd = target, cwd
        sites = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("TAKEBOARD_", "PYTHON"))}
        self.env = {**keep, "PYTHONPATH": os.pathsep.join((str(target), *sites))}

    def python(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`python -S …`: no site-packages .pth files, so no editable finder."""
        return subprocess.run(
            [sys.executable, "-S", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def takeboard(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The console script pip wrote for `takeboard.main:main`."""
        return self.python(str(self.target / "bin" / "takeboard"), *args, timeout=timeout)


@pytest.fixture
def run(installed: Path, tmp_path: Path) -> Installed:
    return Installed(installed, tmp_path)


WHERE = """import importlib.util, json, takeboard.main, executors.demo_server as demo
from core import shipped
paths = [shipped.shipped_root(), demo.__file__, takeboard.main.__file__]
print(json.dumps([importlib.util.find_spec("main") is None, *map(str, paths)]))"""


def test_the_installed_wheel_reads_its_own_files(run: Installed):
    where = run.python("-c", WHERE)
    assert where.returncode == 0, where.stderr
    no_checkout, *paths = json.loads(where.stdout)
    root, demo, entry = (Path(path) for path in paths)
    assert no_checkout  # the checkout's main.py is not on the path
    assert root == run.target / "takeboard" and (root / "config.json").is_file()
    assert demo.is_relative_to(run.target) and entry == root / "main.py"


def test_the_installed_takeboard_works_from_another_folder(run: Installed):
    home = str(run.cwd / "home")
    assert run.takeboard("--help").returncode == 0
    added = run.takeboard("--home", home, "prompt", "add", "--kind", "image", "--title", "Fox",
                          "--data", '{"prompt": "a red fox in snow"}')  # fmt: skip
    assert added.returncode == 0, added.stderr
    functions = run.takeboard("--home", home, "functions", "--json")
    assert functions.returncode == 0, functions.stderr
    kinds = {function["kind"] for function in json.loads(functions.stdout)}
    assert {"image", "audio", "video"} <= kinds
    made = run.takeboard("--home", home, "--demo", "generate", added.stdout.strip(), "--wait",
                         "--json", timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stderr
    (job,) = json.loads(made.stdout)
    assert job["status"] == "done" and Path(job["artifacts"][0]["path"]).is_file()


def test_an_editable_install_finds_the_checkout(tmp_path: Path):
    """The test environment is an editable install (.ci/setup: pip install -e .): the shipped
    files are the checkout's, and its console script runs from any folder."""
    assert importlib.util.find_spec("takeboard") is not None  # the editable finder maps it
    assert shipped.shipped_root() == ROOT
    script = Path(sys.executable).parent / "takeboard"
    done = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "--demo" in done.stdout, done.stderr
