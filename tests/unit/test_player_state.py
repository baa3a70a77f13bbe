"""The player's decisions (app/player_state.py) over real decoded takes, without a device."""

from __future__ import annotations

import pytest

from app.audio_player import decode
from app.player_state import (
    SAMPLE_RATE,
    Peaks,
    PlayerState,
    clock,
    compute_peaks,
    fit_peaks,
    seconds_to_x,
    waveform_outline,
    x_to_seconds,
)
from tests.audio_files import write_tone


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return decode(write_tone(tmp_path_factory.mktemp("songs") / "song.wav", 3.0))


def test_a_decoded_take_has_its_length_in_the_players_rate(song):
    state = PlayerState(song.frames)
    assert state.frames == 3 * SAMPLE_RATE
    assert state.duration_s == pytest.approx(3.0)


def test_play_pause_and_toggle(song):
    state = PlayerState(song.frames)
    state.play()
    assert state.playing
    state.pause()
    assert not state.playing
    state.toggle()
    assert state.playing


def test_advance_moves_the_playhead_only_while_playing(song):
    state = PlayerState(song.frames)
    assert state.advance(1000) == (0, 0)
    state.play()
    assert state.advance(1000) == (0, 1000)
    assert state.advance(500) == (1000, 500)
    state.pause()
    assert state.advance(500) == (1500, 0)
    assert state.position == 1500


def test_playing_to_the_end_stops_there_and_play_starts_again_from_the_top(song):
    state = PlayerState(song.frames)
    state.seek(2.99)
    state.play()
    start, count = state.advance(SAMPLE_RATE)
    assert start + count == song.frames
    assert not state.playing and state.position == song.frames
    state.play()
    assert state.playing and state.position == 0


def test_seek_clamps_to_the_take(song):
    state = PlayerState(song.frames)
    state.seek(1.5)
    assert state.position_s == pytest.approx(1.5)
    state.seek_by(-5)
    assert state.position == 0
    state.seek_by(+5)
    assert state.position == song.frames
    state.seek(-1)
    assert state.position == 0


def test_seek_while_playing_goes_on_playing_from_there(song):
    state = PlayerState(song.frames)
    state.play()
    state.seek(2.0)
    assert state.advance(100) == (2 * SAMPLE_RATE, 100)


def test_a_b_switch_starts_the_other_take_where_this_one_is(song, tmp_path):
    other = decode(write_tone(tmp_path / "b.wav", 2.0, hz=330))
    playing, switched_to = PlayerState(song.frames), PlayerState(other.frames)
    playing.seek(1.25)
    playing.play()
    playing.advance(SAMPLE_RATE // 4)
    playing.pause()
    switched_to.play_from(playing.position_s)
    assert switched_to.playing and switched_to.position_s == pytest.approx(1.5)


def test_a_b_switch_past_the_end_of_the_shorter_take_stays_at_its_end(song, tmp_path):
    other = decode(write_tone(tmp_path / "b.wav", 2.0, hz=330))
    state = PlayerState(other.frames)
    state.play_from(2.5)
    assert state.position == other.frames and not state.playing


def test_an_empty_take_does_not_play():
    state = PlayerState(0)
    state.play()
    assert not state.playing


def test_peaks_follow_the_loudness_of_the_take(song):
    peaks = compute_peaks(song.samples, buckets=100)
    assert len(peaks.highs) == len(peaks.lows) == 100
    assert peaks.highs[0] < 0.05 < 0.9 < peaks.highs[-1]  # the tone rises from silence
    assert peaks.lows[-1] < -0.9
    assert all(low <= high for low, high in zip(peaks.lows, peaks.highs, strict=True))


def test_peaks_fit_any_width_keeping_the_extremes(song):
    peaks = compute_peaks(song.samples, buckets=100)
    assert len(fit_peaks(peaks, 37)) == 37
    assert len(fit_peaks(peaks, 400)) == 400
    assert max(high for _low, high in fit_peaks(peaks, 37)) == max(peaks.highs)
    assert fit_peaks(Peaks((), ()), 100) == []


def test_waveform_outline_is_a_closed_band_inside_the_canvas():
    peaks = Peaks(lows=(-1.0, -0.5), highs=(1.0, 0.5))
    coords = waveform_outline(peaks, width=4, height=20)
    ys = coords[1::2]
    assert len(coords) == 4 * 2 * 2
    assert min(ys) >= 0 and max(ys) <= 20
    assert coords[1] < 10 < coords[-1]  # column 0: above the middle, then below


def test_pixels_and_seconds_map_both_ways():
    assert seconds_to_x(30, 60, 101) == 50
    assert x_to_seconds(50, 101, 60) == 30
    assert x_to_seconds(-20, 101, 60) == 0
    assert x_to_seconds(500, 101, 60) == 60
    assert seconds_to_x(5, 0, 100) == 0


def test_clock():
    assert clock(0) == "0:00"
    assert clock(65.9) == "1:05"
    assert clock(-3) == "0:00"
