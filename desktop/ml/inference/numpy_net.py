"""The fault networks' forward pass (eval mode) in numpy alone: inference without torch.

Covers every architecture in :mod:`desktop.ml.architectures`:

* ``wdcnn`` — Zhang, Peng, Li, Chen & Zhang 2017, "A New Deep Learning Model for Fault
  Diagnosis with Good Anti-Noise and Domain Adaptation Ability on Raw Vibration Signals"
  (Sensors 17(2):425): a wide strided first convolution, then small 3-tap blocks, each
  Conv1d → BatchNorm1d → ReLU → MaxPool1d(2), then Flatten → Linear → BatchNorm1d → ReLU →
  Dropout → Linear.
* ``wdcnn_ensemble`` — several WDCNNs; the mean of their softmaxes, its log as the logits.
* ``wdcnn_spectral`` — a WDCNN whose head also sees the SpectralBranch (log band energies of
  the spectrum and of the Hilbert envelope spectrum).

Weights come from the same ``weights.safetensors`` as the torch models, read with
:func:`desktop.ml.model_files.weights.load_arrays` (validated header, no pickle). The
tensor names and shapes a file must hold are computed here from the card's hyper-parameters
(:func:`expected_tensors`), mirroring the torch modules' ``state_dict`` names, so no torch
is needed to check a file either.

Why our own code and not ONNX Runtime: the model is Linewatch's own domain (the card, the
file and the architecture all live here), and a 54k-parameter CNN needs five layer types;
ONNX Runtime would add a dependency to the bundle and an export step to every trained or
fine-tuned model, for a forward pass of about a hundred lines of numpy.

Batch norm and the bias before it are folded into the convolution/linear weights at load
time (exact in real arithmetic; float32 rounding differs from torch by ~1e-6). Internally
activations are channel-last ``(batch, samples, channels)`` so each convolution is one
matrix product over sliding windows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from desktop.ml.constants import ARCHITECTURE_DEFAULTS
from desktop.ml.errors import ModelError
from desktop.ml.model_files.weights import TensorSpec, load_arrays

BN_EPS = 1e-5
ARCHITECTURES = tuple(sorted(ARCHITECTURE_DEFAULTS))


# ---------------------------------------------------------------------------- hyper-parameters
def _int(params: Mapping[str, Any], key: str, low: int = 1, high: int = 1 << 16) -> int:
    value = params[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ModelError(f"{key} must be a whole number in [{low}, {high}], got {value!r}")
    return value


def resolve_hyper_parameters(name: str, hyper_parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The card's hyper-parameters over the architecture's defaults, checked like
    :func:`desktop.ml.architectures.build` checks them (unknown names, ranges)."""
    if name not in ARCHITECTURE_DEFAULTS:
        raise ModelError(f"unknown architecture '{name}' (this Linewatch knows: "
                         f"{', '.join(ARCHITECTURES)})")
    known = ARCHITECTURE_DEFAULTS[name]
    unknown = sorted(set(hyper_parameters) - set(known))
    if unknown:
        raise ModelError(f"architecture '{name}' has no hyper-parameters {', '.join(unknown)}")
    p = {**known, **dict(hyper_parameters)}
    channels = p["channels"]
    if (not isinstance(channels, list) or not 2 <= len(channels) <= 8
            or not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= 1024
                       for c in channels)):
        raise ModelError("channels must be a list of 2 to 8 widths in [1, 1024]")
    dropout = p["dropout"]
    if not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise ModelError("dropout must be in [0, 1)")
    _int(p, "in_channels", high=64)
    _int(p, "n_classes", 2, 10000)
    _int(p, "input_length", 16, 1 << 20)
    for key in ("first_kernel", "first_stride", "fc"):
        _int(p, key)
    _int(p, "first_padding", 0)
    if name == "wdcnn_ensemble":
        _int(p, "members", 1, 32)
    if name == "wdcnn_spectral":
        n_freq = p["input_length"] // 2 + 1
        if _int(p, "bands") > n_freq or _int(p, "envelope_bins") > n_freq:
            raise ModelError("too many spectral bands for the input length")
        _int(p, "branch_out")
    return p


def feature_lengths(p: Mapping[str, Any]) -> list[int]:
    """Samples after each Conv → BN → ReLU → MaxPool block of a WDCNN (the last one times
    ``channels[-1]`` is what the head's first Linear reads)."""
    length = (p["input_length"] + 2 * p["first_padding"] - p["first_kernel"]) \
        // p["first_stride"] + 1
    out = []
    for i in range(len(p["channels"])):
        if i > 0:
            last = i == len(p["channels"]) - 1
            length = length if not last else length - 2  # 3 taps, padding 1 (0 on the last)
        if length < 1:
            raise ModelError(f"input_length {p['input_length']} is too short for this network")
        length //= 2
        if length < 1:
            raise ModelError(f"input_length {p['input_length']} is too short for this network")
        out.append(length)
    return out


