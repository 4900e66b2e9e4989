"""The Analysis dock's spectrum view: how a :class:`~desktop.analysis.workbench.SpanResult`
is drawn.

One pyqtgraph plot shows the amplitude or envelope spectrum (with its strongest peaks and
the bearing fault-frequency markers of the families switched on) or the spectrogram; under
it a hover line (the peak under the pointer and its nearest marker), an info line
(strongest line, band, fault frequencies, notes), the ISO 20816-3 zone and velocity, and a
status line. :class:`SpectrumView` owns these widgets and the result drawn; it computes
nothing (the result comes from a job, see ``analysis_requests``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from desktop.analysis.bearings import Marker
from desktop.analysis.workbench import SpanResult
from desktop.ui.analysis_controls import FAMILIES, MODE_NAMES
from desktop.ui.analysis_trend import ZONE_COLOURS

HOVER_HINT = "<span style='color:#888'>Point at a peak: its frequency and nearest marker</span>"
ZONE_MEANING = {"A": "newly commissioned", "B": "unrestricted long-term operation",
                "C": "restricted operation: plan remedial action",
                "D": "severe: vibration may cause damage"}


def marker_family(name: str) -> str:
    """``2xBPFI+1X`` → ``SB``; ``BSF-FTF`` → ``BSF``; ``3X`` → ``1X``; ``BPFO`` → ``BPFO``."""
    if name.startswith(("BSF", "2xBSF", "3xBSF")) or "BSF" in name:
        return "BSF"
    if "BPFI" in name:
        return "SB" if ("+" in name or "-" in name) else "BPFI"
    if "BPFO" in name:
        return "BPFO"
    if "FTF" in name:
        return "FTF"
    return "1X"


def _wrapping_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class SpectrumView(QObject):
    """The spectrum plot and the lines under it; ``result`` is the :class:`SpanResult`
    drawn (None: nothing drawn). Widgets: ``plot_widget`` (``splot`` its PlotItem, with
    ``curve``, ``peak_dots``, ``hover_dot``, ``image``), ``hover``, ``info``, ``zone``,
    ``velocity``, ``status``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.result: SpanResult | None = None
        self._marker_items: list[pg.InfiniteLine] = []
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumHeight(150)
        self.splot = self.plot_widget.getPlotItem()
        self.splot.showGrid(x=True, y=True, alpha=0.25)
        self.splot.setLabel("bottom", "frequency", units="Hz")
        self.splot.getAxis("bottom").enableAutoSIPrefix(False)
        self.splot.setMenuEnabled(False)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen("#56B4E9", width=1))
        self.splot.addItem(self.curve)
        self.peak_dots = pg.ScatterPlotItem(size=7, symbol="t", brush=pg.mkBrush("#F0E442"),
                                            pen=None)
        self.splot.addItem(self.peak_dots)
        self.hover_dot = pg.ScatterPlotItem(size=11, symbol="o", brush=None,
                                            pen=pg.mkPen("#ffffff", width=1.5))
        self.splot.addItem(self.hover_dot)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.image.setVisible(False)
        self.splot.addItem(self.image)
        self.plot_widget.scene().sigMouseMoved.connect(self._hovered)
        self.splot.getViewBox().sigXRangeChanged.connect(self._declutter)
        self.splot.getViewBox().sigResized.connect(self._declutter)
        self.splot.getAxis("left").enableAutoSIPrefix(False)

        self.hover = QLabel(HOVER_HINT)
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info = _wrapping_label()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zone = QLabel("")
        self.zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zone.setMinimumWidth(56)
        self.velocity = _wrapping_label()
        self.status = _wrapping_label()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def say(self, text: str) -> None:
        """One line in the status label (also its tooltip: a long line is elided)."""
        self.status.setText(text)
        self.status.setToolTip(text)

    def clear(self) -> None:
        """Forget the spectrum drawn for an earlier session (another file or source)."""
        self.result = None
        for item in (self.curve, self.peak_dots, self.hover_dot):
            item.setData([], [])
        self.image.clear()
        for line in self._marker_items:
            self.splot.removeItem(line)
        self._marker_items = []
        self.info.setText("")
        self.zone.setText("")
        self.zone.setStyleSheet("")
        self.velocity.setText("")
        self.hover.setText(HOVER_HINT)

    # -- drawing ---------------------------------------------------------------------------
    def draw(self, r: SpanResult, log_y: bool, shown: set[str], x_offset: float) -> None:
        """Draw ``r``: amplitudes on a log axis when ``log_y``, the marker families in
        ``shown``; ``x_offset`` is the main plot's (a spectrogram's time axis is the main
        plot's x)."""
        self.result = r
        req = r.request
        unit = req.unit
        spectrogram = r.image is not None
        self.image.setVisible(spectrogram)
        self.curve.setVisible(not spectrogram)
        self.peak_dots.setVisible(not spectrogram)
        self.hover_dot.setData([], [])
        self.hover.setText(HOVER_HINT)
        self.splot.setLogMode(x=False, y=log_y and not spectrogram)
        if spectrogram:
            assert r.freqs_hz is not None and r.image_times is not None and r.image is not None
            db = 20 * np.log10(np.maximum(r.image, 1e-12))
            hi = float(np.percentile(db, 99.5))
            self.image.setImage(db.T, autoLevels=False, levels=(hi - 60.0, hi))
            times = r.image_times - x_offset
            dt = float(times[1] - times[0]) if times.size > 1 else r.duration_s
            self.image.setRect(QRectF(float(times[0]) - dt / 2, 0.0,
                                      dt * max(1, times.size), float(r.freqs_hz[-1])))
            self.splot.setLabel("bottom", "time (s)")
            self.splot.setLabel("left", "frequency", units="Hz")
            self.splot.getAxis("left").enableAutoSIPrefix(False)
            self.splot.setXRange(float(times[0]) - dt / 2, float(times[-1]) + dt / 2,
                                 padding=0)
            self.splot.setYRange(0, float(r.freqs_hz[-1]), padding=0)
            self.curve.setData([], [])
            self.peak_dots.setData([], [])
        else:
            assert r.freqs_hz is not None and r.amplitude is not None
            amp = r.amplitude
            if log_y:
                amp = np.maximum(amp, max(float(np.max(amp)), 1e-300) * 1e-6)
            self.curve.setData(r.freqs_hz, amp)
            if r.peaks:
                px, py = np.array(r.peaks).T
                self.peak_dots.setData(px, np.maximum(py, float(np.min(amp))))
            else:
                self.peak_dots.setData([], [])
            what = "envelope amplitude" if req.mode == "envelope" else "amplitude"
            self.splot.setLabel("bottom", "frequency", units="Hz")
            self.splot.setLabel("left", f"{what} (RMS{', ' + unit if unit else ''})")
            self.splot.setXRange(0, r.display_fmax, padding=0.01)
            self.splot.enableAutoRange(axis="y")
        self.draw_markers(shown)
        self._draw_info(r, x_offset)
        self._draw_severity(r)

    def draw_markers(self, shown: set[str]) -> None:
        """The fault-frequency markers of the families in ``shown`` (spectra only)."""
        for line in self._marker_items:
            self.splot.removeItem(line)
        self._marker_items = []
        r = self.result
        if r is None or r.image is not None:
            return
        colours = {k: c for k, _t, c, _tip in FAMILIES}
        for m in r.markers:
            family = marker_family(m.name)
            if family not in shown:
                continue
            # Sidebands (BPFI±1X, BSF±FTF) are dashed and named on hover only.
            sideband = "+" in m.name or "-" in m.name
            pen = pg.mkPen(colours[family], width=1,
                           style=Qt.PenStyle.DashLine if sideband else Qt.PenStyle.SolidLine)
            opts = {} if sideband else {
                "label": m.name,
                "labelOpts": {"position": 0.95, "color": colours[family],
                              "anchors": [(0, 0.5), (0, 0.5)], "rotateAxis": None}}
            line = pg.InfiniteLine(m.freq_hz, angle=90, movable=False, pen=pen, **opts)
            line.setToolTip(f"{m.name} {m.freq_hz:.2f} Hz")
            line.setZValue(-5)
            line.marker_name = m.name
            self.splot.addItem(line, ignoreBounds=True)
            self._marker_items.append(line)
        self._declutter()

    def _declutter(self, *_: object) -> None:
        """Show as many marker labels as fit: fundamentals first, then harmonics, each on
        the first of four rows where it overlaps no other label; the rest are hidden
        (hovering still names them). Runs again whenever the frequency axis moves."""
        labelled = [line for line in self._marker_items if getattr(line, "label", None)]
        if not labelled:
            return
        view = self.splot.getViewBox()
        x0, x1 = view.viewRange()[0]
        px = max(1.0, view.width()) / max(x1 - x0, 1e-12)
        families = [k for k, *_ in FAMILIES]

        def rank(line: pg.InfiniteLine) -> tuple[int, int]:
            name = line.marker_name
            k = int(name[0]) if name[0].isdigit() and name[1:2] in ("x", "X") else 1
            family = marker_family(name)
            return (k, -families.index(family))

        rows: list[list[tuple[float, float]]] = [[] for _ in range(4)]
        for line in sorted(labelled, key=rank):
            label = line.label
            f = float(line.value())
            left = (f - x0) * px
            right = left + label.boundingRect().width() + 4
            place = None
            if 0 <= left <= (x1 - x0) * px:
                for k, row in enumerate(rows):
                    if all(right <= a or left >= b for a, b in row):
                        place = k
                        row.append((left, right))
                        break
            label.setVisible(place is not None)
            if place is not None:
                label.setPosition(0.95 - 0.08 * place)

    def marker_names(self) -> list[str]:
        """Names of the markers drawn now (for tests and tools)."""
        return [getattr(line, "marker_name", "") for line in self._marker_items]

    def _draw_info(self, r: SpanResult, x_offset: float) -> None:
        req = r.request
        parts = []
        if r.peaks and r.image is None:
            f0, _a0 = r.peaks[0]
            near = self.nearest_marker(f0)
            parts.append(f"<b>strongest {f0:.1f} Hz{' ≈ ' + near[0].name if near else ''}"
                         "</b>")
        if r.band_hz is not None:
            how = (f"SK {r.kurtosis:.2f}" if r.band_source == "spectral kurtosis"
                   else "typed")
            parts.append(f"band {r.band_hz[0]:g}–{r.band_hz[1]:g} Hz ({how})")
        if r.faults is not None:
            f = r.faults
            parts.append(f"BPFI {f.bpfi:.1f} · BPFO {f.bpfo:.1f} · BSF {f.bsf:.1f} · "
                         f"FTF {f.ftf:.2f} Hz")
        elif not r.rpm:
            parts.append("type the shaft speed (or pick a speed channel) for fault markers")
        parts += r.notes
        self.info.setText(" · ".join(parts))
        speed = f", {r.rpm:g} rpm ({r.rpm_source})" if r.rpm else ""
        self.say(f"{MODE_NAMES[req.mode]} of {req.channel}: {r.duration_s:.3f} s from "
                 f"{r.start_s - x_offset:.3f} s, {r.samples:,} samples, "
                 f"{r.resolution_hz:.3g} Hz bins{speed}")

    def _draw_severity(self, r: SpanResult) -> None:
        if r.velocity_mm_s is None or r.limits_mm_s is None:
            self.zone.setText("—")
            self.zone.setStyleSheet("")
            self.velocity.setText(r.severity_note)
            return
        zone = r.zone
        self.zone.setText(f"Zone {zone}")
        self.zone.setStyleSheet(f"background: {ZONE_COLOURS[zone]}; color: white; "
                                "font-weight: bold; padding: 3px 6px;")
        ab, bc, cd = r.limits_mm_s
        self.velocity.setText(f"<b>{r.velocity_mm_s:.2f} mm/s</b> RMS 10–1000 Hz — "
                              f"{ZONE_MEANING[zone]} (A&lt;{ab:g}≤B&lt;{bc:g}≤C&lt;{cd:g}≤D)")

    def severity_text(self) -> str:
        return f"{self.zone.text()} {self.velocity.text()}"

    # -- hover -----------------------------------------------------------------------------
    def nearest_marker(self, freq: float) -> tuple[Marker, float] | None:
        """The marker nearest ``freq`` within 3 % (or 2 bins), and the offset in %."""
        r = self.result
        if r is None or not r.markers:
            return None
        m = min(r.markers, key=lambda mk: abs(mk.freq_hz - freq))
        if abs(m.freq_hz - freq) > max(0.03 * m.freq_hz, 2 * r.resolution_hz):
            return None
        return m, (freq - m.freq_hz) / m.freq_hz * 100

    def describe(self, freq: float) -> str:
        """What hovering at ``freq`` (Hz) shows: the peak there and the nearest marker."""
        r = self.result
        if r is None or r.freqs_hz is None or r.amplitude is None or r.image is not None:
            return ""
        f, a = r.freqs_hz, r.amplitude
        df = r.resolution_hz or 1.0
        i = int(np.clip(round(freq / df), 0, f.size - 1))
        reach = max(2, int(0.01 * r.display_fmax / df))
        lo, hi = max(0, i - reach), min(f.size, i + reach + 1)
        k = lo + int(np.argmax(a[lo:hi]))
        peak_f = float(f[k])
        if 0 < k < f.size - 1:  # parabolic refinement, as find_spectral_peaks
            y0, y1, y2 = a[k - 1], a[k], a[k + 1]
            denom = y0 - 2 * y1 + y2
            if denom:
                peak_f += float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)) * df
        self.hover_dot.setData([peak_f], [float(a[k])])
        unit = r.request.unit
        text = f"<b>{peak_f:.2f} Hz</b> · {a[k]:.4g}{' ' + unit if unit else ''} RMS"
        near = self.nearest_marker(peak_f)
        if near is not None:
            m, off = near
            text += f" — nearest <b>{m.name}</b> {m.freq_hz:.2f} Hz ({off:+.1f} %)"
        elif r.markers:
            m = min(r.markers, key=lambda mk: abs(mk.freq_hz - peak_f))
            text += f" — no marker within 3 % (nearest {m.name} {m.freq_hz:.1f} Hz)"
        return text

    def _hovered(self, pos: object) -> None:
        if self.result is None or not self.splot.sceneBoundingRect().contains(pos):
            return
        x = self.splot.getViewBox().mapSceneToView(pos).x()
        if self.result.image is not None:
            y = self.splot.getViewBox().mapSceneToView(pos).y()
            self.hover.setText(f"{x:.3f} s · {y:.1f} Hz")
            return
        self.hover.setText(self.describe(x))
