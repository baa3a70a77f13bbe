"""Decoding real song files and playing them on miniaudio's null device (real time, no sound)."""

from __future__ import annotations

import sys

import pytest

from app import audio_player
from app.audio_player import NO_DEVICE_NOTE, AudioError, AudioPlayer, decode, open_device
from app.player_state import SAMPLE_RATE
from executors.demo_server.media import SAMPLES  # recorded from ComfyUI 0.3.64
from tests.audio_files import write_tone
from tests.waiting import wait_for


@pytest.fixture(autouse=True)
def null_device(monkeypatch):
    monkeypatch.setenv("TAKEBOARD_AUDIO", "null")


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("songs")
    return decode(write_tone(folder / "a.wav", 8.0)), decode(write_tone(folder / "b.wav", 6.0))


@pytest.fixture
def player():
    player = AudioPlayer()
    yield player
    player.close()


@pytest.mark.parametrize("name", ["c2_fx_flac.flac", "c2_fx_mp3.mp3", "c2_fx_opus.opus"])
def test_recorded_comfyui_songs_decode_to_the_players_format(name):
    audio = decode(SAMPLES / name)  # Opus goes through PyAV, the others through miniaudio
    assert audio.duration_s == pytest.approx(0.5, abs=0.03)
    assert len(audio.samples) == audio.frames * 2


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(AudioError, match=r"^gone\.flac is not there any more") as info:
        decode(tmp_path / "gone.flac")
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_audio_is_one_line_with_the_way_out(tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"not audio at all" * 100)
    with pytest.raises(AudioError, match="(could not be decoded|holds no sound) .* system player"):
        decode(bad)


def test_opus_without_pyav_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # as if the `video` extra were not installed
    with pytest.raises(AudioError, match=r"needs PyAV — install it \(pip install 'takeboard\["):
        decode(SAMPLES / "c2_fx_opus.opus")


def test_the_null_backend_is_picked_by_the_environment():
    device, note = open_device()
    try:
        assert device.backend == "Null" and note == ""
    finally:
        device.close()


def test_without_the_override_a_missing_sound_card_falls_back_to_the_null_device(monkeypatch):
    monkeypatch.delenv("TAKEBOARD_AUDIO")
    for _ in range(2):  # the second time without trying the missing card again
        device, note = open_device()
        try:  # a machine with a sound card opens it; one without plays silently and says so
            assert (device.backend == "Null") == (note == NO_DEVICE_NOTE)
            assert audio_player._NO_OUTPUT.is_set() == (note == NO_DEVICE_NOTE)
        finally:
            device.close()


def test_playing_moves_the_playhead_in_real_time(player, songs):
    player.load(songs[0])
    player.play()
    assert wait_for(lambda: player.position_s > 0.3, 5)
    assert player.playing and player.device_name == "Null"
    assert player.note == "" and player.error == ""


def test_pause_holds_the_playhead_while_the_device_goes_on(player, songs):
    player.load(songs[0])
    player.play()
    assert wait_for(lambda: player.position_s > 0.1, 5)
    player.pause()
    held, pulls = player.position_s, player.pulls
    assert wait_for(lambda: player.pulls >= pulls + 3, 5)  # the device asked for more, got silence
    assert player.position_s == held and not player.playing


def test_a_seek_while_playing_lands_and_goes_on(player, songs):
    player.load(songs[0])
    player.play()
    assert wait_for(lambda: player.position_s > 0.1, 5)
    player.seek(5.0)
    assert 5.0 <= player.position_s < 5.5
    assert wait_for(lambda: player.position_s > 5.2, 5)


def test_a_b_switch_plays_the_other_take_from_the_same_place(player, songs):
    other = AudioPlayer()
    try:
        player.load(songs[0])
        other.load(songs[1])
        player.play_from(3.0)
        assert wait_for(lambda: player.position_s > 3.1, 5)
        player.pause()
        at = player.position_s
        other.play_from(at)
        assert other.playing and other.position_s == at
        assert wait_for(lambda: other.position_s > at + 0.1, 5)
        assert player.position_s == at
    finally:
        other.close()


def test_the_end_of_a_take_stops_playing(player, songs):
    player.load(songs[1])
    player.seek(5.8)
    player.play()
    assert wait_for(lambda: not player.playing, 5)
    assert player.position_s * SAMPLE_RATE == songs[1].frames