def _bn_specs(prefix: str, width: int) -> dict[str, TensorSpec]:
    return {f"{prefix}.weight": ((width,), "F32"), f"{prefix}.bias": ((width,), "F32"),
            f"{prefix}.running_mean": ((width,), "F32"),
            f"{prefix}.running_var": ((width,), "F32"),
            f"{prefix}.num_batches_tracked": ((), "I64")}


def _wdcnn_specs(prefix: str, p: Mapping[str, Any], with_head: bool = True
                 ) -> dict[str, TensorSpec]:
    """``features.*`` (and ``head.*``) of one WDCNN, named as its ``nn.Sequential`` is."""
    ch = p["channels"]
    out: dict[str, TensorSpec] = {}
    c_in, kernel = p["in_channels"], p["first_kernel"]
    for i, c_out in enumerate(ch):
        at = 4 * i  # Conv, BN, ReLU, MaxPool per block
        out[f"{prefix}features.{at}.weight"] = ((c_out, c_in, kernel), "F32")
        out[f"{prefix}features.{at}.bias"] = ((c_out,), "F32")
        out.update(_bn_specs(f"{prefix}features.{at + 1}", c_out))
        c_in, kernel = c_out, 3
    if with_head:
        flat = ch[-1] * feature_lengths(p)[-1]
        fc, k = p["fc"], p["n_classes"]
        # head: Flatten, Linear, BN, ReLU, Dropout, Linear
        out[f"{prefix}head.1.weight"] = ((fc, flat), "F32")
        out[f"{prefix}head.1.bias"] = ((fc,), "F32")
        out.update(_bn_specs(f"{prefix}head.2", fc))
        out[f"{prefix}head.5.weight"] = ((k, fc), "F32")
        out[f"{prefix}head.5.bias"] = ((k,), "F32")
    return out


def expected_tensors(name: str, hyper_parameters: Mapping[str, Any]) -> dict[str, TensorSpec]:
    """State-dict key → (shape, safetensors dtype) that ``architectures.build(name, hp)``
    would write, computed without torch (``members.0.features.0.weight``: (16, 1, 64), …)."""
    p = resolve_hyper_parameters(name, hyper_parameters)
    if name == "wdcnn":
        return _wdcnn_specs("", p)
    if name == "wdcnn_ensemble":
        out: dict[str, TensorSpec] = {}
        for m in range(p["members"]):
            out.update(_wdcnn_specs(f"members.{m}.", p))
        return out
    # wdcnn_spectral: features, branch.net (Linear, BN, ReLU), head without Flatten
    out = _wdcnn_specs("", p, with_head=False)
    flat = p["channels"][-1] * feature_lengths(p)[-1]
    b_out, fc, k = p["branch_out"], p["fc"], p["n_classes"]
    out["branch.net.0.weight"] = ((b_out, p["bands"] + p["envelope_bins"]), "F32")
    out["branch.net.0.bias"] = ((b_out,), "F32")
    out.update(_bn_specs("branch.net.1", b_out))
    out["head.0.weight"] = ((fc, flat + b_out), "F32")
    out["head.0.bias"] = ((fc,), "F32")
    out.update(_bn_specs("head.1", fc))
    out["head.4.weight"] = ((k, fc), "F32")
    out["head.4.bias"] = ((k,), "F32")
    return out


# ---------------------------------------------------------------------------- layers
@dataclass(frozen=True)
class _Affine:
    """``y = x @ weight + bias`` with a following eval-mode batch norm folded in;
    ``weight`` is ``(in, out)``: for a convolution ``in`` is ``kernel * channels``."""

    weight: np.ndarray
    bias: np.ndarray


def _fold(weight: np.ndarray, bias: np.ndarray, arrays: Mapping[str, np.ndarray],
          bn: str | None) -> _Affine:
    """Linear/conv ``weight (out, ...)`` and ``bias (out,)`` followed by BatchNorm1d ``bn``
    (eval: ``(z - running_mean) / sqrt(running_var + eps) * weight + bias``) as one affine
    map. Folded in float64, stored float32."""
    w = weight.astype(np.float64).reshape(weight.shape[0], -1)
    b = bias.astype(np.float64)
    if bn is not None:
        scale = arrays[f"{bn}.weight"].astype(np.float64) / np.sqrt(
            arrays[f"{bn}.running_var"].astype(np.float64) + BN_EPS)
        b = (b - arrays[f"{bn}.running_mean"]) * scale + arrays[f"{bn}.bias"]
        w = w * scale[:, None]
    return _Affine(np.ascontiguousarray(w.T, dtype=np.float32), b.astype(np.float32))


