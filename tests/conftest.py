"""Shared fixtures: a fresh data home and the repositories over a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import Context
from core.config import load_config
from main import build_context, main
from repositories.database import Database

pytest_plugins = ["tests.comfyui_server.fixtures", "tests.runcomfy_server"]

DATA = Path(__file__).parent / "data"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data home; TAKEBOARD_* variables from the outer environment are removed."""
    for name in ("TAKEBOARD_HOME", "TAKEBOARD_COMFYUI_URL", "TAKEBOARD_ALLOW_ONLINE"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def database(home: Path):
    db = Database(home / "takeboard.db")
    yield db
    db.close()


@pytest.fixture
def ctx(home: Path, database: Database) -> Context:
    """The repositories and the engine API over `database`, as main.py wires them."""
    return build_context(load_config(home, env={}), database)


class Cli:
    """Runs `main.main` in-process against one home; returns (exit code, stdout, stderr)."""

    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]):
        self.home, self.capsys = home, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--home", str(self.home), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str):
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def configure(self, **config) -> None:
        """Write the home's config.json (replacing any earlier one)."""
        (self.home / "config.json").write_text(json.dumps(config))

    def add_prompt(self, kind: str, data: dict, title: str = "t") -> str:
        """Store a prompt through `prompt add`; its id."""
        code, out, err = self("prompt", "add", "--kind", kind, "--title", title, "--data",
                              json.dumps(data))  # fmt: skip
        assert code == 0, err
        return out.strip()


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(home, capsys)
