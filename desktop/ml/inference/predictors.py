"""Running a model on windows or whole signals: what the CLI and the inference worker call.

:func:`load_predictor` reads a model folder (card first, then the weights, checked against
the architecture the card describes) and returns a :class:`Predictor`. Both kinds of model
answer the same two questions:

* ``predict_windows(windows)`` — raw windows ``(n, window)`` at the model's rate →
  probabilities ``(n, len(classes))``. The model's own normalisation is applied inside,
  so a worker hands over windows straight from the ring buffer.
* ``predict_signal(x, rate)`` — a 1-D signal at any rate → one :class:`WindowVerdict` per
  window (resampled to the model's rate first; windows that touch a NaN gap are skipped).

Fault models run on one of two backends (:mod:`desktop.ml.backend`): torch when it is
installed, else numpy (:mod:`desktop.ml.inference.numpy_net`, same weights file, same
answers within float32 rounding). ``LINEWATCH_BACKEND=numpy`` forces numpy even where torch
is installed; ``=torch`` refuses to run without torch. Nothing here imports torch at module
level, and the numpy backend never imports it: the lean build (no torch) predicts with
every shipped model.
"""

from __future__ import annotations

import abc
import math
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.windows import frame, resample, zscore
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml import anomaly
from desktop.ml.backend import choose_backend
from desktop.ml.errors import DeviceError, ModelError
from desktop.ml.inference.open_set import UNKNOWN, ood_scores, reasons
from desktop.ml.model_files.card import WEIGHTS_FILE, ModelCard
from desktop.ml.model_files.registry import ModelEntry, resolve
from desktop.ml.model_files.weights import load_arrays, sha256_of
from desktop.ml.threads import limit_numeric_threads

DEFAULT_BATCH = 256


@dataclass(frozen=True)
class WindowVerdict:
    """The model's answer for one window of the input; times are in the input's seconds."""

    start_s: float
    end_s: float
    label: str
    probability: float
    location: str
    score: float | None = None  # anomaly models: squared Mahalanobis distance
    #: Fault models: the open-set score (energy; higher = less like the training data).
    ood_score: float | None = None
    #: Why the verdict is ``unknown`` (``label == "unknown"``): no signal, out of band,
    #: unlike training data. ``best_class`` is then the class the network would have named.
    reason: str | None = None
    best_class: str | None = None
    #: What a kind adds to a row (the diagnosis model: ``rpm``, ``rpm_source``,
    #: ``present``, ``faults``); merged into :meth:`to_json` after the keys above.
    extra: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6),
                             "class": self.label, "probability": round(self.probability, 6),
                             "location": self.location}
        if self.score is not None:
            d["score"] = round(self.score, 6)
        if self.ood_score is not None:
            d["ood_score"] = round(self.ood_score, 6)
        if self.reason is not None:
            d["unknown_reason"] = self.reason
            d["best_class"] = self.best_class
        if self.extra:
            d.update({k: v for k, v in self.extra.items() if k not in d})
        return d


def summarize(verdicts: list[WindowVerdict], classes: list[str], skipped: int = 0
              ) -> dict[str, Any]:
    """Share of windows per class and per location, and the most frequent class."""
    n = len(verdicts)
    counts = Counter(v.label for v in verdicts)
    locs = Counter(v.location for v in verdicts)
    shown = list(classes) + ([UNKNOWN] if counts.get(UNKNOWN) and UNKNOWN not in classes
                             else [])
    reasons = Counter(v.reason for v in verdicts if v.reason)
    out = {
        "windows": n,
        "skipped_windows": skipped,
        "class_shares": {c: round(counts.get(c, 0) / n, 6) if n else 0.0 for c in shown},
        "location_shares": {k: round(c / n, 6) for k, c in sorted(locs.items())},
        "majority_class": counts.most_common(1)[0][0] if n else None,
    }
    if reasons:
        out["unknown_reasons"] = dict(reasons.most_common())
    return out


def resolve_device(device: str | None, backend: str | None = None) -> str:
    """``auto``/None → CUDA when available, else CPU. Asking for CUDA without one is an error.

    ``backend`` (None: :func:`desktop.ml.backend.choose_backend`) ``"numpy"`` runs on the
    CPU: ``auto`` and ``cpu`` give ``"cpu"`` without importing torch.
    """
    wanted = (device or "auto").lower()
    if wanted != "auto" and wanted != "cpu" and not wanted.startswith("cuda"):
        raise DeviceError(f"unknown device '{device}': give --device auto, cpu or cuda")
    if choose_backend(backend) == "numpy":
        if wanted.startswith("cuda"):
            raise DeviceError("--device cuda asked for, but the numpy backend (no torch, or "
                             "LINEWATCH_BACKEND=numpy) runs on the CPU only")
        return "cpu"
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("--device cuda asked for, but no CUDA device is available: "
                          "give --device cpu (or auto)")
    return wanted


