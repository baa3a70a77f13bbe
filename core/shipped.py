"""Where the shipped config.json and the bundled workflows/ are.

They are package data of the `takeboard` package: pyproject maps it onto the project's root
(main.py, config.json, workflows/), so a wheel installs them as site-packages/takeboard/… and
importlib.resources reads them there. In an editable install setuptools' finder maps `takeboard`
onto the checkout, which importlib.resources cannot open on Python 3.11 (a namespace path with
a placeholder entry): the finder's first real folder is the checkout itself. A bare checkout
(no install) is the same folder.
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def shipped_root() -> Path:
    """The folder holding the shipped config.json and workflows/."""
    try:
        config = importlib.resources.files("takeboard").joinpath("config.json")
    except ModuleNotFoundError:  # run from a checkout that was never installed
        return CHECKOUT_ROOT
    except NotADirectoryError:  # an editable install (see the module docstring)
        return _first_folder("takeboard")
    return Path(str(config)).parent


def _first_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    folders = spec.submodule_search_locations if spec else None
    return next((Path(p) for p in folders or () if Path(p).is_dir()), CHECKOUT_ROOT)


def shipped_config() -> Path:
    return shipped_root() / "config.json"


def bundled_workflows() -> Path:
    return shipped_root() / "workflows"
