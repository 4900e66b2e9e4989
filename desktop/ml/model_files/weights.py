"""Weights on disk: safetensors only, checked before anything is allocated or loaded.

Why we parse the header ourselves first: ``safetensors`` never unpickles, but a hostile or
damaged file can still declare a multi-gigabyte header or tensors, or simply be a pickle
renamed to ``weights.safetensors``. Reading the 8-byte length and the JSON header by hand
lets us refuse such a file with a plain message, and compare every tensor's dtype and shape
with the network the card describes, before a byte of tensor data is read.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop.core.atomic import atomic_write_bytes
from desktop.core.jsonfile import JSONProblem
from desktop.core.jsonfile import loads as json_loads_limited
from desktop.ml.errors import ModelError
from desktop.ml.model_files.files import check_model_file

#: Our models are kilobytes to a few megabytes; the header of a sane file is far smaller.
MAX_HEADER_BYTES = 1 << 20
#: A refusal threshold for whole files: well above anything the app ships or trains.
MAX_WEIGHTS_BYTES = 512 << 20

DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
               "I8": 1, "U8": 1, "BOOL": 1}

TensorSpec = tuple[tuple[int, ...], str]  # (shape, safetensors dtype name)


def read_header(path: Path) -> dict[str, dict[str, Any]]:
    """The tensor table of a safetensors file, validated against the file's real size.

    Refuses: files too short to hold a header, declared header sizes beyond the file or
    beyond :data:`MAX_HEADER_BYTES`, non-JSON headers, unknown dtypes, negative or absurd
    shapes, data ranges that do not match dtype x shape, overlap or run past the end.
    Returns ``{name: {"dtype", "shape", "data_offsets"}}`` without ``__metadata__``.
    """
    size = check_model_file(path, MAX_WEIGHTS_BYTES)  # a regular file of the folder, capped
    if size < 8:
        raise ModelError(f"{path} is truncated ({size} bytes): not a safetensors file")
    with open(path, "rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        if header_len > size - 8:
            raise ModelError(f"{path} is not a safetensors file or is truncated: its header "
                             f"claims {header_len} bytes but the file holds {size - 8}")
        if header_len > MAX_HEADER_BYTES:
            raise ModelError(f"{path}: safetensors header of {header_len} bytes refused "
                             f"(limit {MAX_HEADER_BYTES})")
        raw = fh.read(header_len)
    try:
        header = json_loads_limited(raw)
    except JSONProblem as exc:
        raise ModelError(f"{path} is not a safetensors file (header {exc})") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path} is not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    data_len = size - 8 - header_len
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        _check_entry(path, name, entry, data_len)
        begin, end = entry["data_offsets"]
        spans.append((begin, end, name))
    spans.sort()
    for (_, end_a, name_a), (begin_b, _, name_b) in itertools.pairwise(spans):
        if begin_b < end_a:
            raise ModelError(f"{path}: tensors '{name_a}' and '{name_b}' overlap")
    return header


def _check_entry(path: Path, name: str, entry: object, data_len: int) -> None:
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise ModelError(f"{path}: tensor '{name}' has a malformed header entry")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPE_SIZES:
        raise ModelError(f"{path}: tensor '{name}' has unsupported dtype {dtype!r}")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 40
                       for d in shape)):
        raise ModelError(f"{path}: tensor '{name}' has an invalid shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
        raise ModelError(f"{path}: tensor '{name}' has invalid data offsets")
    begin, end = offsets
    nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
    if not 0 <= begin <= end or end - begin != nbytes:
        raise ModelError(f"{path}: tensor '{name}' declares {nbytes} bytes "
                         f"({dtype} {shape}) but its data range is {offsets}")
    if end > data_len:
        raise ModelError(f"{path} is truncated: tensor '{name}' needs bytes up to {end} "
                         f"but only {data_len} are present")


def check_against(path: Path, header: Mapping[str, Mapping[str, Any]],
                  expected: Mapping[str, TensorSpec]) -> None:
    """Every expected tensor present with its shape and dtype, and nothing else."""
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:5])}{' …' if len(extra) > 5 else ''}")
        raise ModelError(f"{path} does not match its card's architecture: {'; '.join(parts)}")
    for name, (shape, dtype) in expected.items():
        got_shape, got_dtype = tuple(header[name]["shape"]), header[name]["dtype"]
        if got_shape != tuple(shape) or got_dtype != dtype:
            raise ModelError(f"{path} does not match its card: tensor '{name}' is {got_dtype} "
                             f"{list(got_shape)}, the card's architecture needs {dtype} "
                             f"{list(shape)}")


def load_tensors(path: Path, expected: Mapping[str, TensorSpec]) -> dict[str, Any]:
    """Validated load into torch tensors on the CPU (``safetensors.torch``, no pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    header = read_header(path)
    check_against(path, header, expected)
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc


def load_arrays(path: Path, expected: Mapping[str, TensorSpec]) -> dict[str, Any]:
    """Validated load into numpy arrays, for models that need no torch at all."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    header = read_header(path)
    check_against(path, header, expected)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc


def save_tensors(path: Path, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None
                 ) -> str:
    """Write atomically (:func:`desktop.core.atomic.atomic_write_bytes`) and return the
    file's SHA-256.

    Accepts torch tensors or numpy arrays (not mixed). The atomic replace means a crash
    mid-write never leaves a truncated ``weights.safetensors`` behind a valid card.
    Raises ``OSError`` when the folder cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    first = next(iter(tensors.values()))
    meta = dict(metadata or {})
    if hasattr(first, "detach"):
        from safetensors.torch import save

        data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
                    metadata=meta)
    else:
        import numpy as np
        from safetensors.numpy import save as save_np

        data = save_np({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=meta)
    atomic_write_bytes(path, data)
    os.chmod(path, 0o644)  # the temp file was private; a model folder is shareable
    return hashlib.sha256(data).hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


TORCH_DTYPE_NAMES = {"torch.float64": "F64", "torch.float32": "F32", "torch.float16": "F16",
                     "torch.bfloat16": "BF16", "torch.int64": "I64", "torch.int32": "I32",
                     "torch.int16": "I16", "torch.int8": "I8", "torch.uint8": "U8",
                     "torch.bool": "BOOL"}


def expected_from_state_dict(state: Mapping[str, Any]) -> dict[str, TensorSpec]:
    """The tensor table a freshly built network would write: what its file must hold."""
    return {k: (tuple(v.shape), TORCH_DTYPE_NAMES[str(v.dtype)]) for k, v in state.items()}


def save_model_folder(folder: Path, card: Any, tensors: Mapping[str, Any]) -> Path:
    """Write a complete model folder: weights first, then the card naming their SHA-256.

    The card is written last so that a folder with a card always has its weights; the
    checksum in the card makes a later swap of the weights file detectable.
    """
    from desktop.ml.model_files.card import WEIGHTS_FILE

    sha = save_tensors(folder / WEIGHTS_FILE, tensors)
    card.training_data = {**card.training_data, "weights_sha256": sha}
    card.save(folder)
    return folder
