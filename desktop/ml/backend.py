"""Which engine runs the fault networks: torch when it is installed, else numpy.

The lean installer leaves torch out (it is ~400 MiB of a bundle that must stay under
600 MB); every shipped model still runs there through
:mod:`desktop.ml.inference.numpy_net`. Training, fine-tuning, calibration and
``predict --explain`` need autograd or torch modules, so they call :func:`require_torch`
first and the user gets one line instead of a traceback.

``LINEWATCH_BACKEND`` chooses: ``auto`` (default: torch when importable, else numpy),
``numpy`` (never import torch, even when it is installed) or ``torch`` (refuse to run
without it). Nothing here imports torch at module level.
"""

from __future__ import annotations

import os

from desktop.ml.errors import ModelError, NeedsTorchError

BACKENDS = ("auto", "torch", "numpy")
ENV_VAR = "LINEWATCH_BACKEND"


def torch_available() -> bool:
    """Whether ``import torch`` works here (it is imported, and cached, when it does)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def require_torch(feature: str) -> None:
    """Raise :class:`NeedsTorchError` (one line for the user) when torch is missing."""
    if not torch_available():
        raise NeedsTorchError(f"{feature} needs torch, which this lean build leaves out: use "
                              f"the full build or a source install")


def choose_backend(requested: str | None = None) -> str:
    """``"torch"`` or ``"numpy"`` for ``requested`` (None: ``$LINEWATCH_BACKEND``, else auto).

    ``numpy`` never imports torch; ``auto`` takes torch when it imports, else numpy;
    ``torch`` without torch installed is refused like any torch-only feature.
    """
    wanted = (requested or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if wanted not in BACKENDS:
        raise ModelError(f"unknown backend '{wanted}' ({ENV_VAR} is one of "
                         f"{', '.join(BACKENDS)})")
    if wanted == "numpy":
        return "numpy"
    if wanted == "torch":
        require_torch("the torch backend")
        return "torch"
    return "torch" if torch_available() else "numpy"
