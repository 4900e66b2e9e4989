"""A stream and a whole file judged against a machine's baseline second by second
(desktop.baseline.live, issue 22 item 2): levels on verdicts, the alarm latches until
acknowledged and names sensor, indicator and evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.live import VERDICT_KEYS, add_file_baseline, track_for
from desktop.baseline.routes import RouteSpec, route
from desktop.cli import main

FS = 12000.0


def _write(path: Path, x: np.ndarray) -> Path:
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


@pytest.fixture()
def machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, np.ndarray]:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de", "--unit", "g"]) == 0
    g = find_preset("6205")
    healthy = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.1, seed=3)))[:12]]
    fault = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.05, seed=3,
                                               fault="outer_race", onset_day=0.0,
                                               start_db=6.0, end_db=6.0)))[:5]]
    files = [str(_write(tmp_path / f"b{i}.parquet", x)) for i, x in enumerate(healthy[:8])]
    assert main(["baseline", "pump", *files]) == 0
    capsys.readouterr()
    return {"healthy": np.concatenate(healthy[8:]), "fault": np.concatenate(fault)}


def _chunks(x: np.ndarray, n: int = 1733) -> list[np.ndarray]:
    return [x[i:i + n] for i in range(0, x.size, n)]


def test_no_baseline_or_channel_is_a_reason_not_an_error(machine: dict) -> None:
    track, why = track_for("nobody", "de", FS)
    assert track is None and "nobody" in why
    track, why = track_for("pump", "vibration_x", FS)
    assert track is None and "no baseline for channel vibration_x" in why
    track, why = track_for("pump", "de", 4000.0)
    assert track is None and "12000 Hz" in why


def test_stream_latches_until_acknowledged(machine: dict) -> None:
    track, why = track_for("pump", "de", FS)
    assert track is not None, why
    t = 100.0
    rows = []
    for c in _chunks(machine["healthy"]):  # odd chunk sizes: snapshots still 1 s each
        rows += track.feed(c, t)
        t += c.size / FS
    assert len(rows) == 4 and {r["level"] for r in rows} == {"ok"}
    assert rows[1]["start_s"] == pytest.approx(101.0) and track.state == "ok"
    for c in _chunks(machine["fault"]):
        rows += track.feed(c, t)
        t += c.size / FS
    events = [r["event"] for r in rows if r["event"]]
    assert track.state == "alarm" and events
    ev = events[-1]
    assert ev["sensor"] == "de" and ev["level"] == "alarm" and ev["indicator"]
    assert ev["location"] == "outer_race" and ev["evidence"]["exceeded"]
    # healthy again: the latch holds (no self-clearing) ...
    for c in _chunks(machine["healthy"]):
        rows += track.feed(c, t)
        t += c.size / FS
    assert rows[-1]["level"] == "ok" and track.state == "alarm"
    # ... until acknowledged, when the condition has cleared
    assert track.acknowledge() == "ok" and track.state == "ok"
    verdicts = [{"start_s": 101.2, "end_s": 101.4}, {"start_s": t - 0.2, "end_s": t}]
    track.annotate(verdicts)
    assert all(set(v) >= set(VERDICT_KEYS) for v in verdicts)
    assert verdicts[0]["level"] == "ok" and verdicts[0]["baseline_state"] == "ok"
    assert verdicts[1]["baseline_state"] == "alarm"  # the snapshot judged before the ack


def test_ack_of_a_persisting_fault_keeps_it_raised(machine: dict) -> None:
    track, _ = track_for("pump", "de", FS)
    assert track is not None
    track.feed(machine["fault"], 0.0)
    assert track.state == "alarm"
    assert track.acknowledge() == "alarm" and track.monitor.latch.acknowledged


def test_whole_file_verdicts_gain_the_baseline(machine: dict, tmp_path: Path) -> None:
    from desktop.recording.readers import read_recording

    x = np.concatenate([machine["healthy"], machine["fault"]])
    rec = read_recording(_write(tmp_path / "f.parquet", x))
    verdicts = [{"start_s": k + 0.1, "end_s": k + 0.27} for k in range(9)]
    result = {"info": {"channel": "de"}, "verdicts": verdicts}
    add_file_baseline(result, "pump", rec, 0.0)
    base = result["baseline"]
    assert base["snapshots"] == 9 and base["state"] == "alarm" and base["sensor"] == "de"
    assert base["events"][-1]["location"] == "outer_race"
    assert [v["level"] for v in verdicts[:4]] == ["ok"] * 4
    assert {v["level"] for v in verdicts[5:]} == {"alarm"}
    other: dict = {"info": {"channel": "elsewhere"}, "verdicts": []}
    add_file_baseline(other, "pump", rec, 0.0)
    assert "baseline" not in other and other["info"]["baseline_note"]
