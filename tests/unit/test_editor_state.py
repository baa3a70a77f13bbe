"""The editor's plain logic: conversions per field type and kind, error → field, dirty tracking."""

from __future__ import annotations

import pytest

from app.editor_state import (
    EditorState,
    check_form,
    data_to_values,
    default_values,
    error_field,
    error_text,
    form_fields,
    json_to_values,
    parse_float,
    parse_int,
    split_list,
    values_to_data,
    values_to_json,
)
from core.errors import InputError
from core.models import QUALITY_TIERS, SCHEMAS, MediaKind, PromptRecord, validate_data

WIDGETS = {
    MediaKind.IMAGE: {
        "prompt": "long",
        "negative_prompt": "long",
        "aspect_ratio": "text",
        "quality": "choice",
        "style_tags": "list",
        "seed": "int",
        "reference_image": "file",
        "function": "function",
        "params": "json",
    },
    MediaKind.AUDIO: {
        "task": "choice",
        "title": "text",
        "lyrics": "long",
        "prompt": "long",
        "source_audio": "file",
        "tags": "list",
        "tempo": "int",
        "key": "text",
        "time_signature": "text",
        "duration_s": "float",
        "quality": "choice",
        "seed": "int",
        "function": "function",
        "params": "json",
    },
    MediaKind.VIDEO: {
        "prompt": "long",
        "negative_prompt": "long",
        "duration_s": "float",
        "frames": "int",
        "fps": "int",
        "resolution": "text",
        "quality": "choice",
        "start_image": "file",
        "lora": "text",
        "seed": "int",
        "function": "function",
        "params": "json",
    },
}

# Every field of every kind set, as the form shows it and as typed data.
FULL = {
    MediaKind.IMAGE: (
        {
            "prompt": "a red fox",
            "negative_prompt": "blurry",
            "aspect_ratio": "16:9",
            "quality": "high",
            "style_tags": "ink, moody",
            "seed": "42",
            "reference_image": "refs/fox.png",
            "function": "my_flux",
            "params": '{"style": "ink"}',
        },
        {
            "prompt": "a red fox",
            "negative_prompt": "blurry",
            "aspect_ratio": "16:9",
            "quality": "high",
            "style_tags": ["ink", "moody"],
            "seed": 42,
            "reference_image": "refs/fox.png",
            "function": "my_flux",
            "params": {"style": "ink"},
        },
    ),
    MediaKind.AUDIO: (
        {
            "task": "song",
            "title": "Night drive",
            "lyrics": "[verse]\nla la\n[chorus]\noh",
            "prompt": "engine hum under the beat",
            "source_audio": "takes/voice.wav",
            "tags": "synthwave, 80s",
            "tempo": "120",
            "key": "F# minor",
            "time_signature": "3/4",
            "duration_s": "90.5",
            "quality": "premium",
            "seed": "7",
            "function": "my_flux",
            "params": '{"cfg": 3}',
        },
        {
            "task": "song",
            "title": "Night drive",
            "lyrics": "[verse]\nla la\n[chorus]\noh",
            "prompt": "engine hum under the beat",
            "source_audio": "takes/voice.wav",
            "tags": ["synthwave", "80s"],
            "tempo": 120,
            "key": "F# minor",
            "time_signature": "3/4",
            "duration_s": 90.5,
            "quality": "premium",
            "seed": 7,
            "function": "my_flux",
            "params": {"cfg": 3},
        },
    ),
    MediaKind.VIDEO: (
        {
            "prompt": "waves at dusk",
            "negative_prompt": "text",
            "duration_s": "",
            "frames": "81",
            "fps": "24",
            "resolution": "1280x720",
            "quality": "low",
            "start_image": "start.png",
            "lora": "fox_style.safetensors",
            "seed": "0",
            "function": "my_flux",
            "params": "",
        },
        {
            "prompt": "waves at dusk",
            "negative_prompt": "text",
            "frames": 81,
            "fps": 24,
            "resolution": "1280x720",
            "quality": "low",
            "start_image": "start.png",
            "lora": "fox_style.safetensors",
            "seed": 0,
            "function": "my_flux",
        },
    ),
}


