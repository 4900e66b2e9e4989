"""Composition root: the only module that names concrete source classes.

Sources register by kind (``register_source("serial", …)``) so the CLI, the window and the
tests build any of them from one spec string such as ``serial:/dev/ttyUSB0``,
``replay:run.parquet``, ``demo`` or ``synth:16x20000``. Replay is wired here because
``sources`` may not import ``recording``: this module reads the file and hands the
recording to the replay source.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import SourceError
from desktop.formats.base import make_parser
from desktop.recording.readers import read_recording
from desktop.sources.base import SampleSource
from desktop.sources.demo import DemoRigSource
from desktop.sources.replay import ReplaySource
from desktop.sources.serial_port import SerialSource
from desktop.sources.synth import SynthSource, parse_synth_spec


@dataclass
class SourceOptions:
    """Options that only some source kinds use; the others ignore them."""

    baud: int = 115200
    speed: float = 1.0  # replay/demo/synth pacing; math.inf = as fast as possible
    rate: float | None = None  # serial: nominal rate when lines carry no timestamp
    line_format: str = "auto"  # "auto", "ascii", "ascii:decimal=," or "binary:SPEC"
    decimal: str | None = None  # text lines and files: "." or ","; None = detected
    # Modbus (modbus-tcp / modbus-rtu): register map, unit id, RTU line, reply timeout
    map_path: str | None = None
    unit: int = 1
    parity: str = "none"  # RTU: none, even, odd
    stopbits: int = 1  # RTU: 1 or 2
    modbus_timeout: float = 1.0  # seconds to wait for one reply


SourceFactory = Callable[[str, SourceOptions], SampleSource]


@dataclass(frozen=True)
class SourceKind:
    name: str
    factory: SourceFactory
    usage: str
    help: str


_REGISTRY: dict[str, SourceKind] = {}


def register_source(name: str, factory: SourceFactory, usage: str, help: str) -> None:
    """Make ``name:ARG`` (or bare ``name``) a source spec the whole program accepts."""
    _REGISTRY[name] = SourceKind(name, factory, usage, help)


def source_kinds() -> list[SourceKind]:
    return list(_REGISTRY.values())


def parse_speed(text: str | float) -> float:
    """``"1"``, ``"10"``, ``"0.5"`` or ``"max"`` → a positive float (max = inf)."""
    if isinstance(text, float | int):
        value = float(text)
    elif str(text).strip().lower() in {"max", "inf", "fastest"}:
        return math.inf
    else:
        try:
            value = float(text)
        except ValueError:
            raise SourceError(f"speed must be a number or 'max' (got {text!r})") from None
    if not value > 0:
        raise SourceError(f"speed must be positive (got {text!r})")
    return value


def create_source(spec: str, options: SourceOptions | None = None) -> SampleSource:
    """Build a source from its spec string; unknown kinds get a list of the known ones."""
    options = options or SourceOptions()
    kind, _, arg = spec.partition(":")
    entry = _REGISTRY.get(kind.strip().lower())
    if entry is None:
        known = ", ".join(k.usage for k in _REGISTRY.values())
        raise SourceError(f"unknown source {spec!r}; use one of: {known}")
    return entry.factory(arg, options)


def _serial(arg: str, options: SourceOptions) -> SampleSource:
    if not arg:
        raise SourceError("serial source needs a port, e.g. serial:/dev/ttyUSB0 or serial:COM3")
    try:
        extra = {"decimal": options.decimal} if options.decimal else {}
        if options.line_format.strip().lower().startswith("binary"):
            extra = {}
        parser = make_parser(options.line_format, **extra)
    except ValueError as exc:
        raise SourceError(str(exc)) from exc
    return SerialSource(arg, baud=options.baud, parser=parser, rate=options.rate)


def _replay(arg: str, options: SourceOptions) -> SampleSource:
    if not arg:
        raise SourceError("replay source needs a file, e.g. replay:run.parquet")
    path = Path(arg).expanduser()
    recording = read_recording(path, rate=options.rate, decimal=options.decimal)
    return ReplaySource(recording, path.name, speed=options.speed)


def _demo(arg: str, options: SourceOptions) -> SampleSource:
    return DemoRigSource(speed=options.speed)


def _synth(arg: str, options: SourceOptions) -> SampleSource:
    channels, rate = parse_synth_spec(arg)
    return SynthSource(channels, rate, speed=options.speed)


def _modbus_tcp(arg: str, options: SourceOptions) -> SampleSource:
    from desktop.sources.modbus import build_modbus_source  # pymodbus only when used

    return build_modbus_source("tcp", arg, options.map_path, unit=options.unit,
                               timeout_s=options.modbus_timeout)


def _modbus_rtu(arg: str, options: SourceOptions) -> SampleSource:
    from desktop.sources.modbus import SerialLine, build_modbus_source, parse_parity

    if options.stopbits not in (1, 2):
        raise SourceError(f"stop bits must be 1 or 2 (got {options.stopbits})")
    line = SerialLine(options.baud, parse_parity(options.parity), options.stopbits)
    return build_modbus_source("rtu", arg, options.map_path, unit=options.unit, line=line,
                               timeout_s=options.modbus_timeout)


register_source("serial", _serial, "serial:PORT",
                "a serial device streaming ASCII lines or binary frames (--baud, --format, "
                "--rate, --decimal)")
register_source("replay", _replay, "replay:FILE",
                "a CSV or Parquet recording played back (--speed 1 = real time, max)")
register_source("demo", _demo, "demo",
                "the built-in demo rig: real bearing vibration, healthy then faults, 12 kHz")
register_source("synth", _synth, "synth:CHANNELSxRATE",
                "deterministic synthetic signals for benchmarks and tests, e.g. synth:16x20000")
register_source("modbus-tcp", _modbus_tcp, "modbus-tcp:HOST:PORT",
                "a Modbus TCP server polled per a register map (--map FILE, --unit ID, "
                "--modbus-timeout)")
register_source("modbus-rtu", _modbus_rtu, "modbus-rtu:PORT",
                "a Modbus RTU device on a serial line (--map FILE, --unit ID, --baud, "
                "--parity, --stopbits, --modbus-timeout)")


# ------------------------------------------------------------------------------ the window
def source_from_options(spec: str, raw: dict[str, object]) -> SampleSource:
    """Build a source from the window's loosely typed options (strings from widgets)."""
    try:
        baud = int(str(raw.get("baud", 115200)))
        rate_raw = raw.get("rate")
        rate = float(str(rate_raw)) if rate_raw not in (None, "") else None
    except ValueError as exc:
        raise SourceError(f"invalid number in the source options: {exc}") from None
    decimal = raw.get("decimal")
    options = SourceOptions(baud=baud, speed=parse_speed(str(raw.get("speed", "1"))),
                            rate=rate, line_format=str(raw.get("line_format", "auto")),
                            decimal=str(decimal) if decimal in (".", ",") else None)
    if raw.get("map"):  # the Modbus page of the source panel
        try:
            options.unit = int(str(raw.get("unit", 1)))
            options.stopbits = int(str(raw.get("stopbits", 1)))
            options.modbus_timeout = float(str(raw.get("modbus_timeout", 1.0)))
        except ValueError as exc:
            raise SourceError(f"invalid number in the Modbus options: {exc}") from None
        options.map_path = str(raw["map"])
        options.parity = str(raw.get("parity", "none"))
    return create_source(spec, options)


