"""Low-rank adapters (LoRA-style) and head growth: the layer surgery of fine-tuning.

``adapter`` mode wraps the last two convolutions and the FC layer of a WDCNN in rank-``r``
updates that start at zero (the model starts as the base model exactly) and folds them back
into the base weights before saving, so the saved network is a plain network of the base
architecture and inference needs nothing new. :func:`extend_head` grows the output layer
for classes the base model does not know; :func:`add_spectral_branch` grows a WDCNN into
``wdcnn_spectral`` (an envelope-spectrum branch beside the body) for ``full`` fine-tunes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from desktop.ml.constants import ADAPTER_RANK


class LoRAConv1d(nn.Module):
    """``conv(x) + up(down(x))``: a rank-``r`` update of a frozen convolution.

    ``down`` has the base kernel, stride and padding with ``r`` outputs; ``up`` is a 1x1
    convolution starting at zero, so training starts from the base model exactly. The
    product is again a convolution of the base shape, so :meth:`merged` folds it back.
    """

    def __init__(self, base: nn.Conv1d, rank: int) -> None:
        super().__init__()
        self.base = base
        self.down = nn.Conv1d(base.in_channels, rank, base.kernel_size[0], stride=base.stride[0],
                              padding=base.padding[0], bias=False)
        self.up = nn.Conv1d(rank, base.out_channels, 1, bias=False)
        nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x))

    @torch.no_grad()
    def merged(self) -> nn.Conv1d:
        delta = torch.einsum("or,rik->oik", self.up.weight[:, :, 0], self.down.weight)
        self.base.weight += delta
        return self.base


class LoRALinear(nn.Module):
    """``linear(x) + up(down(x))`` with ``up`` starting at zero; folds back like the conv."""

    def __init__(self, base: nn.Linear, rank: int) -> None:
        super().__init__()
        self.base = base
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)
        nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x))

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        self.base.weight += self.up.weight @ self.down.weight
        return self.base


def add_adapters(model: nn.Module, rank: int = ADAPTER_RANK) -> list[nn.Parameter]:
    """Wrap the last two convolutions and the FC layer; returns the adapter parameters."""
    features: nn.Sequential = model.features  # type: ignore[assignment]
    conv_idx = [i for i, m in enumerate(features) if isinstance(m, nn.Conv1d)][-2:]
    params: list[nn.Parameter] = []
    for i in conv_idx:
        features[i] = LoRAConv1d(features[i], rank)  # type: ignore[arg-type]
        params += list(features[i].down.parameters()) + list(features[i].up.parameters())
    head: nn.Sequential = model.head  # type: ignore[assignment]
    fc_idx = next(i for i, m in enumerate(head) if isinstance(m, nn.Linear))
    head[fc_idx] = LoRALinear(head[fc_idx], rank)  # type: ignore[arg-type]
    params += list(head[fc_idx].down.parameters()) + list(head[fc_idx].up.parameters())
    return params


def merge_adapters(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base layer: the model is a plain base network again."""
    for seq in (model.features, model.head):
        for i, m in enumerate(seq):  # type: ignore[arg-type]
            if isinstance(m, LoRAConv1d | LoRALinear):
                seq[i] = m.merged()  # type: ignore[index]
    return model


def extend_head(model: nn.Module, n_classes: int) -> None:
    """Grow the output layer to ``n_classes``; known classes keep their rows exactly."""
    head: nn.Sequential = model.head  # type: ignore[assignment]
    old: nn.Linear = head[-1]  # type: ignore[assignment]
    if n_classes == old.out_features:
        return
    new = nn.Linear(old.in_features, n_classes)
    with torch.no_grad():
        new.weight[:old.out_features] = old.weight
        new.bias[:old.out_features] = old.bias
        # A new class starts no more likely than an average known one.
        new.bias[old.out_features:] = old.bias.mean()
    head[-1] = new


#: The envelope branch a ``full`` fine-tune grows (``finetune(envelope=True)``): the first 64
#: bins of the window's envelope spectrum (0-375 Hz at 12 kHz: shaft, cage and the race
#: impact rates) and one total-power band (the full-band spectrum, 64 bands, was tried: it
#: carries the load- and sensor-specific resonances and scored 87-93 % against 98-100 % on
#: the new-rig proxy, docs/finetune.md).
SPECTRAL_BRANCH = {"bands": 1, "envelope_bins": 64, "branch_out": 32}


def add_spectral_branch(model: nn.Module, hyper_parameters: dict[str, Any],
                        branch: dict[str, int] | None = None
                        ) -> tuple[nn.Module, dict[str, Any]]:
    """A ``wdcnn_spectral`` network that starts as ``model`` (a plain WDCNN) exactly.

    Why: a bearing fault's signature that survives a change of load or sensor is its
    impact *rate* (BPFI vs BPFO, visible in the envelope spectrum); the convolutional body
    learned from a few labelled seconds latches onto resonances that move with the load.
    On the new-rig proxy (one recording, IR014 at the unlabelled load, was called the
    wrong race in every window) the branch with the filter augmentation fixed it.

    The body and the head's layers are copied; the first head layer gets zero weights for
    the new branch's inputs, so the output is unchanged until training moves them. Returns
    the network and its card hyper-parameters.
    """
    from desktop.ml.architectures import WDCNN, build

    if not isinstance(model, WDCNN):
        raise TypeError("the spectral branch is added to a plain WDCNN only")
    hp = {**hyper_parameters, **(branch or SPECTRAL_BRANCH)}
    grown = build("wdcnn_spectral", hp)
    grown.features.load_state_dict(model.features.state_dict())
    old: nn.Sequential = model.head  # type: ignore[assignment]
    new: nn.Sequential = grown.head  # type: ignore[assignment]
    fc_old, fc_new = old[1], new[0]
    flat = fc_old.in_features
    with torch.no_grad():
        fc_new.weight.zero_()
        fc_new.weight[:, :flat] = fc_old.weight
        fc_new.bias.copy_(fc_old.bias)
    new[1].load_state_dict(old[2].state_dict())
    new[4].load_state_dict(old[5].state_dict())
    return grown, hp
