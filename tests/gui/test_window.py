from app.window import SEARCH_DELAY_MS, MainWindow
from tests.gui.conftest import pump


def test_window_lists_prompts_and_searches(root, ctx):
    fox = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    song = ctx.prompts.add("audio", "Shanty", {"lyrics": "[verse]\nheave away"})
    window = MainWindow(root, ctx)
    pump(root)
    assert root.title() == "Takeboard"
    assert root.winfo_width() >= 1000 and root.winfo_height() >= 650
    assert window.tree.get_children() == (str(song.id), str(fox.id))
    assert window.tree.item(str(fox.id), "values")[:3] == ("image", "Fox", "draft")
    assert "2 prompts" in window.status.get()

    window.search.set("heave")
    pump(root, SEARCH_DELAY_MS + 100)
    assert window.tree.get_children() == (str(song.id),)
    assert "1 prompts" in window.status.get()


def test_selecting_a_prompt_shows_its_data(root, ctx):
    fox = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    window = MainWindow(root, ctx)
    pump(root)
    window.tree.selection_set(str(fox.id))
    pump(root)
    assert '"prompt": "a red fox"' in window.detail.get("1.0", "end")