def versions() -> dict[str, str]:
    """Versions for Help → About, without importing torch on the UI thread's start-up."""
    import platform
    from importlib import metadata
    from importlib.util import find_spec

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from desktop import __version__

    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    torch_version = dist("torch")
    if torch_version == "not installed" and find_spec("torch") is None:
        torch_version = "not in this build (numpy runs the models)"  # the lean bundle
    return {
        "Linewatch": __version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": pyside_version,
        "pyqtgraph": dist("pyqtgraph"),
        "numpy": dist("numpy"),
        "torch": torch_version,
        "Compute device": compute_device(),
    }


def model_names() -> list[str]:
    """Usable models (shipped and user), for the model panel; broken folders are left out."""
    from desktop.ml.model_files.registry import list_models

    return [entry.name for entry in list_models() if entry.card is not None]


def compute_device() -> str:
    """CUDA GPU when torch sees one, else CPU (asked through ml/, the torch layer)."""
    from desktop.ml.inference.predictors import resolve_device

    return "CUDA GPU" if resolve_device(None) == "cuda" else "CPU"


def remember_machine(settings: object, machine: str, file: str | None, spec: str | None
                     ) -> str:
    """``linewatch [FILE] --machine NAME``: set ``settings.machine_by_source`` for the file
    (or live source ``spec``) about to be opened, under the key the window looks it up by
    (:func:`desktop.ui.diagnosis_panel.source_key`: a file's resolved path, else the spec);
    returns the key. The name is checked by the caller (``desktop.cli.window``)."""
    from types import SimpleNamespace

    from desktop.ui.diagnosis_panel import source_key

    key = source_key(SimpleNamespace(path=Path(file) if file else None, spec=spec or ""))
    settings.machine_by_source[key] = machine  # type: ignore[attr-defined]
    return key


