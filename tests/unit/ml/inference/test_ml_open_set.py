"""Domain refusal, ``unknown`` verdicts, no alarm on unknown, explanations (issue 12).

Uses the shipped ``fault-cwru`` (its card carries the domain and open-set calibration)
and the real held-out CWRU excerpts of tests/fixtures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import add_commands
from desktop.core.errors import InputError
from desktop.ml.inference.explain import deletion_test, explain_windows
from desktop.ml.inference.live import AlarmHysteresis, LiveInference
from desktop.ml.inference.open_set import (
    NO_SIGNAL,
    OUT_OF_BAND,
    UNKNOWN,
    band_share,
    check_rate,
)
from desktop.ml.inference.predictors import WindowVerdict, load_predictor
from desktop.ml.training.open_set import FAMILIES, synthetic_ood

#: the model commands of ``linewatch`` (predict, calibrate, train, models)
ML_COMMANDS = ("predict", "calibrate", "train", "models")

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "cwru_excerpt.npz"


@pytest.fixture(scope="module")
def excerpts() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k].astype(np.float64) for k in z.files}


@pytest.fixture(scope="module")
def model():
    return load_predictor("fault-cwru", device="cpu", threads=1)


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)
    args = parser.parse_args(argv)
    return args.func(args)


def test_card_states_its_domain(model) -> None:
    d = model.card.domain
    lo, hi = d["band_hz"]
    assert 0 <= lo < hi <= 6000
    assert d["sample_rate_hz"]["min"] == 2 * hi
    assert "g" in d["units"] and "accelerometer" in d["channel_kind"]
    assert d["ood"]["energy_threshold"] is not None and d["ood"]["density"]["n_bands"] == 10
    assert model.card.metrics["open_set"]["in_domain_unknown_share"]["clean"] <= 0.01


def test_rate_below_the_band_is_refused_unless_forced(model, tmp_path, capsys) -> None:
    assert check_rate(model.card.domain, 12000.0, "m") is None
    why = check_rate(model.card.domain, 100.0, "fault-cwru")
    assert why is not None and "Nyquist 50 Hz" in why and "--force" in why
    # a 100 Hz temperature log, as in the issue: two channels, the first is taken
    rng = np.random.default_rng(0)
    t = np.arange(3000) / 100.0
    temp = 40 + np.cumsum(rng.standard_normal(t.size)) * 0.02
    path = tmp_path / "temperature.csv"
    np.savetxt(path, np.column_stack([t, temp, temp + 1]), delimiter=",",
               header="time,temp_a,temp_b", comments="")
    with pytest.raises(InputError, match="Nyquist"):
        _cli(["predict", str(path)])
    err = capsys.readouterr().err
    assert "channel temp_a" in err  # which channel it took, and why
    assert _cli(["predict", str(path), "--force", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "judged because of --force" in captured.err
    assert doc["windows"] and all(w["class"] == UNKNOWN for w in doc["windows"])
    assert {w["unknown_reason"] for w in doc["windows"]} <= {OUT_OF_BAND, NO_SIGNAL}


def test_flat_and_slow_signals_are_unknown_with_a_reason(model) -> None:
    flat = np.full(2048 * 4, 0.37)
    v = model.predict_signal(flat, 12000.0)
    assert all(w.label == UNKNOWN and w.reason == NO_SIGNAL for w in v)
    rng = np.random.default_rng(1)
    slow = synthetic_ood("temperature_log", 4, 2048, 12000.0, rng).ravel()
    v = model.predict_signal(slow, 12000.0)
    assert all(w.label == UNKNOWN and w.reason == OUT_OF_BAND for w in v)
    assert band_share(slow[None, :2048], 12000.0, tuple(model.card.domain["band_hz"]))[0] < 0.01


def test_clean_in_domain_windows_stay_known_and_carry_ood_score(model, excerpts) -> None:
    for label, x in excerpts.items():
        v = model.predict_signal(x, 12000.0)
        assert all(w.label != UNKNOWN for w in v), label
        assert all(w.ood_score is not None and w.ood_score <= 0 for w in v)
        assert all("ood_score" in w.to_json() for w in v)


def test_speech_like_audio_is_mostly_unknown(model) -> None:
    rng = np.random.default_rng(7)
    w = synthetic_ood("speech_like", 16, 2048, 12000.0, rng)
    v = model.judge_windows(w)
    assert np.mean([x.label == UNKNOWN for x in v]) >= 0.5
    assert set(FAMILIES) >= {"speech_like", "white_noise", "flat", "temperature_log"}


def test_alarm_never_fires_on_unknown(model) -> None:
    alarm = AlarmHysteresis(raise_after_s=1.0, clear_after_s=1.0)
    events = [alarm.update(WindowVerdict(i * 0.2, i * 0.2 + 0.2, UNKNOWN, 0.99, UNKNOWN,
                                         reason=NO_SIGNAL, best_class="ball_014"))
              for i in range(50)]
    assert not any(events) and not alarm.active
    # an active alarm is not cleared by a silent sensor either
    for i in range(10):
        alarm.update(WindowVerdict(20 + i * 0.2, 20.2 + i * 0.2, "inner_007", 0.9,
                                   "inner_race"))
    assert alarm.active
    for i in range(50):
        alarm.update(WindowVerdict(30 + i * 0.2, 30.2 + i * 0.2, UNKNOWN, 0.9, UNKNOWN,
                                   reason=NO_SIGNAL))
    assert alarm.active
    # and the live engine marks a flat stream unknown
    live = LiveInference(model, 12000.0)
    out = live.feed(np.arange(8192) / 12000.0, np.zeros(8192), 0)
    assert out and all(o.verdict.label == UNKNOWN for o in out)


def test_explain_keys_and_deletion_direction_on_real_windows(model, excerpts, tmp_path,
                                                              capsys) -> None:
    w = np.concatenate([x[:4096].reshape(2, 2048) for x in excerpts.values()])
    e = explain_windows(model.model, w[:2], 12000.0)
    assert set(e[0]) == {"saliency_peak_s", "top_bands_hz"}
    assert 0 <= e[0]["saliency_peak_s"] < 2048 / 12000.0
    lo, hi, _drop = e[0]["top_bands_hz"][0]
    assert len(e[0]["top_bands_hz"]) == 3 and lo < hi
    result = deletion_test(model.model, w)
    assert result["mean_drop_top"] > result["mean_drop_random"]
    path = tmp_path / "x.csv"
    x = excerpts["inner_021"][:4096]
    np.savetxt(path, np.column_stack([np.arange(x.size) / 12000.0, x]), delimiter=",",
               header="time,DE_time", comments="")
    assert _cli(["predict", str(path), "--explain", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for win in doc["windows"]:
        assert {"saliency_peak_s", "top_bands_hz", "ood_score"} <= set(win)
        assert win["start_s"] <= win["saliency_peak_s"] <= win["end_s"]
