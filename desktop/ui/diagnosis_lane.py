"""The Diagnosis dock's hold on the window: the verdict lane and the alarm banner.

- :class:`LaneFeeder` puts the evidence windows (1 s) in the verdict lane, merged with the
  fault model's verdicts by the verdict policy (:func:`desktop.ui.diagnosis_run.lane_rows`);
  it runs again whenever the model adds or clears verdicts.
- :class:`BannerPolice`: on a machine with a profile, a model alarm the evidence does not
  back is shown as a suggestion (amber), not as a red fault banner; the window's own text
  and style are given back when that no longer holds.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel

from desktop.ui.diagnosis_run import DiagnosisOutcome, banner_text, lane_rows, model_adapted
from desktop.ui.diagnosis_view import POLICY_TIP
from desktop.ui.live_plot import LivePlot

BANNER_RED = ("background: #c62828; color: white; font-weight: bold; font-size: 14pt; "
              "padding: 6px;")
BANNER_AMBER = ("background: #8d6e00; color: white; font-weight: bold; font-size: 12pt; "
                "padding: 6px;")


class LaneFeeder:
    """Feeds ``plot.verdicts`` from an outcome and the model's verdicts seen so far."""

    def __init__(self, plot: LivePlot, reconfigure: Callable[[], None]) -> None:
        self.plot = plot
        self._reconfigure = reconfigure
        #: The fault model's own verdicts (without "source"), gathered from the lane.
        self.model_verdicts: list[dict] = []
        # (len, id of the last) of plot.verdicts as written here; None: write them again
        self._fed: tuple[int, int] | None = None

    def reset(self, forget_model: bool = True) -> None:
        """Write the lane again at the next :meth:`feed` (and forget the model's verdicts
        with ``forget_model``: a new session)."""
        self._fed = None
        if forget_model:
            self.model_verdicts = []

    def feed(self, outcome: DiagnosisOutcome | None, info: dict[str, object]) -> bool:
        """Merge and write the lane when it changed since the last write; True when it
        was written (the policy line is to be drawn again)."""
        if outcome is None or not outcome.diagnosis.windows:
            return False
        plot = self.plot
        verdicts = plot.verdicts
        state = (len(verdicts), id(verdicts[-1]) if verdicts else 0)
        if state == self._fed and plot.verdict_lane is not None:
            return False
        if not verdicts:
            self.model_verdicts = []  # the model restarted (or none): forget its answers
        else:
            self.model_verdicts += [v for v in verdicts if "source" not in v]
        rows = lane_rows(outcome, self.model_verdicts,
                         adapted=model_adapted(info, outcome.machine))
        t0, t1 = outcome.start_s, outcome.end_s
        outside = [v for v in self.model_verdicts
                   if float(v["end_s"]) <= t0 or float(v["start_s"]) >= t1]
        merged = sorted(outside + rows, key=lambda v: float(v["start_s"]))
        if not plot.show_verdicts or plot.verdict_lane is None:
            plot.show_verdicts = True
            self._reconfigure()
        verdicts[:] = merged
        self._fed = (len(verdicts), id(verdicts[-1]) if verdicts else 0)
        return True


class BannerPolice:
    """Keeps the alarm ``banner`` true to the verdict policy (module docstring)."""

    def __init__(self, banner: QLabel) -> None:
        self.banner = banner
        self._override: tuple[str, str] | None = None  # the window's text and style

    def police(self, label: str, outcome: DiagnosisOutcome | None,
               info: dict[str, object]) -> None:
        """``label``: the class the banner names now ("" when none)."""
        banner = self.banner
        if not banner.isVisible() or not label:
            self.restore()
            return
        machine = outcome.machine if outcome is not None else None
        verdict = banner_text(label, outcome, machine, model_adapted(info, machine))
        if verdict is None:
            self.restore()
            return
        text = f"⚠ {verdict[0]}"
        if banner.text() == text:
            return
        if self._override is None:
            self._override = (banner.text(), banner.styleSheet())
        else:  # the window named another class meanwhile: that is the text to give back
            self._override = (banner.text(), self._override[1])
        banner.setText(text)
        banner.setStyleSheet(BANNER_AMBER)
        banner.setToolTip(POLICY_TIP)

    def restore(self) -> None:
        """Give the banner back to the window: its style, and its text if ours shows."""
        if self._override is None:
            return
        text, style = self._override
        self._override = None
        banner = self.banner
        banner.setStyleSheet(style or BANNER_RED)
        if banner.text().startswith("⚠ Evidence on "):
            banner.setText(text)
        banner.setToolTip("")
