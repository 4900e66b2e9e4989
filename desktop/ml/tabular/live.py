"""Table models on a live stream: each sample of the source is one row with named channels.

:class:`TabularStream` matches the source's channel names to the model's input columns once
(the same rules and messages as a file: by name, an id channel set aside, a headerless
stream — channels ``ch1 … chN`` — read by position only for a process model with exactly
its number of inputs), then turns each batch of new samples into verdicts:

* ``quality``: one verdict per part (row), independent of the others, with its
  ``decision`` (``accept``/``refer``, :mod:`~desktop.ml.tabular.calibration`), plus the
  state of a :class:`~desktop.ml.tabular.spc.PChart` over the last *accepted* parts (the
  chart's alarm): a referred part waits for an inspector and is not counted as a defect of
  its class; its row carries no chart point;
* ``process``: rows are consecutive samples; the stream keeps the last ``context_rows``
  samples and the last ``m − 1`` over-limit flags, so a sample's lagged inputs, window
  statistics, flatline count and N-of-M alarm are exactly what
  :func:`~desktop.ml.tabular.process.ProcessModel.predict` gives for the whole run at once
  (tested).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from desktop.ml.tabular.process import ProcessModel, n_of_m
from desktop.ml.tabular.quality import QualityModel
from desktop.ml.tabular.spc import PChart, describe
from desktop.ml.tabular.table import match_columns

DEFAULT_NAME = re.compile(r"ch\d+$")


class TabularStream:
    """Verdicts for new rows of a stream, in order; ``alarm`` says whether it is raised."""

    def __init__(self, model: QualityModel | ProcessModel, channel_names: list[str],
                 window: int = 50, min_parts: int = 10) -> None:
        import pandas as pd

        self.model = model
        self.card = model.card
        self.kind = self.card.kind
        names = list(channel_names)
        headerless = (self.kind == "process" and names
                      and all(DEFAULT_NAME.match(n) for n in names))
        columns: list[Any] = list(range(len(names))) if headerless else names
        label = self.card.training_data.get("label_column") if self.kind == "quality" else None
        table = match_columns(pd.DataFrame(columns=columns, dtype=float), self.card.input_columns,
                              allow_headerless=self.kind == "process", label_column=label,
                              what=f"{self.kind} model '{self.card.name}'")
        self.notices = list(table.notices)
        if headerless:
            self.index = list(range(len(self.card.input_columns)))
        else:
            by_norm = {n.strip().lower(): i for i, n in enumerate(names)}
            self.index = [by_norm[c.strip().lower()] for c in self.card.input_columns]
        id_names = {"id", "part_id", "part", "plate_id", "sample_id", "row_id", "serial"}
        self.id_index = next((i for i, n in enumerate(names)
                              if n.strip().lower() in id_names), None)
        self.alarm = False
        self.alarm_label = ""
        self.chart: PChart | None = None
        if self.kind == "quality":
            self.chart = PChart.from_counts(self.card.classes,
                                            self.card.training_data.get("class_counts"),
                                            window, min_parts)
        self.accepted = self.referred = 0
        thr = model.threshold() if isinstance(model, QualityModel) else None
        #: calibrated probability under which a part is referred (None: all accepted)
        self.refer_below: float | None = None if thr is None else thr.threshold
        self._context = np.empty((0, len(self.index)))
        self._over: np.ndarray = np.zeros(0, dtype=bool)

    @property
    def inputs(self) -> list[str]:
        return list(self.card.input_columns)

    def feed(self, values: np.ndarray) -> list[dict[str, Any]]:
        """Verdicts for ``values`` (rows × source channels), one dict per row, in order.

        Each dict holds the model's verdict, ``values`` (the row in the model's column
        order, for labelling), ``id`` when the stream has an id channel, and for quality
        ``chart`` (the p-chart after this part) and ``alarm`` (the chart's), for process the
        model's own ``alarm``. The stream's :attr:`alarm` follows the last row.
        """
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or len(values) == 0:
            return []
        X = values[:, self.index]
        rows = self._quality(X) if self.kind == "quality" else self._process(X)
        for i, row in enumerate(rows):
            row["values"] = [None if np.isnan(v) else float(v) for v in X[i]]
            if self.id_index is not None and np.isfinite(values[i, self.id_index]):
                row["id"] = f"{values[i, self.id_index]:g}"
        return rows

    def _quality(self, X: np.ndarray) -> list[dict[str, Any]]:
        assert self.chart is not None and isinstance(self.model, QualityModel)
        rows = self.model.predict(X)
        for row in rows:
            row["refer_below"] = self.refer_below
            if row.get("decision") == "refer":
                self.referred += 1
                row["chart"] = None  # the chart counts accepted parts only
                row["alarm"] = self.alarm
                continue
            self.accepted += 1
            point = self.chart.add(row["class"])
            row["chart"] = point.to_json()
            row["alarm"] = bool(point.over)
            self.alarm = bool(point.over)
            self.alarm_label = describe(point, point.over[0]) if point.over else ""
        return rows

    def _process(self, X: np.ndarray) -> list[dict[str, Any]]:
        model = self.model
        assert isinstance(model, ProcessModel)
        # Rows with a missing value cannot be scored; the process model refuses them.
        ok = ~np.isnan(X).any(axis=1)
        Xc = np.vstack([self._context, X[ok]])
        k = len(self._context)
        a = model.analyse(Xc) if len(Xc) else None
        rows: list[dict[str, Any]] = []
        if a is not None and k:  # the context rows were judged before: drop them
            a = {key: v[k:] for key, v in a.items()}
        if a is not None:
            n, m = model.n_of_m
            flags = np.concatenate([self._over, a["over"]])
            a["alarm"] = n_of_m(flags, n, m)[len(self._over):]
            rows_ok = model.rows(a)
            self._over = flags[-(m - 1):] if m > 1 else flags[:0]
            keep = model.context_rows
            self._context = Xc[-keep:] if keep else Xc[:0]
        else:
            rows_ok = []
        it = iter(rows_ok)
        for good in ok:
            rows.append(next(it) if good else
                        {"score": None, "alarm": self.alarm, "fault": None,
                         "fault_probability": None, "contributors": [],
                         "contributor_share": None, "contributors_clear": None,
                         "note": "a value is missing: not scored"})
        if rows_ok:
            last = rows_ok[-1]
            self.alarm = bool(last["alarm"])
            self.alarm_label = (f"process alarm: {last['fault'] or 'fault not named'}; look at "
                                f"{', '.join(last['contributors'][:3]) or '—'}"
                                if self.alarm else "")
        return rows


__all__ = ["TabularStream"]
