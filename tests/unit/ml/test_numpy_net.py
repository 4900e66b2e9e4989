"""The numpy backend (desktop.ml.inference.numpy_net) against torch, and the lean build.

The lean installer ships no torch; every fault model must then give the same answers
through numpy. Checked here on the shipped ensemble (real CWRU windows and random ones), on
freshly built ``wdcnn`` and ``wdcnn_spectral`` networks with non-trivial batch-norm
statistics, through ``FaultPredictor`` with ``LINEWATCH_BACKEND=numpy``, and in a
subprocess where ``import torch`` fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.analysis.windows import frame, zscore
from desktop.ml import architectures
from desktop.ml.errors import ModelError
from desktop.ml.inference import numpy_net
from desktop.ml.inference.predictors import FaultPredictor, load_predictor, resolve_device
from desktop.ml.model_files.registry import resolve
from desktop.ml.model_files.weights import expected_from_state_dict, save_tensors

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "cwru_excerpt.npz"
ATOL_PROBS, ATOL_ENERGY = 1e-4, 1e-3
SMALL = {"channels": [8, 16, 16], "fc": 16}


@pytest.fixture(scope="module")
def excerpts() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k].astype(np.float64) for k in z.files}


@pytest.fixture(scope="module")
def torch_model() -> FaultPredictor:
    p = load_predictor("fault-cwru", device="cpu", backend="torch")
    assert isinstance(p, FaultPredictor) and p.backend == "torch"
    return p


def _windows(excerpts: dict[str, np.ndarray]) -> np.ndarray:
    """Real windows (every class of the excerpt, hop 512) and random ones (white noise,
    a tone, a near-constant window), z-scored as the card says."""
    real = np.concatenate([frame(x, 2048, 512) for x in excerpts.values()])
    rng = np.random.default_rng(1)
    t = np.arange(2048) / 12000.0
    rand = np.stack([rng.standard_normal(2048) * 3, np.sin(2 * np.pi * 157 * t),
                     1e-3 * rng.standard_normal(2048) + 5.0,
                     rng.laplace(size=2048) * rng.uniform(0, 2, 2048)])
    return zscore(np.concatenate([real, rand]))


def _torch_outputs(model: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.inference_mode():
        p, e = architectures.probabilities_and_energy(model.eval(), torch.from_numpy(x))
    return p.numpy(), e.numpy()


def _randomise_batch_norm(model: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) * 2 + 0.3)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(n, generator=gen) * 0.6 - 0.3)
                m.num_batches_tracked.fill_(7)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("name", numpy_net.ARCHITECTURES)
@pytest.mark.parametrize("hp", [{}, SMALL, {**SMALL, "input_length": 1001, "first_padding": 3}])
def test_expected_tensors_match_the_torch_state_dict(name: str, hp: dict) -> None:
    if name == "wdcnn_ensemble":
        hp = {**hp, "members": 2}
    model = architectures.build(name, hp)
    assert numpy_net.expected_tensors(name, hp) == expected_from_state_dict(model.state_dict())


def test_shipped_model_file_matches_expected_tensors(torch_model: FaultPredictor) -> None:
    card = torch_model.card
    spec = numpy_net.expected_tensors(card.architecture, card.hyper_parameters)
    assert spec["members.0.features.0.weight"] == ((16, 1, 64), "F32")
    assert spec["members.4.head.1.weight"] == ((100, 192), "F32")
    assert spec["members.0.head.2.num_batches_tracked"] == ((), "I64")
    assert numpy_net.parameter_count(card.architecture, card.hyper_parameters) == sum(
        p.numel() for p in torch_model.model.parameters())


def test_bad_hyper_parameters_are_refused_without_torch() -> None:
    with pytest.raises(ModelError, match="no hyper-parameters widht"):
        numpy_net.expected_tensors("wdcnn", {"widht": 3})
    with pytest.raises(ModelError, match="unknown architecture 'resnet'"):
        numpy_net.expected_tensors("resnet", {})
    with pytest.raises(ModelError, match="too short"):
        numpy_net.expected_tensors("wdcnn", {"input_length": 64})
    with pytest.raises(ModelError, match="channels"):
        numpy_net.expected_tensors("wdcnn", {"channels": [16]})


@pytest.mark.parametrize(("length", "out"), [(1024, 64), (1000, 64), (7, 3), (3, 5), (65, 64)])
def test_adaptive_pool_bins_match_torch(length: int, out: int) -> None:
    x = np.random.default_rng(length).random((2, length))
    want = torch.nn.functional.adaptive_avg_pool1d(torch.from_numpy(x)[:, None], out)[:, 0]
    np.testing.assert_allclose(numpy_net.adaptive_avg_pool(x, out), want.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------- equivalence
def test_shipped_ensemble_matches_torch(torch_model: FaultPredictor, excerpts) -> None:
    card = torch_model.card
    net = numpy_net.load(card.architecture, card.hyper_parameters,
                         torch_model.folder / "weights.safetensors")
    x = _windows(excerpts)[:, None].astype(np.float32)
    p_t, e_t = _torch_outputs(torch_model.model, x)
    p_n, e_n = numpy_net.probabilities_and_energy(net, x)
    np.testing.assert_allclose(p_n, p_t, atol=ATOL_PROBS)
    np.testing.assert_allclose(e_n, e_t, atol=ATOL_ENERGY)
    assert (p_n.argmax(1) == p_t.argmax(1)).all()
    with torch.inference_mode():
        logits_t = torch_model.model(torch.from_numpy(x)).numpy()
        members_t = architectures.member_logits(torch_model.model, torch.from_numpy(x))
    np.testing.assert_allclose(net(x), logits_t, atol=1e-3)
    for a, b in zip(numpy_net.member_logits(net, x), members_t, strict=True):
        np.testing.assert_allclose(a, b.numpy(), atol=1e-3)


@pytest.mark.parametrize(("name", "hp"), [
    ("wdcnn", {}),
    ("wdcnn", {**SMALL, "input_length": 1001, "first_padding": 3, "first_stride": 7}),
    ("wdcnn_spectral", {}),
    ("wdcnn_spectral", {**SMALL, "input_length": 1001, "first_padding": 3, "bands": 50,
                        "envelope_bins": 30, "branch_out": 8}),
    ("wdcnn_ensemble", {**SMALL, "members": 3}),
])
def test_fresh_random_network_matches_torch(name: str, hp: dict, tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = architectures.build(name, hp).eval()
    _randomise_batch_norm(model, 4)
    path = tmp_path / "weights.safetensors"
    save_tensors(path, model.state_dict())
    net = numpy_net.load(name, hp, path)
    n = hp.get("input_length", 2048)
    rng = np.random.default_rng(5)
    x = zscore(np.concatenate([rng.standard_normal((40, n)),
                               np.sin(np.arange(n) / rng.uniform(1, 30, (8, 1)))]))
    x = x[:, None].astype(np.float32)
    p_t, e_t = _torch_outputs(model, x)
    p_n, e_n = numpy_net.probabilities_and_energy(net, x)
    np.testing.assert_allclose(p_n, p_t, atol=ATOL_PROBS)
    np.testing.assert_allclose(e_n, e_t, atol=ATOL_ENERGY)
    with torch.inference_mode():
        np.testing.assert_allclose(net(x), model(torch.from_numpy(x)).numpy(), atol=1e-3)


def test_numpy_backend_gives_the_torch_verdicts(torch_model: FaultPredictor, excerpts,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEWATCH_BACKEND", "numpy")
    lean = load_predictor("fault-cwru", device="auto")
    assert isinstance(lean, FaultPredictor)
    assert lean.backend == "numpy" and lean.device == "cpu"
    assert isinstance(lean.model, numpy_net.NumpyNet)
    for label, x in excerpts.items():
        want = torch_model.predict_signal(x, 12000.0, hop=512)
        got = lean.predict_signal(x, 12000.0, hop=512)
        assert [v.label for v in got] == [v.label for v in want]
        assert [v.reason for v in got] == [v.reason for v in want]
        assert {v.label for v in got} == {label}
        for a, b in zip(got, want, strict=True):
            assert a.probability == pytest.approx(b.probability, abs=ATOL_PROBS)
            assert a.ood_score == pytest.approx(b.ood_score, abs=ATOL_ENERGY)
    w = frame(excerpts["normal"], 2048, 1024)
    (p_n, e_n), (p_t, e_t) = lean.predict_windows_scored(w), torch_model.predict_windows_scored(w)
    assert p_n.dtype == p_t.dtype == np.float32 and e_n.dtype == e_t.dtype == np.float32
    np.testing.assert_allclose(p_n, p_t, atol=ATOL_PROBS)
    assert lean.predict_windows_scored(w[:0])[0].shape == (0, 10)


def test_backend_choice_and_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("auto", "numpy") == "cpu"
    assert resolve_device("cpu", "numpy") == "cpu"
    with pytest.raises(ModelError, match="numpy backend"):
        resolve_device("cuda", "numpy")
    with pytest.raises(ModelError, match="unknown device"):
        resolve_device("tpu", "numpy")
    monkeypatch.setenv("LINEWATCH_BACKEND", "onnx")
    with pytest.raises(ModelError, match="LINEWATCH_BACKEND"):
        load_predictor("fault-cwru")
    monkeypatch.setenv("LINEWATCH_BACKEND", "torch")
    p = load_predictor(resolve("fault-cwru"), device="cpu")
    assert isinstance(p, FaultPredictor) and p.backend == "torch"


# ---------------------------------------------------------------------------- lean build
LEAN_SCRIPT = r"""
import json, sys