@pytest.mark.parametrize("kind", list(MediaKind))
def test_form_follows_the_schema(kind: MediaKind) -> None:
    fields = form_fields(kind)
    assert [f.name for f in fields] == list(SCHEMAS[kind])
    assert {f.name: f.widget for f in fields} == WIDGETS[kind]
    assert [f.name for f in fields if f.required] == [
        n for n, spec in SCHEMAS[kind].items() if spec.required
    ]
    assert next(f for f in fields if f.name == "quality").choices == QUALITY_TIERS


def test_lyrics_carry_the_verse_chorus_hint_and_numbers_their_range() -> None:
    fields = {f.name: f for f in form_fields("audio")}
    assert "[verse]" in fields["lyrics"].hint and "[chorus]" in fields["lyrics"].hint
    assert fields["tempo"].hint == "20…300"
    assert fields["key"].hint == "e.g. F# minor"


@pytest.mark.parametrize("kind", list(MediaKind))
def test_every_field_converts_both_ways(kind: MediaKind) -> None:
    values, data = FULL[kind]
    assert values_to_data(kind, values) == data
    assert data_to_values(kind, data) == values
    validate_data(kind, data)  # the typed data is what the schema accepts


@pytest.mark.parametrize("kind", list(MediaKind))
def test_defaults_fill_a_new_form_and_empty_fields_are_left_out(kind: MediaKind) -> None:
    values = default_values(kind)
    assert set(values) == set(SCHEMAS[kind])
    assert values["quality"] == "standard"
    data = values_to_data(kind, values)
    required = [n for n, spec in SCHEMAS[kind].items() if spec.required]
    assert all(value not in ("", None, [], {}) for n, value in data.items() if n not in required)
    assert all(data[name] == "" for name in required)  # kept, so the error says "is empty"


def test_number_parsing() -> None:
    assert parse_int("") is None and parse_int("  ") is None
    assert parse_int(" 12 ") == 12
    assert parse_int("fast") == "fast"  # left as text: validation names the field
    assert parse_int("1.5") == "1.5"
    assert parse_float("60") == 60 and isinstance(parse_float("60"), int)
    assert parse_float("1.5") == 1.5
    assert parse_float("") is None
    assert parse_float("nan") == "nan" and parse_float("inf") == "inf"
    assert parse_float("abc") == "abc"


def test_lists_split_on_commas() -> None:
    assert split_list("1, 2") == ["1", "2"]
    assert split_list(" a,, b ,") == ["a", "b"]
    assert split_list("") == []
    assert values_to_data("image", {"prompt": "p", "style_tags": " , "}) == {"prompt": "p"}


def test_optional_numbers_and_texts_empty_means_not_given() -> None:
    data = values_to_data("video", {"prompt": "p", "duration_s": "", "frames": " ", "seed": ""})
    assert data == {"prompt": "p"}
    assert validate_data("video", data)["frames"] is None


def test_float_that_is_whole_shows_without_decimals() -> None:
    assert data_to_values("audio", {"duration_s": 60.0})["duration_s"] == "60"
    assert data_to_values("audio", {"params": {}})["params"] == ""


@pytest.mark.parametrize(
    ("kind", "values", "key", "words"),
    [
        ("audio", {"lyrics": "x", "tempo": "fast"}, "data.tempo", "whole number"),
        ("audio", {"lyrics": "x", "tempo": "500"}, "data.tempo", "out of range"),
        ("audio", {"lyrics": "x", "duration_s": "long"}, "data.duration_s", "expected a number"),
        ("audio", {"lyrics": "  "}, "data.lyrics", "a song prompt needs 'lyrics'"),
        ("audio", {"task": "sfx"}, "data.prompt", "a sfx prompt needs 'prompt'"),
        ("audio", {"lyrics": "x", "key": "H"}, "data.key", "not valid"),
        ("image", {"prompt": ""}, "data.prompt", "is empty"),
        ("image", {"prompt": "p", "quality": "ultra"}, "data.quality", "unknown value"),
        ("image", {"prompt": "p", "params": "{bad"}, "data.params", "expected an object"),
        ("image", {"prompt": "p", "seed": "-1"}, "data.seed", "out of range"),
        ("video", {"prompt": "p", "frames": "8", "duration_s": "2"}, "data.frames", "both"),
        ("video", {"prompt": "p", "resolution": "big"}, "data.resolution", "not valid"),
    ],
)
def test_bad_values_are_reported_at_their_field(kind, values, key, words) -> None:
    checked = check_form(kind, "A title", "", values)
    assert not checked.ok
    assert list(checked.errors) == [key]
    assert words in checked.errors[key]


