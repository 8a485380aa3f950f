"""Export: every model family, trained a few steps, gives the same probabilities through
onnxruntime and TorchScript as in PyTorch, from the raw input (front end inside the graph)."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch
from torch import nn

import audioconv
from audioconv import export as export_module
from audioconv import models
from audioconv.errors import CheckpointError, ConfigError
from audioconv.export import InferenceModel, export_checkpoint, export_onnx, export_torchscript
from audioconv.features import MFCC, LogMel, Standardize
from audioconv.tasks import Classifier

# Module-scoped exports are shared: keep this file on one xdist worker.
pytestmark = pytest.mark.xdist_group("export")

RATE = 8000
ATOL = 1e-4


def _fitted(frontend: nn.Module, scaler_input: torch.Tensor) -> nn.Sequential:
    """frontend followed by Standardize(mode="dataset") fitted on its output."""
    with torch.no_grad():
        features = frontend(scaler_input)
    return nn.Sequential(frontend, Standardize(mode="dataset", per_bin=True).fit([features]))


def conv1d_waveform():
    backbone = models.create("conv1d", dims=1, in_channels=1, num_classes=3, filters=(4, 8))
    return InferenceModel(backbone, task="multiclass", sample_rate=RATE), (1, 800)


def spectrogram_cnn_logmel():
    frontend = LogMel(sample_rate=RATE, n_fft=256, hop_length=128, n_mels=16)
    backbone = models.create(
        "spectrogram_cnn", dims=2, in_channels=1, num_classes=3, channels=(4, 8)
    )
    frontend = _fitted(frontend, torch.randn(8, 1, 4000))
    model = InferenceModel(
        backbone,
        frontend=frontend,
        task="multiclass",
        sample_rate=RATE,
        class_names=["yes", "no", "up"],
    )
    return model, (1, 4000)


def wavenet_binary():
    backbone = models.create(
        "wavenet",
        dims=1,
        in_channels=1,
        num_classes=1,
        dilations=(1, 2, 4),
        cycles=1,
        channels=4,
        gate_channels=4,
        skip_channels=8,
    )
    return InferenceModel(backbone, task="binary", sample_rate=RATE), (1, 800)


def resnet18_1d_sensor():
    # A 3-axis sensor window, standardised per channel with fitted statistics, multilabel.
    backbone = models.create("resnet18", dims=1, in_channels=3, num_classes=4, widths=(4, 4, 8, 8))
    frontend = Standardize(mode="dataset", per_bin=True).fit([torch.randn(16, 3, 256) * 2 + 1])
    model = InferenceModel(
        backbone, frontend=frontend, task="multilabel", sample_rate=50, input_kind="sensor"
    )
    return model, (3, 256)


def resnet18_2d_mfcc():
    frontend = MFCC(sample_rate=RATE, n_mfcc=13, n_fft=256, hop_length=128, n_mels=20)
    backbone = models.create("resnet18", dims=2, in_channels=1, num_classes=3, widths=(4, 4, 8, 8))
    return InferenceModel(backbone, frontend=frontend, sample_rate=RATE), (1, 4000)


def lenet5_image():
    backbone = models.create("lenet5", dims=2, in_channels=1, num_classes=10)
    return InferenceModel(backbone, task="multiclass", input_kind="image"), (1, 32, 32)


# family -> (builder, whether the ONNX graph takes any length)
FAMILIES = {
    "conv1d": (conv1d_waveform, True),
    "spectrogram_cnn": (spectrogram_cnn_logmel, True),
    "wavenet": (wavenet_binary, True),
    "resnet18_1d": (resnet18_1d_sensor, True),
    "resnet18_2d": (resnet18_2d_mfcc, True),
    # adaptive pooling to 5x5 is exported for the example's size only -> static ONNX graph
    "lenet5": (lenet5_image, False),
}


def train_a_few_steps(model: InferenceModel, shape: tuple[int, ...], steps: int = 3) -> None:
    """Adam steps on random data with the loss of the model's task, then eval mode."""
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        x = torch.randn((6, *shape), generator=generator)
        features = model.frontend(x) if model.frontend is not None else x
        logits = model.backbone(features)
        if model.task == "multiclass":
            loss = nn.functional.cross_entropy(logits, torch.arange(6) % logits.shape[1])
        elif model.task == "binary":
            loss = nn.functional.binary_cross_entropy_with_logits(logits[:, 0], torch.ones(6))
        else:
            target = (torch.rand(logits.shape, generator=generator) > 0.5).float()
            loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