def _conv_weight(weight: np.ndarray) -> np.ndarray:
    """torch's ``(out, in, kernel)`` → ``(out, kernel, in)``: matches the channel-last
    sliding windows ``(…, kernel, in)`` flattened."""
    return np.transpose(weight, (0, 2, 1))


def conv1d_channels_last(x: np.ndarray, layer: _Affine, kernel: int, stride: int,
                         padding: int) -> np.ndarray:
    """Conv1d on ``x (batch, samples, in)`` → ``(batch, out_samples, out)`` with
    ``out_samples = (samples + 2 * padding - kernel) // stride + 1``, like torch's Conv1d
    (cross-correlation, zero padding)."""
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (0, 0)))
    win = sliding_window_view(x, kernel, axis=1)[:, ::stride]  # (batch, L', in, kernel)
    n, length = win.shape[:2]
    cols = np.swapaxes(win, 2, 3).reshape(n * length, -1)  # (batch * L', kernel * in)
    return (cols @ layer.weight + layer.bias).reshape(n, length, -1)


def max_pool2_channels_last(x: np.ndarray) -> np.ndarray:
    """MaxPool1d(2) on ``(batch, samples, channels)``; an odd last sample is dropped."""
    n, length, c = x.shape
    half = length // 2
    return x[:, :2 * half].reshape(n, half, 2, c).max(axis=2)