def test_record_fields_are_checked_too() -> None:
    checked = check_form("image", "  ", "a, b, a", {"prompt": "p"})
    assert list(checked.errors) == ["title"]
    good = check_form("image", " Fox ", "a, b, a", {"prompt": "p"})
    assert good.ok and good.title == "Fox" and good.tags == ("a", "b")
    assert good.data["quality"] == "standard"


def test_error_field_parses_the_path() -> None:
    assert error_field("data.tempo: expected a whole number — give 20…300") == "data.tempo"
    assert error_field("data.negative_prompt: is empty — fix") == "data.negative_prompt"
    assert error_field("title: is empty — give a non-empty text") == "title"
    assert error_field("tags: expected a list of texts") == "tags"
    assert error_field("data: expected a JSON object") == "data"
    assert error_field("prompt 3 not found") is None
    assert error_text("data.tempo: out of range — give 20…300") == "out of range — give 20…300"
    assert error_text("no path here") == "no path here"


def test_json_round_trip_and_errors_with_line_and_column() -> None:
    values, data = FULL[MediaKind.AUDIO]
    text = values_to_json("audio", values)
    assert json_to_values("audio", text) == values
    assert json_to_values("audio", "") == default_values("audio") | {
        "task": "",
        "time_signature": "",
        "duration_s": "",
        "quality": "",
    }
    with pytest.raises(InputError, match=r"line 3, column 1"):
        json_to_values("image", '{\n  "prompt": "x",\n}')
    with pytest.raises(InputError, match="expected an object"):
        json_to_values("image", "[1]")
    with pytest.raises(InputError, match="unknown field 'lyrics'"):
        json_to_values("image", '{"lyrics": "x"}')
    # a wrong type survives the trip, so validation still names the field
    assert json_to_values("audio", '{"tempo": "fast"}')["tempo"] == "fast"


def test_dirty_tracking() -> None:
    state = EditorState.new("image")
    assert not state.dirty
    state.values["prompt"] = "a fox"
    assert state.dirty
    state.values["prompt"] = ""
    assert not state.dirty
    state.values["seed"] = " "  # same data as empty
    assert not state.dirty
    state.favorite = True
    assert state.dirty
    state.mark_clean()
    assert not state.dirty
    state.title = "x"
    assert state.dirty


def test_loaded_record_is_clean_and_duplicate_is_dirty() -> None:
    record = PromptRecord(
        5, MediaKind.AUDIO, "Song", {"lyrics": "[verse] hi", "tempo": 90}, tags=("a", "b")
    )
    state = EditorState.from_record(record)
    assert (state.prompt_id, state.title, state.tags) == (5, "Song", "a, b")
    assert state.values["tempo"] == "90" and state.values["lyrics"] == "[verse] hi"
    assert not state.dirty
    state.duplicate()
    assert state.prompt_id is None and state.title == "Song (copy)"
    assert state.dirty


def test_errors_show_for_touched_fields_or_after_save() -> None:
    state = EditorState.new(MediaKind.IMAGE)
    errors = state.check().errors
    assert {"title", "data.prompt"} <= set(errors)
    assert state.shown_errors(errors) == {}  # untouched: nothing red
    assert not state.edit("", "", False, dict(state.values))  # the same texts: no edit
    values = {**state.values, "prompt": "   "}
    assert state.edit("", "", False, values)
    assert state.touched == {"data.prompt"}
    assert set(state.shown_errors(state.check().errors)) == {"data.prompt"}
    state.submitted = True
    assert state.shown_errors(errors) == errors
