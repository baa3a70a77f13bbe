"""A video take in the gallery: its poster shows, and right-click offers to play it in the
system's player (the viewer's button says the same)."""

from __future__ import annotations

import shutil

from app.views.gallery import TakesGallery
from executors.demo_server.media import SAMPLES  # recorded from ComfyUI 0.3.64
from tests.gui.conftest import pump
from tests.gui.test_gallery_queue_status import Recorder, png, tile_centre, wait_for


def right_click(gallery: TakesGallery, artifact_id: int) -> None:
    x, y = tile_centre(gallery, artifact_id)
    gallery.canvas.event_generate("<Button-3>", x=x, y=y)


def test_right_click_on_a_video_offers_play_in_system_player(root, ctx, home):
    prompt = ctx.prompts.add("image", "Waves", {"prompt": "waves"})
    (home / "takes").mkdir()
    shutil.copy(SAMPLES / "c1_fx_vid_h264.mp4", home / "takes/clip.mp4")
    png(home / "previews/clip.jpg", "teal")
    png(home / "takes/still.png", "red")
    add = ctx.artifacts.add
    clip = add(prompt_id=prompt.id, kind="video", path="takes/clip.mp4", sha256="v", size=1,
               preview_path="previews/clip.jpg", metadata={})  # fmt: skip
    still = add(prompt_id=prompt.id, kind="image", path="takes/still.png", sha256="i", size=1,
                preview_path=None, metadata={})  # fmt: skip
    actions = Recorder()
    gallery = TakesGallery(root, ctx.artifacts, home, actions)
    gallery.pack(fill="both", expand=True)
    root.geometry("900x600")
    pump(root)
    gallery.show_prompt(prompt.id)
    wait_for(root, lambda: gallery.canvas.find_withtag(f"a{clip.id}&&thumb"))  # the poster
    gallery.post_menu = lambda x_root, y_root: None

    right_click(gallery, clip.id)
    assert gallery.menu.entrycget(0, "label") == "Play in system player"
    gallery.menu.invoke(0)
    assert actions.calls == [("open_file", home / "takes/clip.mp4")]

    right_click(gallery, still.id)
    assert gallery.menu.entrycget(0, "label") == "Open"