class Predictor(abc.ABC):
    """Common part of every model kind: card, windowing, resampling, verdicts."""

    def __init__(self, card: ModelCard, folder: Path) -> None:
        self.card = card
        self.folder = folder
        self.last_skipped = 0
        #: where the model runs (fault models on torch may say ``cuda``); numeric threads
        self.device = "cpu"
        self.threads: int | None = None

    #: What ``_scores`` returns: ``"anomaly"`` (Mahalanobis) or ``"ood"`` (open-set energy).
    kind_scores = "anomaly"

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @abc.abstractmethod
    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, K)`` for raw windows ``(n, card.window)``."""

    def _scores(self, windows: np.ndarray) -> np.ndarray | None:
        return None

    # -- hooks a model kind may override (defaults: a model at its card's fixed rate) --
    def for_rate(self, rate: float) -> Predictor:
        """The predictor to run on input at ``rate`` Hz: itself for a model with a fixed
        rate (windows are resampled to it); a rate-free kind binds its card to ``rate``."""
        return self

    def with_metadata(self, metadata: dict[str, Any] | None) -> Predictor:
        """The predictor for input with this metadata (a file's ``scalars`` such as
        ``X106RPM``): itself for models that do not use it, else a copy (a cached
        predictor shared by a worker's threads is never changed)."""
        return self

    def normal_labels(self) -> frozenset[str]:
        """Labels that never raise an alarm: the classes whose location is ``normal``
        plus what the kind names (:class:`desktop.ml.kinds.ModelKind.normal_labels`)."""
        from desktop.ml import kinds

        card = self.card
        normal = {c for c in card.classes if card.location_of(c) == "normal" or c == "normal"}
        if card.kind in {k.name for k in kinds.kinds()}:
            normal |= kinds.get(card.kind).normal_labels
        return frozenset(normal or {"normal"})

    def info(self) -> dict[str, Any]:
        """What the session announces once the model runs (besides name, kind, classes,
        device, channel): e.g. the machine a diagnosis runs for."""
        return {}

    def predict_signal(self, x: np.ndarray, rate: float, hop: int | None = None,
                       start_s: float = 0.0, task: TaskState | None = None
                       ) -> list[WindowVerdict]:
        """Verdicts for every whole window of ``x`` (1-D, ``rate`` Hz).

        ``hop`` is in model samples (default: the card's hop). Windows whose source span
        holds a non-finite value are skipped (counted in :attr:`last_skipped`): a gap is
        not a signal, and filling it would invent one.
        """
        card = self.card
        limit_numeric_threads(getattr(self, "threads", None))  # pools loaded since, too
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1:
            raise InputError("predict_signal takes one channel (a 1-D signal)")
        if not (math.isfinite(rate) and rate > 0):
            raise InputError(f"invalid sample rate {rate!r}")
        hop = hop or card.hop
        bad = ~np.isfinite(x)
        y = resample(np.where(bad, 0.0, x), rate, card.sample_rate)
        need_s = card.window / card.sample_rate
        if y.shape[0] < card.window:
            raise InputError(f"the signal is {x.shape[0] / rate:.3f} s long; model "
                             f"'{card.name}' needs at least {need_s:.3f} s")
        windows = frame(y, card.window, hop)
        starts = np.arange(windows.shape[0]) * hop
        keep = np.ones(windows.shape[0], dtype=bool)
        if bad.any():
            scale = rate / card.sample_rate
            cum = np.concatenate([[0], np.cumsum(bad)])
            lo = np.clip(np.floor(starts * scale).astype(int), 0, x.shape[0])
            hi = np.clip(np.ceil((starts + card.window) * scale).astype(int), 0, x.shape[0])
            keep = (cum[hi] - cum[lo]) == 0
        self.last_skipped = int((~keep).sum())
        windows, starts = windows[keep], starts[keep]
        probs, scores = self._predict_batches(windows, task)
        out = []
        for i, v in enumerate(self.verdicts(windows, probs, scores)):
            t0 = start_s + starts[i] / card.sample_rate
            out.append(replace(v, start_s=t0, end_s=t0 + need_s))
        return out

    def judge_windows(self, windows: np.ndarray) -> list[WindowVerdict]:
        """Verdicts (times 0) for raw windows at the model's rate: what the live engine
        calls on each batch."""
        probs, scores = self._predict_batches(self._check_windows(windows), None)
        return self.verdicts(windows, probs, scores)

    def verdicts(self, windows: np.ndarray, probs: np.ndarray, scores: np.ndarray | None
                 ) -> list[WindowVerdict]:
        """Verdicts (times 0) for windows at the model's rate and their model outputs;
        fault models with a card ``domain`` answer ``unknown`` where the open-set checks say
        so (:mod:`desktop.ml.inference.open_set`)."""
        card = self.card
        ood = (ood_scores(windows, scores, card.domain)
               if self.kind_scores == "ood" and scores is not None else None)
        if ood is not None:
            scores = ood
        why = (reasons(windows, ood, card.domain, card.sample_rate)
               if ood is not None else [None] * len(probs))
        out = []
        for i in range(len(probs)):
            k = int(probs[i].argmax())
            label = card.classes[k]
            s = None if scores is None else float(scores[i])
            if why[i] is not None:
                out.append(WindowVerdict(0.0, 0.0, UNKNOWN, float(probs[i, k]), UNKNOWN,
                                         ood_score=s, reason=why[i], best_class=label))
            elif ood is not None:
                out.append(WindowVerdict(0.0, 0.0, label, float(probs[i, k]),
                                         card.location_of(label), ood_score=s))
            else:
                out.append(WindowVerdict(0.0, 0.0, label, float(probs[i, k]),
                                         card.location_of(label), s))
        return out

    def _predict_batches(self, windows: np.ndarray, task: TaskState | None,
                         batch: int = 512) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (and anomaly scores) in batches; each batch reports progress to
        ``task`` (and is a cancellation point) so a whole file can be judged in a worker."""
        n = windows.shape[0]
        if n == 0:
            return np.empty((0, 0)), None
        probs, scores = [], []
        for lo in range(0, n, batch):
            if task is not None:
                task.report(lo / n, f"judging window {lo:,} of {n:,}")
            part = windows[lo:lo + batch]
            probs.append(self.predict_windows(part))
            s = self._scores(part)
            if s is not None:
                scores.append(s)
        return np.concatenate(probs), (np.concatenate(scores) if scores else None)

    def _check_windows(self, windows: np.ndarray) -> np.ndarray:
        w = np.asarray(windows)
        if w.ndim != 2 or w.shape[1] != self.card.window:
            raise InputError(f"model '{self.name}' takes windows of shape (n, {self.card.window}),"
                             f" got {w.shape}")
        return w


class FaultPredictor(Predictor):
    """A WDCNN-family classifier (``kind: fault``) on torch or numpy.

    ``backend``: ``"torch"``, ``"numpy"``, ``"auto"`` or None (``$LINEWATCH_BACKEND``, else
    auto: torch when importable). ``model`` is the torch module on the torch backend and a
    :class:`~desktop.ml.inference.numpy_net.NumpyNet` on the numpy one; training,
    calibration and explanations need the torch one and ask for ``backend="torch"``.
    """

    def __init__(self, card: ModelCard, folder: Path, device: str | None = None,
                 threads: int | None = None, backend: str | None = None) -> None:
        super().__init__(card, folder)
        self.backend = choose_backend(backend)
        self.device = resolve_device(device, self.backend)
        n_out = card.hyper_parameters.get("n_classes", len(card.classes))
        if n_out != len(card.classes):
            raise ModelError(f"{folder}: the card lists {len(card.classes)} classes but its "
                             f"architecture has {n_out} outputs")
        if card.hyper_parameters.get("input_length", card.window) != card.window:
            raise ModelError(f"{folder}: the card's window ({card.window}) differs from its "
                             f"architecture's input_length")
        path = folder / WEIGHTS_FILE
        self.model: Any
        #: numeric threads (torch and BLAS/OpenMP) of this process's model runs; None: 1
        self.threads = threads
        if self.backend == "numpy":
            from desktop.ml.inference import numpy_net

            self.model = numpy_net.load(card.architecture, card.hyper_parameters, path)
            _check_sha(card, path)
            self._torch: Any = None
            limit_numeric_threads(threads)
            return
        import torch

        from desktop.ml import architectures
        from desktop.ml.model_files.weights import expected_from_state_dict, load_tensors

        # Process-wide: one thread (the default) keeps a GUI, other workers and other
        # programs responsive beside inference (desktop/ml/threads.py says why).
        limit_numeric_threads(threads)
        model = architectures.build(card.architecture, card.hyper_parameters)
        tensors = load_tensors(path, expected_from_state_dict(model.state_dict()))
        _check_sha(card, path)
        model.load_state_dict(tensors, strict=True)
        self.model = model.to(self.device).eval()
        self._torch = torch

    kind_scores = "ood"

    def predict_windows(self, windows: np.ndarray, batch: int = DEFAULT_BATCH) -> np.ndarray:
        return self.predict_windows_scored(windows, batch)[0]

    def predict_windows_scored(self, windows: np.ndarray, batch: int = DEFAULT_BATCH
                               ) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities (n, K), open-set energy scores (n,))`` in one pass."""
        w = self._check_windows(windows)
        x = zscore(w) if self.card.normalisation == "per_window_zscore" else w.astype(np.float32)
        probs, energy = [], []
        if self.backend == "numpy":
            from desktop.ml.inference import numpy_net

            for i in range(0, x.shape[0], batch):
                xb = np.asarray(x[i:i + batch], dtype=np.float32)[:, None]
                p, e = numpy_net.probabilities_and_energy(self.model, xb)
                probs.append(p)
                energy.append(e)
        else:
            from desktop.ml.architectures import probabilities_and_energy

            torch = self._torch
            with torch.inference_mode():
                for i in range(0, x.shape[0], batch):
                    xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch])).unsqueeze(1)
                    p, e = probabilities_and_energy(self.model, xb.to(self.device))
                    probs.append(p.cpu().numpy())
                    energy.append(e.cpu().numpy())
        if not probs:
            return (np.empty((0, len(self.card.classes)), dtype=np.float32),
                    np.empty(0, dtype=np.float32))
        return np.concatenate(probs), np.concatenate(energy)

    def _predict_batches(self, windows: np.ndarray, task: TaskState | None,
                         batch: int = 512) -> tuple[np.ndarray, np.ndarray | None]:
        n = windows.shape[0]
        if n == 0:
            return np.empty((0, len(self.card.classes))), np.empty(0)
        probs, scores = [], []
        for lo in range(0, n, batch):
            if task is not None:
                task.report(lo / n, f"judging window {lo:,} of {n:,}")
            p, e = self.predict_windows_scored(windows[lo:lo + batch])
            probs.append(p)
            scores.append(e)
        return np.concatenate(probs), np.concatenate(scores)