@pytest.fixture(scope="module", params=list(FAMILIES))
def exported(request, tmp_path_factory):
    """(family, trained model, one input shape, ONNX path, TorchScript path); one export each."""
    torch.manual_seed(0)
    builder, _ = FAMILIES[request.param]
    model, shape = builder()
    before = [p.detach().clone() for p in model.parameters()]
    train_a_few_steps(model, shape)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    folder = tmp_path_factory.mktemp(request.param)
    example = torch.randn((1, *shape))
    # The expected answer is given (dynamic_time=None would find it too, at the cost of a second
    # export for lenet5: see test_auto_length_falls_back_to_static).
    onnx_path = export_onnx(
        model, folder / "model.onnx", example_input=example, dynamic_time=FAMILIES[request.param][1]
    )
    ts_path = export_torchscript(model, folder / "model.pt", example)
    return request.param, model, shape, onnx_path, ts_path


def inputs_to_compare(family: str, shape: tuple[int, ...], dynamic: bool):
    """Random inputs of two batch sizes, and two lengths when the length is dynamic."""
    generator = torch.Generator().manual_seed(1)
    lengths = [shape[-1], shape[-1] * 3 // 2 + 7] if dynamic else [shape[-1]]
    for batch in (1, 4):
        for length in lengths:
            size = (*shape[:-1], length)
            if family == "lenet5" and dynamic:
                size = (shape[0], length, length)
            yield torch.randn((batch, *size), generator=generator)


def test_onnx_matches_pytorch(exported):
    family, model, shape, onnx_path, _ = exported
    _, dynamic = FAMILIES[family]
    metadata = json.loads(onnx_path.with_name("model.onnx.json").read_text())
    assert metadata["input_shape"] == [None, *shape[:-1], None if dynamic else shape[-1]]
    if family == "lenet5":
        assert metadata["input_shape"] == [None, 1, 32, 32]
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for x in inputs_to_compare(family, shape, dynamic):
        got = session.run(None, {"input": x.numpy()})[0]
        with torch.inference_mode():
            expected = model(x).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL, err_msg=str(x.shape))


def test_torchscript_matches_pytorch(exported):
    family, model, shape, _, ts_path = exported
    files = {"audioconv.json": ""}
    loaded = torch.jit.load(str(ts_path), _extra_files=files)
    metadata = json.loads(files["audioconv.json"])
    assert metadata == json.loads(ts_path.with_name("model.pt.json").read_text())
    # Tracing keeps every op, adaptive pooling included: all these families take any length.
    assert metadata["input_shape"][-1] is None
    for x in inputs_to_compare(family, shape, dynamic=True):
        with torch.inference_mode():
            expected = model(x).numpy()
            got = loaded(x).numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL, err_msg=str(x.shape))


def test_sidecar_describes_the_model(exported):
    family, model, shape, onnx_path, _ = exported
    metadata = json.loads(onnx_path.with_name("model.onnx.json").read_text())
    assert metadata["task"] == model.task and metadata["format"] == "onnx"
    assert metadata["class_names"] == model.class_names
    assert metadata["sample_rate"] == model.sample_rate
    assert metadata["input_kind"] == model.input_kind
    assert metadata["library_version"] == audioconv.__version__
    assert metadata["example_input_shape"] == [None, *shape]
    if model.frontend is None:
        assert metadata["frontend"] is None
    else:
        assert type(model.frontend).__name__ in metadata["frontend"]


