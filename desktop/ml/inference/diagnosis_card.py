"""The built-in ``diagnosis`` model's card and registry entry (no folder, no weights).

Kept apart from :mod:`desktop.ml.inference.diagnosis` so that listing the models (the
window does it before its first draw) imports neither scipy nor the diagnosis stack.
The card's ``sample_rate``/``window``/``hop`` are placeholders: the model runs at the
input's own rate, and :meth:`DiagnosisPredictor.for_rate
<desktop.ml.inference.diagnosis.DiagnosisPredictor.for_rate>` binds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop.ml.model_files.card import ModelCard
from desktop.ml.model_files.registry import ModelEntry

NAME = "diagnosis"
KIND = "diagnosis"
#: The verdict's locations (``desktop.diagnosis.verdict.LOCATIONS``, without its import).
CLASSES = ["normal", "outer_race", "inner_race", "ball", "cage", "not_running", "unknown"]
#: Seconds per judged window (``linewatch diagnose --window``'s default).
WINDOW_S = 1.0
#: Placeholder rate of the card (the model works at any rate).
NOMINAL_RATE = 12_000.0
#: When this kind was added to Linewatch (the listing's "created" column).
CREATED = "2026-12-07T00:00:00+00:00"


@dataclass
class DiagnosisCard(ModelCard):
    """A :class:`ModelCard` of kind ``diagnosis`` (the card check accepts it: it is built
    in, never read from a folder)."""

    def validate(self) -> None:
        """Built in: only the fields inference reads must make sense."""
        if self.sample_rate <= 0 or self.window <= 0 or self.hop <= 0:
            raise ValueError("a diagnosis card needs a positive rate, window and hop")


def make_card(rate: float = NOMINAL_RATE, window_s: float = WINDOW_S) -> DiagnosisCard:
    """The card at ``rate`` Hz with windows (and hops) of ``window_s`` seconds."""
    window = max(1, round(rate * window_s))
    return DiagnosisCard(
        name=NAME, kind=KIND, architecture="envelope-evidence",
        hyper_parameters={"window_s": window_s}, classes=list(CLASSES),
        sample_rate=float(rate), window=window, hop=window, input_channels=["DE_time"],
        normalisation="none", version="1", created=CREATED,
        description="Bearing fault location from envelope-spectrum evidence at the "
                    "input's own rate (BPFO/BPFI/BSF/FTF, 3 harmonics, +-2 % slip, SNR "
                    "against the local floor; desktop/diagnosis). Needs the bearing "
                    "(a machine profile) and takes the speed from the profile, the file's "
                    "RPM variable, a speed channel, or the spectrum.")


def builtin_entry() -> ModelEntry:
    """The registry entry of the built-in diagnosis model."""
    return ModelEntry(NAME, Path("<built in>"), True, make_card())