class AnomalyPredictor(Predictor):
    """Healthy-only Gaussian feature model (``kind: anomaly``); numpy only."""

    def __init__(self, card: ModelCard, folder: Path) -> None:
        super().__init__(card, folder)
        hp = {**anomaly.DEFAULTS, **card.hyper_parameters}
        unknown = set(card.hyper_parameters) - set(anomaly.DEFAULTS)
        if unknown:
            raise ModelError(f"architecture '{anomaly.ARCHITECTURE}' has no hyper-parameters "
                             f"{', '.join(sorted(unknown))}")
        if card.classes != anomaly.CLASSES:
            raise ModelError(f"an anomaly model's classes must be {anomaly.CLASSES}")
        path = folder / WEIGHTS_FILE
        arrays = load_arrays(path, anomaly.expected_tensors(hp))
        _check_sha(card, path)
        self.model = anomaly.GaussianModel(arrays["mean"], arrays["precision"],
                                           int(hp["n_bands"]), float(hp["threshold"]),
                                           float(hp["score_scale"]))
        self.device = "cpu"
        self.threads = None
        limit_numeric_threads(None)

    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        return self.model.probabilities(self._check_windows(windows))[0]

    def _scores(self, windows: np.ndarray) -> np.ndarray | None:
        return self.model.scores(windows)

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances; ``> card.hyper_parameters['threshold']`` = anomaly."""
        return self.model.scores(self._check_windows(windows))


def _check_sha(card: ModelCard, path: Path) -> None:
    """A card that names its weights' checksum must get exactly those weights."""
    want = card.training_data.get("weights_sha256")
    if want and sha256_of(path) != want:
        raise ModelError(f"{path} does not match its card (SHA-256 differs from the one "
                         f"recorded when the model was made)")


def load_predictor(model: str | Path | ModelEntry, device: str | None = None,
                   threads: int | None = None, backend: str | None = None,
                   options: dict[str, Any] | None = None) -> Predictor:
    """A ready predictor from a model name, a folder, or a registry entry.

    The card's kind picks the loader (:mod:`desktop.ml.kinds`). ``backend`` applies to
    fault models (see :class:`FaultPredictor`); anomaly models are numpy always.
    ``options`` go to the kind's loader (the diagnosis model's ``machine``); a built-in
    reference such as ``diagnosis:MACHINE`` carries them in the name.

    Raises :class:`ModelError` for a bad card, unknown architecture, weights that do not
    match the card, or an unsafe/truncated weights file.
    """
    from desktop.ml import kinds

    entry = model if isinstance(model, ModelEntry) else resolve(model)
    assert entry.card is not None
    opts = {**(kinds.ref_options(str(model)) if not isinstance(model, ModelEntry) else {}),
            **(options or {})}
    predictor: Predictor = kinds.load(entry, device=device, threads=threads,
                                      backend=backend, options=opts)
    return predictor
