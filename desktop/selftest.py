"""``linewatch --self-test``: prove that this installation works, step by step.

Run on a plant PC after unpacking the bundle (or from source, or in CI under
``QT_QPA_PLATFORM=offscreen``). Each step is small and prints one line as it passes
(``ok  demo rig: 2.0 s, 24,000 samples``) or fails (``FAIL  demo rig: …``), so a
failure names exactly what is broken. The run ends with ``self-test OK`` and the
versions, or ``self-test FAILED`` and the failed steps; the caller exits 0 or 1.

Everything is data-driven, so new pieces are tested without editing this file:
* models: every *shipped* model the registry lists is loaded through the same
  ``load_predictor`` the app uses and runs one inference. A predictor may define
  ``self_check() -> str`` to run one inference on an input of its own choosing (kinds
  whose input is not a window of samples, e.g. tabular quality/process models); otherwise
  it gets two random windows of ``card.window`` samples through ``predict_windows``;
* training: a two-step run of the app's own trainer on random windows (fine-tuning in
  the bundle needs torch pieces that inference does not);
* models ``load_predictor`` does not load (the table models: quality, process) are
  loaded by the modules in :data:`FOLDER_LOADERS`, as the app does, and fed random rows
  of their card's ``input_columns`` through ``predict``;
* formats: the file-format registry (``desktop.recording.registry.supported_suffixes()``,
  every registered format's suffixes) says which of CSV, Parquet, ``.mat`` and WAV this
  build reads; the others are skipped, named.

Nothing touches the user's files: the whole run uses a temporary ``LINEWATCH_HOME``
(settings, label store, logs of the window step), removed at the end.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from desktop import __version__
from desktop.core import paths

Report = Callable[[str], None]
DEMO_SECONDS = 2.0
OPEN_TIMEOUT_S = 30.0  # a cold bundle on a slow PC: the demo rig opens well within this
FORMAT_RATE = 1000.0  # the small test files: 2 channels x 1,000 samples at 1 kHz
FORMAT_SAMPLES = 1000
TABLE_ROWS = 32  # random rows for table models (quality, process)
#: Modules with ``load_model(folder)`` for the kinds ``load_predictor`` does not load: the
#: table models (quality, process), which the app loads this way too (``predict TABLE``,
#: the parts dock). Tried in order when ``load_predictor`` refuses a listed model.
FOLDER_LOADERS = ["desktop.ml.tabular"]


class StepFailed(Exception):
    """A check that ran but did not get the expected answer."""


def _import_first(*names: str) -> ModuleType:
    """The first of ``names`` that imports (``desktop/ml`` is being reorganised into
    subpackages; the self-test follows either layout)."""
    errors = []
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise ImportError("; ".join(errors))


@contextmanager
def _temporary_home() -> Iterator[Path]:
    """A throw-away LINEWATCH_HOME for the duration of the run."""
    old = os.environ.get(paths.HOME_ENV)
    with tempfile.TemporaryDirectory(prefix="linewatch-selftest-") as tmp:
        os.environ[paths.HOME_ENV] = str(Path(tmp) / "home")
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop(paths.HOME_ENV, None)
            else:
                os.environ[paths.HOME_ENV] = old


# ------------------------------------------------------------------------------ steps
def check_bundle() -> str:
    """The read-only files the program needs are where ``core/paths.py`` says."""
    resources, models = paths.resources_dir(), paths.shipped_models_dir()
    for folder in (resources, models):
        if not folder.is_dir():
            raise StepFailed(f"{folder} is missing")
    shipped = sorted(p.name for p in models.iterdir() if p.is_dir())
    mode = "frozen" if paths.IS_FROZEN else "source"
    return f"{mode}, data in {paths.bundle_root()}, {len(shipped)} model folders"


def check_window(seconds: float = DEMO_SECONDS) -> str:
    """The main window, built as ``app.run_gui`` builds it, runs the demo rig for a while
    and draws it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from desktop.app import model_names, source_from_options, versions
    from desktop.core.settings import load_settings
    from desktop.sources.serial_port import available_ports
    from desktop.ui.gc_main_thread import MainThreadCollector
    from desktop.ui.main_window import MainWindow, WindowServices

    app = QApplication.instance() or QApplication(sys.argv[:1])
    previous = qInstallMessageHandler(_quiet_offscreen)
    collector = MainThreadCollector()  # as in app.run_gui: cycles freed on this thread only
    try:
        settings = load_settings()  # defaults: the home is a fresh temp dir
        settings.model = ""  # models are checked on their own below; this step is the window
        window = MainWindow(settings, WindowServices(source_from_options, available_ports,
                                                     versions, model_names))
        return _run_demo(app, window, seconds)
    finally:
        collector.stop()
        qInstallMessageHandler(previous)