def run_gui(spec: str | None, file: str | None, options: dict[str, object],
            measure_s: float | None = None, workspace: str | None = None,
            machine: str | None = None) -> int:
    """Open the live window on ``spec`` (default: the last source, first run: demo) or on a
    recording ``file``, or as a saved ``workspace`` file left it; with ``measure_s``, print
    frame figures as JSON and exit (0), or, when the source or file fails to open, its
    one-line error on stderr and exit 2 at once; ``machine``: the machine profile of that
    file or source (remembered as if chosen in the Diagnosis dock)."""
    import json
    import sys
    import time

    started = time.perf_counter()
    saved = None
    if workspace:  # read first: a bad file is one line, before any window opens
        from desktop.core.workspace import load_workspace

        saved = load_workspace(workspace)
    from PySide6.QtWidgets import QApplication

    from desktop.core.settings import load_settings
    from desktop.sources.serial_port import available_ports
    from desktop.ui.gc_main_thread import MainThreadCollector
    from desktop.ui.main_window import MainWindow, WindowServices

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Linewatch")
    collector = MainThreadCollector(parent=app)  # noqa: F841  (lives as long as the app)
    settings = load_settings()
    from desktop.ml.model_files import registry as model_registry
    from desktop.ml.model_files import versions as model_versions

    live = model_versions.live_model()  # `linewatch models promote NAME --live` chose it
    if live:
        settings.model = live
    if machine and saved is None:  # before opening: the session is handed the machine
        remember_machine(settings, machine, file,
                         None if file else spec or settings.last_source or "demo")
    window = MainWindow(settings, WindowServices(source_from_options, available_ports,
                                                 versions, model_names,
                                                 model_registry.set_live_model),
                        started=started)
    window.show()
    if saved is not None:
        from desktop.ui.workspace_actions import apply

        apply(window, saved)
        if not (saved.file or saved.source):
            window.connect_source(spec or settings.last_source or "demo", options)
    elif file:
        rate_raw = options.get("rate")
        decimal = options.get("decimal")
        window.open_file(file, float(str(rate_raw)) if rate_raw not in (None, "") else None,
                         decimal=str(decimal) if decimal in (".", ",") else None)
    else:
        window.connect_source(spec or settings.last_source or "demo", options)
    exit_code = 0
    if measure_s is not None:
        window.start_measure(measure_s, started=started)

        def done(result: dict[str, object]) -> None:
            print(json.dumps(result, allow_nan=False), flush=True)
            window.close()
            app.quit()

        def failed(message: str) -> None:
            # Never all-null figures for a source or file that did not open: its one line
            # on stderr and exit 2 (a bad source or file, as for every command).
            nonlocal exit_code
            if exit_code:
                return
            exit_code = 2
            window.measure_finished.disconnect(done)
            print(f"linewatch: {message}", file=sys.stderr, flush=True)
            window.close()
            app.quit()

        window.measure_finished.connect(done)
        window.source_failed.connect(failed)
    app.exec()
    return exit_code