class NoTorch:
    # A lean build: `import torch` fails. (sys.modules['torch'] = None would do that too,
    # but scipy's array-API helper then reads attributes of that None entry and breaks.)
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoTorch())
import numpy as np
import desktop.ml.inference.batch, desktop.ml.inference.file_verdicts
import desktop.ml.inference.live, desktop.ml.inference.open_set
import desktop.ml.model_files.card, desktop.ml.model_files.registry
import desktop.ml.model_files.versions, desktop.ml.model_files.weights
from desktop.cli import main
from desktop.ml.inference.predictors import load_predictor, resolve_device

p = load_predictor("fault-cwru")
with np.load(sys.argv[1], allow_pickle=False) as z:
    x = z["inner_021"].astype(np.float64)
labels = [v.label for v in p.predict_signal(x, 12000.0, hop=512)]
rc_train = main(["train", "--recipe", "fault-cwru", "--data", sys.argv[2]])
rc_explain = main(["predict", sys.argv[3], "--rate", "12000", "--explain"])
print(json.dumps({"backend": p.backend, "device": resolve_device("auto"), "labels": labels,
                  "rc_train": rc_train, "rc_explain": rc_explain,
                  "torch_imported": "torch" in sys.modules}))
"""


def test_lean_build_predicts_and_refuses_training(tmp_path: Path, excerpts) -> None:
    rec = tmp_path / "rec.csv"
    np.savetxt(rec, excerpts["outer_007"], header="DE_time", comments="")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LINEWATCH_BACKEND", None)
    done = subprocess.run([sys.executable, "-c", LEAN_SCRIPT, str(FIXTURE), str(tmp_path),
                           str(rec)], capture_output=True, text=True, env=env, timeout=240,
                          check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == "numpy" and out["device"] == "cpu"
    assert out["labels"] and set(out["labels"]) == {"inner_021"}
    assert out["rc_train"] == 1 and out["rc_explain"] == 1
    assert not out["torch_imported"]
    lines = [ln for ln in done.stderr.splitlines() if "needs torch" in ln]
    assert lines == [
        "linewatch: linewatch train needs torch, which this lean build leaves out: use the "
        "full build or a source install",
        "linewatch: predict --explain needs torch, which this lean build leaves out: use the "
        "full build or a source install"]
    assert "Traceback" not in done.stderr