def _quiet_offscreen(mode: object, context: object, message: str) -> None:
    """Qt messages to stderr, less the offscreen platform's chatter about size hints."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr, flush=True)


def _run_demo(app: Any, window: Any, seconds: float) -> str:
    from PySide6.QtCore import QEventLoop

    def spin(limit_s: float, until: Callable[[], bool] | None = None) -> bool:
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if until is not None and until():
                return True
            time.sleep(0.002)
        return until is None

    def received() -> int:
        counters = window.session.counters if window.session is not None else None
        return counters.received if counters is not None else 0

    try:
        window.show()
        window.connect_source("demo", {})
        if not spin(OPEN_TIMEOUT_S, lambda: received() > 0):
            raise StepFailed(f"the demo rig sent nothing in {OPEN_TIMEOUT_S:.0f} s "
                             f"(state: {window.state} {window.state_detail})".rstrip())
        start_samples, started = received(), time.monotonic()
        frames_before = window.stats.frames
        spin(seconds)
        elapsed = time.monotonic() - started
        samples = received() - start_samples
        frames = window.stats.frames - frames_before
        errors = list(window.errors)
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    if errors:
        raise StepFailed("; ".join(errors))
    if samples <= 0:
        raise StepFailed(f"no samples arrived in {elapsed:.1f} s")
    if frames <= 0:
        raise StepFailed(f"{samples:,} samples arrived but no frame was drawn")
    return f"{elapsed:.1f} s, {samples:,} samples, {frames} frames drawn"


def _sample_options(entry: object) -> dict[str, object]:
    """Loader options a built-in kind needs without the user's setup (the diagnosis
    model's bearing, :func:`desktop.ml.kinds.sample_options`); empty where the package
    predates the kinds registry."""
    try:
        kinds = _import_first("desktop.ml.kinds")
    except Exception:
        return {}
    return dict(kinds.sample_options(entry))


def _one_inference(predictor: object, card: object) -> str:
    """Run the predictor once on an input it accepts; describe the answer."""
    self_check = getattr(predictor, "self_check", None)
    if callable(self_check):
        return str(self_check())
    rng = np.random.default_rng(0)
    classes = list(getattr(card, "classes", []))
    window = getattr(card, "window", None)
    predict = getattr(predictor, "predict_windows", None)
    if callable(predict) and isinstance(window, int) and window > 0:
        probs = np.asarray(predict(rng.standard_normal((2, window))))
        if probs.shape != (2, len(classes)) or not np.all(np.isfinite(probs)):
            raise StepFailed(f"expected finite probabilities of shape (2, {len(classes)}), "
                             f"got {probs.shape}")
        return (f"{len(classes)} classes, 2 windows of {window} -> "
                f"{classes[int(probs[0].argmax())]}")
    columns = getattr(card, "input_columns", None)
    predict = getattr(predictor, "predict", None)
    if callable(predict) and isinstance(columns, list) and columns:
        # Table models: rows of named measurements (a process model reads them as
        # consecutive samples, so give it enough rows for its lags and alarm rule).
        rows = predict(rng.standard_normal((TABLE_ROWS, len(columns))))
        if len(rows) != TABLE_ROWS:
            raise StepFailed(f"{TABLE_ROWS} rows in, {len(rows)} verdicts out")
        first = rows[0] if rows else {}
        answer = first.get("class", first.get("score")) if isinstance(first, dict) else first
        return f"{len(columns)} input columns, {TABLE_ROWS} rows -> {answer}"
    raise StepFailed(f"{type(predictor).__name__} has no self_check(), no predict_windows() "
                     f"for card.window samples and no predict() for card.input_columns")


def _fallback_load(folder: Path) -> object | None:
    """A model from the first of :data:`FOLDER_LOADERS` that reads ``folder``, or None."""
    for name in FOLDER_LOADERS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        try:
            return module.load_model(folder)
        except Exception:  # not this loader's kind of folder: the registry's reason stands
            continue
    return None


def check_models(report: Report) -> list[str]:
    """Every shipped model the registry lists loads and runs one inference.

    Returns the names of the models that failed (each already reported)."""
    registry = _import_first("desktop.ml.registry", "desktop.ml.model_files.registry")
    inference = _import_first("desktop.ml.inference", "desktop.ml.inference.predictors")
    load_predictor = getattr(inference, "load_predictor", None)
    if load_predictor is None:  # the package layout: the function lives in a submodule
        load_predictor = _import_first("desktop.ml.inference.predictors").load_predictor
    shipped = [e for e in registry.list_models() if e.shipped]
    if not any(Path(e.folder).is_dir() for e in shipped):  # built-in kinds have no folder
        raise StepFailed(f"no shipped models in {paths.shipped_models_dir()}")
    failed = []
    for entry in shipped:
        started = time.perf_counter()
        card = entry.card
        try:
            try:
                if card is None:
                    raise StepFailed(entry.problem or "unreadable card")
                predictor = load_predictor(entry, options=_sample_options(entry))
            except Exception:  # a kind load_predictor does not load (see FOLDER_LOADERS)
                predictor = _fallback_load(entry.folder)
                if predictor is None:
                    raise
            card = getattr(predictor, "card", card)
            step = f"model {entry.name} ({getattr(card, 'kind', '?')})"
            detail = _one_inference(predictor, card)
            report(f"ok  {step}: {detail} ({(time.perf_counter() - started) * 1000:.0f} ms)")
        except Exception as exc:
            step = f"model {entry.name} ({getattr(card, 'kind', '?')})"
            report(f"FAIL  {step}: {_describe(exc)}")
            failed.append(step)
    return failed


def check_training() -> str:
    """One short training run through the app's own trainer: fine-tuning in the window
    needs autograd and an optimizer step, which import torch._dynamo, parts of
    torch._inductor and torch.onnx, and sympy; a bundle that trimmed those fails here."""
    train = _import_first("desktop.ml.train", "desktop.ml.training.train")
    data = _import_first("desktop.ml.data_cwru", "desktop.ml.training.data_cwru")
    rng = np.random.default_rng(0)
    window = 2048  # the default network needs this much; 2 x 8 windows still take < 1 s
    segments = [data.Segment(rng.standard_normal(2 * window) * (1 + k), k, f"synthetic-{k}", 0)
                for k in range(2)]
    config = train.TrainConfig(window=window, epochs=1, steps_per_epoch=2, batch_size=8)
    result = train.train(segments, 2, config)
    return (f"{config.architecture}, {result.n_parameters:,} parameters, "
            f"{config.epochs * config.steps_per_epoch} optimizer steps")


# --- formats: one small file of each kind the readers read ----------------------------
def _signal() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(FORMAT_SAMPLES) / FORMAT_RATE
    values = np.column_stack([np.sin(2 * np.pi * 50 * t), 0.5 * np.cos(2 * np.pi * 7 * t)])
    return t, values


def _write_csv(path: Path) -> None:
    _, v = _signal()
    rows = "".join(f"{a:.9g},{b:.9g}\n" for a, b in v)
    path.write_text("vib_x,vib_y\n" + rows, encoding="ascii")


def _write_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t, v = _signal()
    pq.write_table(pa.table({"time_s": t, "vib_x": v[:, 0], "vib_y": v[:, 1]}), path)


def _write_mat(path: Path) -> None:
    from scipy.io import savemat

    _, v = _signal()
    savemat(path, {"vib_x": v[:, 0], "vib_y": v[:, 1], "fs": FORMAT_RATE})


def _write_wav(path: Path) -> None:
    from scipy.io import wavfile

    _, v = _signal()
    wavfile.write(path, int(FORMAT_RATE), (v * 16384).astype(np.int16))


#: format name, suffix, writer, tolerance of the values read back (WAV: 16-bit integers)
FORMATS: list[tuple[str, str, Callable[[Path], None], float]] = [
    ("CSV", ".csv", _write_csv, 1e-6),
    ("Parquet", ".parquet", _write_parquet, 1e-12),
    ("MATLAB", ".mat", _write_mat, 1e-12),
    ("WAV", ".wav", _write_wav, 1e-3),
]


def readable_suffixes(readers: ModuleType) -> set[str]:
    """The suffixes the readers dispatch on: their ``supported_suffixes()`` when they have
    one, else the union of the ``*_SUFFIXES`` collections of the readers module and of
    the reader modules beside it in its package (``wav.WAV_SUFFIXES`` …)."""
    listed = getattr(readers, "supported_suffixes", None)
    if callable(listed):
        return {str(s).lower() for s in listed()}
    modules = [readers]
    package = sys.modules.get(readers.__name__.rpartition(".")[0])
    if package is not None and hasattr(package, "__path__"):
        for info in pkgutil.iter_modules(package.__path__):
            try:
                modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
            except ImportError:  # a reader whose library this build lacks reads nothing
                continue
    out: set[str] = set()
    for module in modules:
        for name, value in vars(module).items():
            if name.endswith("_SUFFIXES") and isinstance(value, set | frozenset | tuple | list):
                out.update(str(s).lower() for s in value)
    return out


def check_format(name: str, path: Path, write: Callable[[Path], None], tol: float) -> str:
    readers = importlib.import_module("desktop.recording.readers")
    write(path)
    rec = readers.read_recording(path)
    _, want = _signal()
    if rec.samples != FORMAT_SAMPLES:
        raise StepFailed(f"read {rec.samples} samples, wrote {FORMAT_SAMPLES}")
    got = np.asarray(rec.values, dtype=np.float64)[:, :2]
    if name == "WAV" and got.size:  # 16-bit integers: a reader may or may not rescale
        got = got / np.abs(got).max() * np.abs(want).max()
    if got.shape != want.shape or not np.allclose(got, want, atol=tol):
        raise StepFailed(f"values read back differ from those written "
                         f"(shape {got.shape}, wrote {want.shape})")
    return (f"{path.name}: {rec.samples:,} samples x {len(rec.channels)} channels "
            f"({', '.join(ch.name for ch in rec.channels)})")


def check_recording(tmp: Path) -> str:
    """The app's own recorder writes a recording that reads back sample for sample."""
    from desktop.core.types import ChannelSpec
    from desktop.recording.readers import read_recording
    from desktop.recording.writer import RecordingWriter

    t, v = _signal()
    out = tmp / "self-test.parquet"
    writer = RecordingWriter(out, (ChannelSpec("vib_x", "g"), ChannelSpec("vib_y", "g")),
                             FORMAT_RATE, "self-test")
    for lo in range(0, FORMAT_SAMPLES, 250):
        writer.write(t[lo:lo + 250], v[lo:lo + 250])
    path = writer.close()
    rec = read_recording(path)
    if rec.samples != FORMAT_SAMPLES or not np.allclose(rec.values, v):
        raise StepFailed(f"{path.name} read back {rec.samples} samples that differ")
    if rec.sample_rate != FORMAT_RATE:
        raise StepFailed(f"rate read back {rec.sample_rate}, wrote {FORMAT_RATE}")
    return f"{path.name}: {rec.samples:,} samples, {path.stat().st_size:,} bytes"


