"""The typed session signals keep the workers' dicts unchanged: what is handed on to JSON
(``--measure``, exports) is byte for byte what the worker produced."""

from __future__ import annotations

import json

from desktop.session.types import (
    ModelInfo,
    TableRow,
    Verdict,
    verdict_rows,
    verdicts_from_rows,
)


def test_model_info_reads_the_announced_dict_and_gives_it_back() -> None:
    announced = {"level": "ok", "name": "fault-cwru", "kind": "fault",
                 "classes": ["normal", "inner_007"], "device": "cpu", "channel": "de",
                 "channel_reason": "", "window": 2048}
    info = ModelInfo.from_dict(announced)
    assert (info.name, info.kind, info.classes, info.device, info.channel) == (
        "fault-cwru", "fault", ("normal", "inner_007"), "cpu", "de")
    assert json.dumps(info.as_dict()) == json.dumps(announced)
    assert info.as_dict() is not announced  # a copy: the consumer may change it


def test_verdicts_keep_their_rows_byte_for_byte() -> None:
    rows = [{"start_s": 0.0, "end_s": 0.17, "class": "unknown", "probability": 0.41,
             "location": "", "arrived": 12.5, "ood_score": 3.2, "reason": "no signal",
             "best_class": "normal", "score": None, "rpm": 1797.0},
            {"start_s": 0.5, "end_s": 0.67, "class": "normal", "probability": 0.99,
             "location": "-", "level": "ok"}]
    verdicts = verdicts_from_rows(rows)
    assert verdicts[0] == Verdict(0.0, 0.17, "unknown", 0.41, "", 12.5)
    assert verdicts[1].arrived is None and verdicts[1].label == "normal"
    assert json.dumps(verdict_rows(verdicts)) == json.dumps(rows)


def test_table_rows() -> None:
    row = {"part": 7, "class": "ok", "index": 1234, "time": 5.5, "chart": {"p": 0.1}}
    typed = TableRow.from_row(row)
    assert (typed.index, typed.time) == (1234, 5.5) and typed.row == row
