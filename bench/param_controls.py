"""Tk-thread cost of the editor's parameter controls: building the panel for an imported
function (the flux checkpoint example: 11 controls, two 42/9-choice dropdowns, an Advanced
expander) and one control edit round trip (params text written, validated). Prints figures.

Run under a display: xvfb-run -a .venv/bin/python bench/param_controls.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tkinter as tk
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.param_controls_state import FunctionCatalog  # noqa: E402
from app.views.param_controls import ParamControls  # noqa: E402
from core.models import MediaKind  # noqa: E402
from executors.templates import load_templates, template_dirs  # noqa: E402
from executors.workflow_import.catalog import ObjectInfo, core_catalog  # noqa: E402
from executors.workflow_import.importer import ImportOptions, import_workflow  # noqa: E402

FLUX = Path(__file__).resolve().parent.parent / (
    "tests/data/workflows/api/examples_flux_flux_dev_checkpoint_example.json"
)
ROUNDS = 30


def main() -> None:
    home = Path(tempfile.mkdtemp())
    import_workflow(FLUX, home, ImportOptions(function="my_flux"), ObjectInfo(core_catalog(), None))
    catalog = FunctionCatalog()
    started = time.perf_counter()
    catalog.build(load_templates(template_dirs(home)), dict)
    print(f"catalog build (worker thread): {1000 * (time.perf_counter() - started):.1f} ms")
    root = tk.Tk()
    panel = ParamControls(root, catalog, lambda params: None)
    panel.grid()
    callbacks, edits = [], []
    for n in range(ROUNDS):
        panel.show(MediaKind.IMAGE, {"function": "", "params": ""})
        callbacks.append(_timed(lambda: panel.show(MediaKind.IMAGE, {"function": "my_flux"})))
        while panel.building:  # each Tk callback that adds rows, timed on its own
            callbacks.append(_timed(lambda: root.tk.dooneevent(0)))
        panel.inputs["steps"].widget.set(str(10 + n))
        edits.append(_timed(lambda: panel.show(MediaKind.IMAGE, {"function": "my_flux"})))
    root.destroy()
    print(
        f"panel of {len(panel.controls)} controls, {ROUNDS} builds: Tk callbacks median "
        f"{_ms(callbacks)}, max {_ms([max(callbacks)])}; control edit + refill median "
        f"{_ms(edits)}, max {_ms([max(edits)])}"
    )


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.1f} ms"


if __name__ == "__main__":
    main()