def check_label(tmp: Path) -> str:
    """A label written to a fresh store is there after reopening it."""
    from desktop.labels.event import LabelEvent
    from desktop.labels.store import LabelStore

    store_path = tmp / "labels.sqlite"
    recording = str(tmp / "self-test.parquet")
    with LabelStore(store_path) as store:
        added = store.add(LabelEvent(None, recording, 0.25, 0.5, "self-test", note="ok"))
    with LabelStore(store_path) as store:
        found = store.list(recording=recording)
    if [(e.id, e.label, e.start_s, e.end_s) for e in found] != [
            (added.id, "self-test", 0.25, 0.5)]:
        raise StepFailed(f"read back {found!r}")
    return f"{store_path.name}: 1 label written, reopened and read"


# ------------------------------------------------------------------------------ versions
def _module_version(name: str) -> str:
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return "missing"
    return str(getattr(module, "__version__", "?"))


def versions_line() -> str:
    from PySide6.QtCore import qVersion

    parts = [f"Linewatch {__version__}", f"Python {platform.python_version()}",
             f"Qt {qVersion()}", f"PySide6 {_module_version('PySide6')}",
             f"pyqtgraph {_module_version('pyqtgraph')}", f"numpy {_module_version('numpy')}",
             f"scipy {_module_version('scipy')}", f"pyarrow {_module_version('pyarrow')}"]
    torch = sys.modules.get("torch")  # loaded by a torch model above; not loaded here
    if torch is not None:
        parts.append(f"torch {torch.__version__}")
    parts.append(f"{platform.system()} {platform.machine()}")
    parts.append("frozen" if paths.IS_FROZEN else "source")
    return ", ".join(parts)


