"""Runs a fine-tune job on a QThread: progress and per-epoch curves out, Cancel in.

``desktop.ml.finetune.finetune`` is a plain function; this wrapper only turns its
progress callback into signals and its cancel callback into a flag the UI can set. A
cancelled or failed run has written nothing (the function stages its output), so the
active model is never touched.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.errors import LinewatchError
from desktop.ml.errors import TrainingCancelled
from desktop.ml.finetune import finetune
from desktop.ml.labelled_data import LabelSpan

log = logging.getLogger(__name__)


class FinetuneWorker(QObject):
    progress = Signal(float, dict)  # fraction 0..1, info (stage, message, history row…)
    succeeded = Signal(dict)  # FinetuneResult.to_json()
    cancelled = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(self, base: str, spans: list[LabelSpan], name: str, mode: str,
                 epochs: int, val_fraction: float) -> None:
        super().__init__()
        self.args: dict[str, Any] = {"base": base, "spans": spans, "name": name, "mode": mode,
                                     "epochs": epochs, "val_fraction": val_fraction}
        self._stop = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            result = finetune(**self.args, progress=self.progress.emit,
                              cancel=self._stop.is_set,
                              command="Fine-tune dialog of the Linewatch window")
        except TrainingCancelled:
            self.cancelled.emit()
        except LinewatchError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("fine-tuning failed")
            self.failed.emit(f"fine-tuning failed: {exc!r}")
        else:
            self.succeeded.emit(result.to_json())
        finally:
            self.finished.emit()
