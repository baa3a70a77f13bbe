"""The window's prompt list with the real engine and the protocol test server: Ctrl+Enter keeps a
prompt's fixed seed and generates every selected prompt, rows stay put while jobs run, and the
selection actions (favorite, tag, delete) reach every selected prompt."""

from __future__ import annotations

from app import prompt_actions
from tests.gui.conftest import pump, pump_until


def titles(app) -> list[str]:
    tree = app.prompts.tree
    return [tree.set(slot, "title").removeprefix("★ ") for slot in tree.get_children()]


def select_rows(app, root, *rows: int) -> None:
    """A click on the first row, Ctrl-clicks on the others."""
    tree = app.prompts.tree
    for number, row in enumerate(rows):
        x, y, _w, h = tree.bbox(tree.get_children()[row], "title")
        modifier = "Control-" if number else ""
        tree.event_generate(f"<{modifier}ButtonPress-1>", x=x + 5, y=y + h // 2)
        tree.event_generate(f"<{modifier}ButtonRelease-1>", x=x + 5, y=y + h // 2)
    pump(root)


def test_ctrl_enter_keeps_the_fixed_seed_and_generates_every_selected(app, root, ctx):
    fixed = ctx.prompts.add("image", "Fixed", {"prompt": "a fox", "seed": 42})
    free = ctx.prompts.add("image", "Free", {"prompt": "a hare"})
    app.prompts.refresh()
    pump(root)
    select_rows(app, root, 0, 1)
    assert set(app.prompts.selected_ids()) == {fixed.id, free.id}
    root.focus_force()
    app.prompts.tree.focus_set()
    pump(root)
    app.prompts.tree.event_generate("<Control-Return>")
    assert pump_until(root, lambda: len(ctx.jobs.list()) == 2)  # queued on the bridge's worker
    (fixed_job,) = ctx.jobs.list(prompt_id=fixed.id)
    (free_job,) = ctx.jobs.list(prompt_id=free.id)
    assert fixed_job.spec.overrides == {}  # the prompt's seed 42 applies
    assert free_job.spec.overrides == {}
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(fixed.id)) == 1)
    (take,) = ctx.artifacts.for_prompt(fixed.id)
    assert take.metadata["seed"] == 42


def test_rows_stay_put_while_a_job_runs(app, root, ctx):
    ids = [ctx.prompts.add("image", f"P{n}", {"prompt": f"thing {n}"}).id for n in range(5)]
    app.prompts.refresh()
    pump(root)
    before = titles(app)
    assert before[:5] == ["P4", "P3", "P2", "P1", "P0"]
    select_rows(app, root, 4)
    app.generate_selected()
    assert pump_until(root, lambda: app.prompts.tree.set(_row(app, 4), "takes") == "1")
    assert titles(app) == before and app.prompts.selected_id() == ids[0]
    assert app.prompts.tree.set(_row(app, 4), "status") == "ready"


def _row(app, row: int) -> str:
    return app.prompts.tree.get_children()[row]


def test_favorite_tag_and_delete_act_on_every_selected(app, root, ctx, monkeypatch):
    ids = [ctx.prompts.add("image", f"P{n}", {"prompt": f"thing {n}"}).id for n in range(3)]
    app.prompts.refresh()
    pump(root)
    select_rows(app, root, 0, 2)
    chosen = app.prompts.selected_ids()
    assert sorted(chosen) == [ids[0], ids[2]]
    app.toggle_favorite(chosen)
    assert [ctx.prompts.get(i).favorite for i in ids] == [True, False, True]
    monkeypatch.setattr(prompt_actions.simpledialog, "askstring", lambda *a, **kw: " sea ")
    app.add_tag(chosen)
    assert [ctx.prompts.get(i).tags for i in ids] == [("sea",), (), ("sea",)]
    questions: list[str] = []
    app.confirm = lambda question: questions.append(question) or True
    app.prompts.tree.event_generate("<Delete>")
    pump(root)
    assert "these 2 prompts" in questions[0]
    assert [r.id for r in ctx.prompts.page()] == [ids[1]]