def check_about() -> str:
    """Help → About's versions resolve (a bundle needs the packages' metadata copied)."""
    from desktop.app import versions

    found = versions()
    missing = sorted(k for k, v in found.items() if v == "not installed")
    if missing:
        raise StepFailed(f"no version for {', '.join(missing)} (package metadata not bundled)")
    return f"{len(found)} versions, compute device {found.get('Compute device', '?')}"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {text}"


# ------------------------------------------------------------------------------ the run
def run_self_test(report: Report = print) -> bool:
    """Run every step, reporting each as it passes or fails; True when all passed."""
    failed: list[str] = []
    started = time.perf_counter()

    def step(name: str, fn: Callable[[], str]) -> None:
        t0 = time.perf_counter()
        try:
            detail = fn()
        except Exception as exc:
            report(f"FAIL  {name}: {_describe(exc)}")
            failed.append(name)
            return
        report(f"ok  {name}: {detail} [{time.perf_counter() - t0:.1f} s]")

    home = paths.home_description()  # before the run's own temp home is set
    with _temporary_home() as tmp:
        step("bundle", check_bundle)
        step("home", lambda: f"user files go to {home}")
        step("demo rig", check_window)

        def models() -> str:
            bad = check_models(report)
            if bad:
                failed.extend(bad)
                raise StepFailed(f"{len(bad)} model(s) failed")
            return "every shipped model loaded and ran"

        step("models", models)
        if importlib.util.find_spec("torch") is None:
            report("skip  training: this lean build leaves torch out (the models run with "
                   "numpy); fine-tuning and calibration need the full build")
        else:
            step("training", check_training)
        try:
            formats = importlib.import_module("desktop.recording.registry")
            suffixes = readable_suffixes(formats)
        except Exception as exc:
            report(f"FAIL  formats: {_describe(exc)}")
            failed.append("formats")
            suffixes = set()
        for name, suffix, write, tol in FORMATS:
            if suffixes and suffix not in suffixes:
                report(f"skip  {name}: this build reads no {suffix} files")
                continue
            if suffixes:
                step(f"format {name}", lambda n=name, s=suffix, w=write, t=tol:
                     check_format(n, tmp / f"sample{s}", w, t))
        step("recording", lambda: check_recording(tmp))
        step("label", lambda: check_label(tmp))
        step("about", check_about)
    elapsed = time.perf_counter() - started
    if failed:
        report(f"self-test FAILED ({len(failed)} step(s): {', '.join(failed)}) "
               f"in {elapsed:.1f} s; {versions_line()}")
        return False
    report(f"self-test OK in {elapsed:.1f} s: {versions_line()}")
    return True