def _classifier_checkpoint(tmp_path, **extra_hparams):
    classifier = Classifier(
        task="multiclass",
        num_classes=3,
        class_names=["a", "b", "c"],
        backbone_config=(
            "spectrogram_cnn",
            {"dims": 2, "in_channels": 1, "num_classes": 3, "channels": (4, 8)},
        ),
        frontend_config=(
            "audioconv.features.LogMel",
            {"sample_rate": RATE, "n_fft": 256, "hop_length": 128, "n_mels": 16},
        ),
    )
    classifier.hparams.update(extra_hparams)
    path = tmp_path / "model.ckpt"
    torch.save(
        {"hyper_parameters": dict(classifier.hparams), "state_dict": classifier.state_dict()}, path
    )
    return classifier.eval(), path


def test_export_checkpoint_matches_predict_step(tmp_path):
    classifier, ckpt = _classifier_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="input shape"):
        export_checkpoint(ckpt, output=tmp_path / "x.onnx", sample_rate=RATE)
    out = export_checkpoint(
        ckpt, format="onnx", output=tmp_path / "m.onnx", sample_rate=RATE, input_shape=(1, 4000)
    )
    metadata = json.loads((tmp_path / "m.onnx.json").read_text())
    assert metadata["class_names"] == ["a", "b", "c"] and metadata["sample_rate"] == RATE
    x = torch.randn(5, 1, 4000)
    with torch.inference_mode():
        expected = classifier.predict_step(x, 0).numpy()
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], expected, atol=ATOL)


def test_export_checkpoint_reads_hparams(tmp_path):
    # sample_rate / input_shape / input_kind stored in the Classifier's hparams by training.
    classifier, ckpt = _classifier_checkpoint(
        tmp_path, sample_rate=RATE, input_shape=[1, 4000], input_kind="audio"
    )
    out = export_checkpoint(ckpt, format="torchscript", output=tmp_path / "m.pt")
    metadata = json.loads((tmp_path / "m.pt.json").read_text())
    assert metadata["sample_rate"] == RATE and metadata["example_input_shape"] == [None, 1, 4000]
    x = torch.randn(2, 1, 6000)
    with torch.inference_mode():
        np.testing.assert_allclose(
            torch.jit.load(str(out))(x), classifier.predict_step(x, 0), atol=ATOL
        )


def test_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    model = InferenceModel(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), sample_rate=RATE)
    target = tmp_path / "model.onnx"
    target.write_bytes(b"previous model")
    monkeypatch.setattr(export_module, "VERIFY_ATOL", -1.0)  # every check fails
    with pytest.raises(RuntimeError, match="disagrees with PyTorch"):
        export_onnx(model, target, example_input=torch.randn(2, 1, 64), dynamic_time=False)
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_onnxruntime_error_text_surfaces(tmp_path, monkeypatch):
    """onnxruntime's own error (here: a float64 input to a float32 graph) is quoted and chained,
    not turned into an unexplained mismatch."""

    class Float64Session(onnxruntime.InferenceSession):
        def run(self, outputs, feed, *args, **kwargs):
            feed = {name: value.astype(np.float64) for name, value in feed.items()}
            return super().run(outputs, feed, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", Float64Session)
    model = InferenceModel(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), sample_rate=RATE)
    with pytest.raises(RuntimeError, match=r"fails on an input .*InvalidArgument.*double") as info:
        export_onnx(model, tmp_path / "m.onnx", example_input=torch.randn(2, 1, 64))
    assert type(info.value.__cause__).__module__.startswith("onnxruntime")
    assert str(info.value.__cause__) in str(info.value)
    assert list(tmp_path.iterdir()) == []


