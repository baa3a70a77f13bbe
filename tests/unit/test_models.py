import pytest

from core.errors import InputError
from core.models import (
    MediaKind,
    image_size,
    search_text,
    template_values,
    validate_data,
    validate_tags,
    validate_title,
    video_frames,
)

IMAGE = {"prompt": "a red fox in snow"}
AUDIO = {"lyrics": "[verse]\nyo ho\n[chorus]\nheave", "tags": ["folk", "sea shanty"]}
VIDEO = {"prompt": "waves at night"}


def test_image_defaults_are_filled_in():
    data = validate_data("image", IMAGE)
    assert data == {
        "prompt": "a red fox in snow",
        "negative_prompt": "",
        "aspect_ratio": "1:1",
        "quality": "standard",
        "style_tags": [],
        "seed": None,
        "reference_image": None,
        "function": None,
        "params": {},
    }


def test_audio_and_video_defaults():
    audio = validate_data(MediaKind.AUDIO, AUDIO)
    assert audio["time_signature"] == "4/4" and audio["duration_s"] == 60
    video = validate_data("video", VIDEO)
    assert video["fps"] == 16 and video["resolution"] == "832x480"


@pytest.mark.parametrize(
    ("kind", "data", "field", "words"),
    [
        ("image", {}, "data.prompt", "required"),
        ("image", {"prompt": "   "}, "data.prompt", "empty"),
        ("image", {"prompt": 5}, "data.prompt", "expected text"),
        ("image", {**IMAGE, "negative_prompt": ["x"]}, "data.negative_prompt", "expected text"),
        ("image", {**IMAGE, "aspect_ratio": "wide"}, "data.aspect_ratio", "16:9"),
        ("image", {**IMAGE, "quality": "ultra"}, "data.quality", "low, standard, high, premium"),
        ("image", {**IMAGE, "style_tags": "ink"}, "data.style_tags", "list of texts"),
        ("image", {**IMAGE, "seed": -1}, "data.seed", "out of range"),
        ("image", {**IMAGE, "seed": 2**64}, "data.seed", "out of range"),
        ("image", {**IMAGE, "seed": 1.5}, "data.seed", "whole number"),
        ("image", {**IMAGE, "seed": True}, "data.seed", "whole number"),
        ("image", {**IMAGE, "reference_image": ""}, "data.reference_image", "empty"),
        ("image", {**IMAGE, "params": []}, "data.params", "object"),
        ("image", {**IMAGE, "promt": "x"}, "data.promt", "did you mean 'prompt'"),
        ("image", {**IMAGE, "zzz": 1}, "data.zzz", "known:"),
        ("audio", {"tags": ["x"]}, "data.lyrics", "required"),
        ("audio", {**AUDIO, "tags": [1]}, "data.tags", "list of texts"),
        ("audio", {**AUDIO, "tempo": 10}, "data.tempo", "20 to 300"),
        ("audio", {**AUDIO, "tempo": "fast"}, "data.tempo", "whole number"),
        ("audio", {**AUDIO, "key": "H minor"}, "data.key", "F# minor"),
        ("audio", {**AUDIO, "time_signature": "4-4"}, "data.time_signature", "4/4"),
        ("audio", {**AUDIO, "duration_s": 0}, "data.duration_s", "out of range"),
        ("audio", {**AUDIO, "duration_s": float("nan")}, "data.duration_s", "expected a number"),
        ("audio", {**AUDIO, "title": 3}, "data.title", "expected text"),
        ("video", {}, "data.prompt", "required"),
        ("video", {**VIDEO, "fps": 0}, "data.fps", "out of range"),
        ("video", {**VIDEO, "frames": 0}, "data.frames", "out of range"),
        ("video", {**VIDEO, "resolution": "big"}, "data.resolution", "832x480"),
        ("video", {**VIDEO, "duration_s": 2, "frames": 33}, "data.frames", "only one"),
        ("video", {**VIDEO, "start_image": 7}, "data.start_image", "expected text"),
    ],
)
def test_bad_field_names_the_field_and_the_fix(kind, data, field, words):
    with pytest.raises(InputError) as caught:
        validate_data(kind, data)
    message = str(caught.value)
    assert message.startswith(field + ":"), message
    assert words in message
    assert " — " in message  # what happened — what to do


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_data_must_be_an_object(data):
    with pytest.raises(InputError, match="data: expected a JSON object"):
        validate_data("image", data)


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(InputError, match="kind: unknown value 'imag' — use one of: image, audio"):
        validate_data("imag", IMAGE)


def test_key_and_text_normalisation():
    data = validate_data("audio", {**AUDIO, "key": " F# minor ", "tempo": 120})
    assert data["key"] == "F# minor" and data["tempo"] == 120
    assert validate_data("image", {**IMAGE, "style_tags": [" ink ", ""]})["style_tags"] == ["ink"]


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("16:9", (1344, 768)),
        ("9:16", (768, 1344)),
        ("3:2", (1280, 832)),
    ],
)
def test_image_size_keeps_about_a_megapixel(ratio, size):
    assert image_size(ratio) == size


def test_image_size_refuses_zero_side():
    with pytest.raises(InputError, match="zero side"):
        image_size("0:9")


def test_video_frames_from_seconds_or_given():
    assert video_frames({"frames": None, "duration_s": None, "fps": 16}) == 81
    assert video_frames({"frames": None, "duration_s": 2, "fps": 24}) == 49
    assert video_frames({"frames": 33, "duration_s": None, "fps": 16}) == 33


def test_template_values_compute_sizes_and_join_tags():
    image = template_values(
        MediaKind.IMAGE,
        validate_data(
            "image",
            {
                **IMAGE,
                "aspect_ratio": "16:9",
                "style_tags": ["ink", "moody"],
                "params": {"style": "ink"},
            },
        ),
    )
    assert (image["width"], image["height"]) == (1344, 768)
    assert image["style_tags"] == "ink, moody" and image["style"] == "ink"
    audio = template_values(MediaKind.AUDIO, validate_data("audio", AUDIO))
    assert audio["tags"] == "folk, sea shanty"
    video = template_values(MediaKind.VIDEO, validate_data("video", {**VIDEO, "frames": 49}))
    assert (video["width"], video["height"], video["frames"], video["duration_s"]) == (
        832,
        480,
        49,
        3.0,
    )


def test_search_text_covers_prompt_words_lyrics_and_tags():
    assert "sea shanty" in search_text(MediaKind.AUDIO, validate_data("audio", AUDIO))
    image = validate_data("image", {**IMAGE, "style_tags": ["ink"], "negative_prompt": "blur"})
    assert search_text(MediaKind.IMAGE, image).split("\n") == ["a red fox in snow", "blur", "ink"]


def test_title_and_tags():
    assert validate_title("  Fox ") == "Fox"
    with pytest.raises(InputError, match="title: is empty"):
        validate_title(" ")
    with pytest.raises(InputError, match="title: expected text"):
        validate_title(None)
    assert validate_tags(["a", "b", "a"]) == ("a", "b")
    with pytest.raises(InputError, match="tags:"):
        validate_tags("a")


def test_a_prompt_may_name_its_function():
    assert validate_data("image", {**IMAGE, "function": " my_flux "})["function"] == "my_flux"
    with pytest.raises(InputError, match=r"data.function: 'My Flux' is not valid"):
        validate_data("audio", {**AUDIO, "function": "My Flux"})
    values = template_values(MediaKind.VIDEO, validate_data("video", {**VIDEO, "function": "v"}))
    assert "function" not in values  # it picks the template; it is no template value
