"""Model-layer constants the UI and the CLI need, in a module that never imports torch.

``desktop.ui`` may show fine-tune modes and defaults without paying for (or depending on)
a torch import: the dialogs read them here, and the training code uses the same values.
Keep this module free of imports beyond the standard library.
"""

from __future__ import annotations

from typing import Any, Literal

Mode = Literal["head", "full", "adapter"]
#: Fine-tune modes, in the order a dialog lists them.
MODES: tuple[str, ...] = ("head", "full", "adapter")
#: Chosen from bench/bench_finetune.py (docs/finetune.md): on the hard check (a new sensor
#: position) ``full`` reached 97 % against 94 % (adapter) and 89 % (head) from four labelled
#: seconds per class, kept the original classes (99.5 % with replay) and took < 3 s.
DEFAULT_MODE: Mode = "full"
#: One-line help per mode, for menus and ``--help``.
MODE_HELP: dict[str, str] = {
    "full": "all weights (default: best on a new sensor position, with replay against "
            "forgetting)",
    "head": "only the classifier head (fastest)",
    "adapter": "low-rank adapters on the last layers"}
ADAPTER_RANK = 4
#: Learning rates per mode: (body, head). The body of ``full`` moves 10x slower so that a
#: few labelled seconds adjust the features rather than overwrite them.
LEARNING_RATES: dict[str, tuple[float, float]] = {
    "head": (0.0, 3e-3), "adapter": (3e-3, 3e-3), "full": (3e-4, 3e-3)}
#: Fine-tuning augments the labelled windows (speed, a random smooth filter, noise) and, in
#: ``full`` mode, grows an envelope-spectrum branch beside the body of a plain WDCNN. Chosen
#: on the new-rig proxy (tools/new_rig_proxy.py, fan-end sensor, labels at 0 hp, scored at
#: 1 hp; docs/finetune.md): 84 % (no augmentation) → 90 % (augmentation) → 98-100 % (both).
DEFAULT_AUGMENT = True
DEFAULT_ENVELOPE = True
#: The fine-tune augmentation: speed ±4 %, a random filter of ±12 dB at 8 log-spaced
#: frequencies, white noise at 0-20 dB SNR on half the windows.
AUGMENTATION: dict[str, Any] = {"speed": 0.04, "noise_probability": 0.5, "snr_db": (0.0, 20.0),
                      "eq_db": 12.0, "eq_knots": 8}
#: Share of every fine-tune batch drawn from the base model's replay set.
DEFAULT_REPLAY = 0.25
#: Upper limit of fine-tune epochs (early stopping on held-out loss usually ends sooner).
DEFAULT_EPOCHS = 30
#: Share of labelled *events* held out by default.
DEFAULT_VAL_FRACTION = 0.25
#: The compact replay set shipped beside a model's weights (see docs/finetune.md).
REPLAY_FILE = "replay.safetensors"
#: Cap on replay windows per class when they are cut from a folder the user gives.
REPLAY_WINDOWS_PER_CLASS = 60
#: The one line a result without held-out events carries (dialog, CLI, card notes).
UNCHECKED_NOTE = "no held-out events: the result is not checked"

#: Hyper-parameters every fault architecture accepts, with their defaults: shared by the
#: torch builders (:mod:`desktop.ml.architectures`) and the torch-free forward pass
#: (:mod:`desktop.ml.inference.numpy_net`), so both read one definition.
WDCNN_DEFAULTS: dict[str, object] = {
    "in_channels": 1, "n_classes": 10, "input_length": 2048, "first_kernel": 64,
    "first_stride": 16, "first_padding": 24, "channels": [16, 32, 64, 64, 64], "fc": 100,
    "dropout": 0.0}
ARCHITECTURE_DEFAULTS: dict[str, dict[str, object]] = {
    "wdcnn": WDCNN_DEFAULTS,
    "wdcnn_ensemble": {**WDCNN_DEFAULTS, "members": 5},
    "wdcnn_spectral": {**WDCNN_DEFAULTS, "bands": 64, "envelope_bins": 64, "branch_out": 32},
}