class AdaptivePoolNet(nn.Module):
    """(batch, 1, H, W) -> (batch, 2): adaptive average pooling to 2x2, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).flatten(1))  # (batch, 2, 2, 2) -> (batch, 8)


def test_auto_length_falls_back_to_static(tmp_path):
    # Eager PyTorch takes any size, but the exported graph is only right at the example's size:
    # dynamic_time=None must notice and export a static graph; TorchScript keeps the real op.
    model = InferenceModel(AdaptivePoolNet(), input_kind="image").eval()
    example = torch.randn(2, 1, 10, 10)
    assert export_module.accepts_any_length(model, example)
    onnx_path = export_onnx(model, tmp_path / "m.onnx", example_input=example)
    assert json.loads((tmp_path / "m.onnx.json").read_text())["input_shape"] == [None, 1, 10, 10]
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 1, 10, 10)
    with torch.inference_mode():
        np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], model(x), atol=ATOL)
    export_torchscript(model, tmp_path / "m.pt", example)
    assert json.loads((tmp_path / "m.pt.json").read_text())["input_shape"] == [None, 1, None, None]


def test_invalid_options(tmp_path):
    fixed = InferenceModel(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)))
    with pytest.raises(ConfigError, match="dynamic_time=True"):
        export_onnx(
            fixed, tmp_path / "m.onnx", example_input=torch.randn(2, 1, 64), dynamic_time=True
        )
    with pytest.raises(ConfigError, match="example_input"):
        export_onnx(fixed, tmp_path / "m.onnx", example_input=torch.randn(64))
    with pytest.raises(ConfigError, match="task='ranking'"):
        InferenceModel(fixed, task="ranking")
    with pytest.raises(ConfigError, match="format='tflite'"):
        export_checkpoint(tmp_path / "x.ckpt", format="tflite", output=tmp_path / "m")
    trained = Classifier(
        models.create("conv1d", dims=1, in_channels=1, num_classes=1), task="binary"
    )  # its outputs are logits, which a runtime would read as probabilities
    for export in (export_onnx, export_torchscript):
        with pytest.raises(ConfigError, match="InferenceModel.from_classifier"):
            export(trained, tmp_path / "m.onnx", example_input=torch.randn(2, 1, 64))
    assert not (tmp_path / "m.onnx").exists()


def test_every_runtime_carries_and_applies_the_recorded_contract(tmp_path):
    import onnx

    from audioconv.contract import InputContract
    from audioconv.deploy import OnnxClassifier, load_predictor
    from audioconv.export import CheckpointClassifier, TorchScriptClassifier

    contract = InputContract(sample_rate=RATE, window=4000, hop=1000, threshold=0.4)
    _, ckpt = _classifier_checkpoint(
        tmp_path,
        sample_rate=RATE,
        input_shape=[1, 4000],
        input_kind="audio",
        input_contract=contract.to_dict(),
    )
    onnx_file = export_checkpoint(ckpt, output=tmp_path / "m.onnx")
    script_file = export_checkpoint(ckpt, format="torchscript", output=tmp_path / "m.pt")
    props = {p.key: json.loads(p.value) for p in onnx.load(str(onnx_file)).metadata_props}
    assert props["audioconv.input_contract"] == contract.to_dict()
    assert props["audioconv"]["class_names"] == ["a", "b", "c"]
    extra = {"audioconv.json": ""}
    torch.jit.load(str(script_file), _extra_files=extra)
    assert json.loads(extra["audioconv.json"])["input_contract"] == contract.to_dict()

    clip = np.random.default_rng(0).standard_normal((2, 9000)).astype(np.float32)  # stereo, long
    runtimes = [load_predictor(f) for f in (ckpt, onnx_file, script_file)]
    assert [type(r) for r in runtimes] == [
        CheckpointClassifier,
        OnnxClassifier,
        TorchScriptClassifier,
    ]
    windows = contract.apply(clip)  # mono mix, windows at 0, 1000, ..., 5000
    assert windows.shape == (6, 1, 4000)
    reference = None
    for runtime in runtimes:
        assert runtime.contract == contract and runtime.threshold == 0.4
        prediction = runtime.predict(clip, per_window=True)
        assert prediction.windows.shape == (6, 3)
        if reference is None:
            reference = prediction
        np.testing.assert_allclose(prediction.probabilities, reference.probabilities, atol=ATOL)
        np.testing.assert_allclose(prediction.windows, reference.windows, atol=ATOL)
        assert prediction.label == reference.label
    np.testing.assert_allclose(
        reference.probabilities, reference.windows.mean(0), rtol=0, atol=1e-6
    )
    with pytest.raises(ConfigError, match="threshold=0.7 given for a multiclass model"):
        load_predictor(onnx_file, threshold=0.7)  # it would change nothing, silently
