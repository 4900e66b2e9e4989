"""What every session offers the window: one read interface and one set of signals.

A *live session* streams from a source; a *file session* shows an opened recording. Both
hand the plots the same read interface (:class:`~desktop.streams.sample_view.SampleView`:
``view(t0, t1, pixels)``, ``latest``, ``between``, ``sample_at``, ``index_at_time``,
``written``, ``channels``, ``sample_rate``): a
:class:`~desktop.streams.ring.RingBuffer` live, a lazy
:class:`~desktop.streams.file_view.FileView` for a file, so a plot does not care where
samples come from, and both announce the same events. Times everywhere are the signal's
own seconds; labels are kept as seconds from their recording's first sample, and
:meth:`Session.label_anchor` says which recording and where its first sample sits on
this session's time axis.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.core.types import WALL_CLOCK_MIN_S
from desktop.streams.acquisition import Counters
from desktop.streams.sample_view import SampleView


class Session(QObject):
    """Base class: signals and the small read interface the window uses."""

    kind = "session"

    opened = Signal()  # data is available: ``buffer`` is set
    open_failed = Signal(str)
    state_changed = Signal(str, str)  # state, detail
    source_finished = Signal()  # a finite source (a replay, a file) has delivered everything
    progress = Signal(float, str)  # a long job of this session (loading, whole-file verdicts)
    model_loaded = Signal(object)  # ModelInfo (desktop/session/types.py)
    model_failed = Signal(str)
    verdicts = Signal(object)  # list[Verdict]: start_s, end_s, label, probability, …
    alarm = Signal(bool, str)  # active, the class being held
    #: A machine baseline's alarm rose (live or in a whole file): a snapshot row of
    #: desktop.baseline.live (sensor, level, state, evidence_location, event: indicator,
    #: location, evidence).
    baseline_alarm = Signal(dict)
    rows = Signal(object)  # list[TableRow]: a table model's rows, one per part/sample
    recording_started = Signal(str)
    recording_stopped = Signal(object)  # RecordingResult
    recording_failed = Signal(str)

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec = spec
        self.closed = False

    @property
    def buffer(self) -> SampleView | None:
        """The samples to draw (None until :attr:`opened`): a ring buffer live, a file's
        view for a file, read through :class:`~desktop.streams.sample_view.SampleView`."""
        return None

    @property
    def counters(self) -> Counters | None:
        return None

    def sample_rate(self) -> float | None:
        """Samples per second as the status bar shows it (nominal, else measured)."""
        return None

    @property
    def rate_is_estimate(self) -> bool:
        """True when :meth:`sample_rate` is measured from arrivals, not stated by the source."""
        return False

    @property
    def wall_clock(self) -> bool:
        """True when times are Unix epoch seconds (draw a date-time axis)."""
        buffer = self.buffer
        if buffer is None or buffer.written == 0:
            return False
        first = buffer.sample_at(float("-inf"))
        return first is not None and first[0] >= WALL_CLOCK_MIN_S

    def label_anchor(self) -> tuple[str, float] | None:
        """(recording path, its first sample's time on this session's axis), or None when
        there is no recording to attach labels to."""
        return None

    def set_model(self, name: str, raise_after_s: float, clear_after_s: float) -> None:
        """Judge this session's signal with model ``name`` ("" = off)."""

    def set_machine(self, machine: str) -> None:
        """Judge this session's verdicts against machine ``machine``'s learnt baseline
        too ("" = none): each verdict gains ``level``, ``evidence_location``,
        ``indicators``, ``anomaly`` and ``baseline_state`` (desktop.baseline.live)."""

    def acknowledge_baseline(self) -> str:
        """Acknowledge the latched baseline alarm; returns the level still raised
        (``ok`` when the condition cleared, ``""`` when nothing is judged)."""
        return ""

    def measure_figures(self) -> dict[str, object]:
        """This session's own figures for ``--measure`` (strict JSON values; none here)."""
        return {}

    def frame_drawn(self) -> None:
        """The window drew a frame of this session (called by the UI thread every drawn
        frame; cheap). A live session loads its model only after the first one."""

    def start(self) -> None:
        """Begin (acquire, or load the file) off the UI thread."""

    def stop(self) -> None:
        """Stop every thread of this session without blocking the UI for long."""
        self.closed = True

    def wait(self, ms: int = 30_000) -> None:
        """Block until every thread of this session has ended (on close)."""