def adaptive_avg_pool(x: np.ndarray, out: int) -> np.ndarray:
    """torch's ``adaptive_avg_pool1d`` on the last axis: bin ``i`` averages
    ``[floor(i * L / out), ceil((i + 1) * L / out))``."""
    length = x.shape[-1]
    i = np.arange(out)
    start = (i * length) // out
    end = -((-(i + 1) * length) // out)
    cum = np.concatenate([np.zeros((*x.shape[:-1], 1)),
                          np.cumsum(x, axis=-1, dtype=np.float64)], axis=-1)
    return (cum[..., end] - cum[..., start]) / (end - start)


def spectral_features(z: np.ndarray, bands: int, envelope_bins: int) -> np.ndarray:
    """The SpectralBranch's input for windows ``z (batch, samples)``: ``(batch, bands +
    envelope_bins)`` = log1p of pooled power-spectrum bands (DC left out) and log1p of the
    envelope (Hilbert magnitude, mean removed) power spectrum bins 1..envelope_bins over n."""
    z = z.astype(np.float64)
    n = z.shape[-1]
    full = np.fft.fft(z, axis=-1)
    half = n // 2 + 1
    power = np.abs(full[:, 1:half]) ** 2
    h = np.zeros(n)  # analytic signal: keep DC, double positive, drop negative frequencies
    h[0] = 1.0
    h[1:(n + 1) // 2] = 2.0
    if n % 2 == 0:
        h[n // 2] = 1.0
    envelope = np.abs(np.fft.ifft(full * h, axis=-1))
    envelope -= envelope.mean(axis=-1, keepdims=True)
    epower = np.abs(np.fft.rfft(envelope, axis=-1))[:, 1:envelope_bins + 1] ** 2
    band = adaptive_avg_pool(power, bands)
    return np.concatenate([np.log1p(band), np.log1p(epower / n)], axis=1).astype(np.float32)


# ---------------------------------------------------------------------------- networks
@dataclass(frozen=True)
class _Block:
    conv: _Affine  # conv + its batch norm
    kernel: int
    stride: int
    padding: int


@dataclass(frozen=True)
class _Branch:
    net: _Affine  # Linear + BatchNorm1d, then ReLU
    bands: int
    envelope_bins: int


@dataclass(frozen=True)
class NumpyWDCNN:
    """One WDCNN (optionally with the spectral branch): ``(batch, channels, samples)`` →
    logits ``(batch, n_classes)``."""

    blocks: tuple[_Block, ...]
    fc: _Affine  # Linear + BatchNorm1d, then ReLU (Dropout is the identity in eval)
    out: _Affine
    branch: _Branch | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = np.ascontiguousarray(np.swapaxes(np.asarray(x, dtype=np.float32), 1, 2))
        for b in self.blocks:
            h = conv1d_channels_last(h, b.conv, b.kernel, b.stride, b.padding)
            np.maximum(h, 0, out=h)
            h = max_pool2_channels_last(h)
        flat = np.swapaxes(h, 1, 2).reshape(h.shape[0], -1)  # torch's (C, L) flatten order
        if self.branch is not None:
            br = self.branch
            f = spectral_features(np.asarray(x)[:, 0], br.bands, br.envelope_bins)
            f = np.maximum(f @ br.net.weight + br.net.bias, 0)
            flat = np.concatenate([flat, f], axis=1)
        z = np.maximum(flat @ self.fc.weight + self.fc.bias, 0)
        return z @ self.out.weight + self.out.bias


def _wdcnn_from(arrays: Mapping[str, np.ndarray], prefix: str, p: Mapping[str, Any],
                spectral: bool) -> NumpyWDCNN:
    blocks = []
    for i in range(len(p["channels"])):
        at = f"{prefix}features.{4 * i}"
        first, last = i == 0, i == len(p["channels"]) - 1
        blocks.append(_Block(
            _fold(_conv_weight(arrays[f"{at}.weight"]), arrays[f"{at}.bias"], arrays,
                  f"{prefix}features.{4 * i + 1}"),
            kernel=p["first_kernel"] if first else 3,
            stride=p["first_stride"] if first else 1,
            padding=p["first_padding"] if first else (0 if last else 1)))
    if not spectral:
        return NumpyWDCNN(
            tuple(blocks),
            _fold(arrays[f"{prefix}head.1.weight"], arrays[f"{prefix}head.1.bias"], arrays,
                  f"{prefix}head.2"),
            _fold(arrays[f"{prefix}head.5.weight"], arrays[f"{prefix}head.5.bias"], arrays,
                  None))
    branch = _Branch(_fold(arrays["branch.net.0.weight"], arrays["branch.net.0.bias"], arrays,
                           "branch.net.1"), p["bands"], p["envelope_bins"])
    return NumpyWDCNN(
        tuple(blocks),
        _fold(arrays["head.0.weight"], arrays["head.0.bias"], arrays, "head.1"),
        _fold(arrays["head.4.weight"], arrays["head.4.bias"], arrays, None), branch)


@dataclass(frozen=True)
class NumpyNet:
    """A fault network for the numpy backend: one WDCNN (``wdcnn``, ``wdcnn_spectral``) or
    several (``wdcnn_ensemble``). Calling it gives the torch module's forward output:
    ``(batch, channels, samples)`` float32 → logits ``(batch, n_classes)`` (an ensemble
    returns ``log(mean softmax)``, clamped at 1e-12 like the torch one)."""

    architecture: str
    members: tuple[NumpyWDCNN, ...]

    def member_logits(self, x: np.ndarray) -> list[np.ndarray]:
        """Every member's logits ``(batch, n_classes)`` (one entry for a single network)."""
        return [m(x) for m in self.members]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        logits = self.member_logits(x)
        if self.architecture != "wdcnn_ensemble":
            return logits[0]
        probs = np.mean([softmax(z) for z in logits], axis=0)
        return np.log(np.maximum(probs, 1e-12))


def from_arrays(name: str, hyper_parameters: Mapping[str, Any],
                arrays: Mapping[str, np.ndarray]) -> NumpyNet:
    """A :class:`NumpyNet` from state-dict arrays (already checked against
    :func:`expected_tensors`)."""
    p = resolve_hyper_parameters(name, hyper_parameters)
    if name == "wdcnn_ensemble":
        members = tuple(_wdcnn_from(arrays, f"members.{m}.", p, False)
                        for m in range(p["members"]))
    else:
        members = (_wdcnn_from(arrays, "", p, name == "wdcnn_spectral"),)
    return NumpyNet(name, members)


def load(name: str, hyper_parameters: Mapping[str, Any], path: Path) -> NumpyNet:
    """Read ``weights.safetensors`` (validated against :func:`expected_tensors`, no pickle)
    into a :class:`NumpyNet`. Raises :class:`ModelError` like the torch loader."""
    return from_arrays(name, hyper_parameters,
                       load_arrays(path, expected_tensors(name, hyper_parameters)))


# ---------------------------------------------------------------------------- outputs
def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits ``(batch, K)``."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logsumexp(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log(sum(exp(z)))`` of ``(batch, K)`` → ``(batch,)``, stable."""
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def member_logits(net: NumpyNet, x: np.ndarray) -> list[np.ndarray]:
    """As :func:`desktop.ml.architectures.member_logits`: raw logits per member."""
    return net.member_logits(x)


def probabilities_and_energy(net: NumpyNet, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`desktop.ml.architectures.probabilities_and_energy`: mean class
    probabilities ``(batch, K)`` and the energy score ``-logsumexp(logits)`` averaged over
    members ``(batch,)``; both float32."""
    logits = net.member_logits(x)
    probs = np.mean([softmax(z) for z in logits], axis=0)
    energy = np.mean([-logsumexp(z) for z in logits], axis=0)
    return probs.astype(np.float32), energy.astype(np.float32)


def parameter_count(name: str, hyper_parameters: Mapping[str, Any]) -> int:
    """Learned weights of the architecture (batch-norm running statistics excluded)."""
    return sum(math.prod(shape) for key, (shape, _) in expected_tensors(name, hyper_parameters)
               .items() if not key.endswith(("running_mean", "running_var",
                                             "num_batches_tracked")))
