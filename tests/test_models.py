"""Registry-driven tests: every registered model, in every dims it supports, honours the backbone
contract of docs/architecture.md (forward + backward, head swap, features, too-small inputs)."""

from __future__ import annotations

import pytest
import torch

from audioconv import models
from audioconv.errors import ConfigError, InputTooSmallError

# The 4096-wide MLP heads of alexnet / vgg dominate the run time but not the structure under
# test; their full-size parameter counts are checked in test_model_params.py.
SMALL_HEAD = {"hidden": 32}
CASES = [
    (name, dims) for name in models.list_models() for dims in models.registered_model(name).dims
]


def _build(name: str, dims: int, *, in_channels: int = 2, num_classes: int = 5):
    kwargs = SMALL_HEAD if name.startswith(("vgg", "alexnet")) else {}
    return models.create(
        name, dims=dims, in_channels=in_channels, num_classes=num_classes, **kwargs
    )


def _input(model, size: int, *, batch: int = 2, in_channels: int = 2) -> torch.Tensor:
    return torch.randn(batch, in_channels, *([size] * model.dims))


@pytest.fixture(scope="module", params=CASES, ids=[f"{n}-{d}d" for n, d in CASES])
def case(request):
    torch.manual_seed(0)
    name, dims = request.param
    return name, dims, _build(name, dims)


def test_forward_backward_at_min_input_size(case):
    name, dims, model = case
    model.train()
    x = _input(model, model.min_input_size).requires_grad_()
    logits = model(x)
    assert logits.shape == (2, 5)
    logits.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads), name
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_larger_non_square_input_runs(case):
    _name, dims, model = case
    model.eval()
    size = (model.min_input_size + 5, model.min_input_size + 9)[:dims]
    with torch.no_grad():
        assert model(torch.randn(1, 2, *size)).shape == (1, 5)


def test_reset_classifier_changes_width_and_zero_gives_features(case):
    _name, _dims, model = case
    model.eval()
    x = _input(model, model.min_input_size)
    with torch.no_grad():
        features = model.forward_head(model.forward_features(x), pre_logits=True)
        model.reset_classifier(3)
        assert model(x).shape == (2, 3)
        model.reset_classifier(0)
        pooled = model(x)
    assert pooled.shape == (2, model.num_features)
    torch.testing.assert_close(pooled, features)
    model.reset_classifier(5)


def test_too_small_input_raises(case):
    name, _dims, model = case
    x = _input(model, model.min_input_size - 1)
    with pytest.raises(InputTooSmallError, match=rf"{name}.*minimum {model.min_input_size}"):
        model(x)


@pytest.mark.parametrize(
    "name", ["conv1d", "conv_stack", "alexnet", "vgg11", "lenet5", "spectrogram_cnn"]
)
def test_min_input_size_is_tight(name):
    """One below the minimum, the layers themselves fail (the check is not over-cautious)."""
    dims = models.registered_model(name).dims[-1]
    model = _build(name, dims).eval()
    x = _input(model, model.min_input_size - 1)
    with pytest.raises(RuntimeError):
        model.head(model.features(x))


def test_wrong_channels_or_rank_is_a_config_error():
    model = _build("fcn", 1)
    with pytest.raises(ConfigError, match="in_channels=2"):
        model(torch.zeros(2, 3, 20))
    with pytest.raises(ConfigError, match=r"\(batch, channels, time\)"):
        model(torch.zeros(2, 2, 20, 20))


def test_unsupported_dims_names_supported_ones():
    with pytest.raises(ConfigError, match="dims=1"):
        models.create("wavenet", dims=2, in_channels=1, num_classes=2)
    with pytest.raises(ConfigError, match="dims=2"):
        models.create("lenet5", dims=1, in_channels=1, num_classes=2)


def test_unknown_name_lists_models_and_a_close_match():
    with pytest.raises(ConfigError, match=r"Did you mean 'resnet18'.*alexnet"):
        models.create("resnet81", dims=2, in_channels=1, num_classes=2)


def test_unknown_option_lists_the_options():
    with pytest.raises(ConfigError, match=r"no option dilation.*cycles, dilations"):
        models.create("wavenet", dims=1, in_channels=1, num_classes=2, dilation=(1, 2))


def test_registering_a_taken_name_fails():
    with pytest.raises(ConfigError, match="already registered"):  # another factory
        models.register_model("fcn", lambda **kwargs: models.FCN(**kwargs), dims=(1,))
    with pytest.raises(ConfigError, match="moved_dims"):  # 1 is both built and moved
        models.register_model("fcn_moved", models.FCN, dims=(1,), moved_dims={1: "fcn"})
    assert "fcn_moved" not in models.list_models()


def test_list_models_filters_by_dims():
    one_d = models.list_models(dims=1)
    assert "wavenet" in one_d and "inceptiontime" in one_d and "lenet5" not in one_d
    assert "spectrogram_cnn" in models.list_models(dims=2)
    assert set(models.list_models()) >= {
        "conv1d",
        "conv_stack",
        "fcn",
        "wavenet",
        "spectrogram_cnn",
        "lenet5",
        "alexnet",
        "vgg11",
        "vgg13",
        "vgg16",
        "resnet18",
        "resnet34",
        "resnet50",
        "inceptiontime",
    }


@pytest.mark.parametrize("bad", [{"num_classes": -1}, {"in_channels": 0}])
def test_create_validates_sizes(bad):
    kwargs = {"dims": 1, "in_channels": 1, "num_classes": 2} | bad
    with pytest.raises(ConfigError, match=next(iter(bad))):
        models.create("fcn", **kwargs)


def test_conv_stack_is_configurable():
    model = models.create(
        "conv_stack",
        dims=1,
        in_channels=1,
        num_classes=2,
        filters=(8, 16),
        kernel_sizes=(5, 3),
        pool_sizes=(2, 1),
        padding="valid",
        dropout=(0.0, 0.5),
        hidden=(10,),
    )
    # the valid 3-conv needs 3 positions, so the 2x pool needs 6, so the valid 5-conv needs 10
    assert model.min_input_size == 10
    assert model.num_features == 10
    assert model(torch.zeros(2, 1, 10)).shape == (2, 2)
    with pytest.raises(ConfigError, match="kernel_sizes"):
        models.create(
            "conv_stack",
            dims=1,
            in_channels=1,
            num_classes=2,
            filters=(8, 16),
            kernel_sizes=(5, 3, 3),
        )


def test_conv1d_is_the_1d_conv_stack_and_a_2d_request_warns():
    """``conv1d`` is registered for 1D; a 2D ``conv1d`` (configs / checkpoints saved when the name
    built both) still builds, as ``conv_stack`` with the same weights, and warns naming it."""
    kwargs = {"in_channels": 1, "num_classes": 2, "filters": (4, 8)}
    assert models.registered_model("conv1d").dims == (1,)
    assert "conv1d" not in models.list_models(dims=2) and "conv_stack" in models.list_models(2)
    one_d = models.create("conv1d", dims=1, **kwargs)
    assert one_d.name == "conv1d" and one_d.config["name"] == "conv1d"
    assert type(one_d) is models.ConvStack
    with pytest.warns(DeprecationWarning, match="'conv1d' with dims=2.*'conv_stack'"):
        old = models.create("conv1d", dims=2, **kwargs)
    new = models.create("conv_stack", dims=2, **kwargs)
    assert old.config == new.config == {"name": "conv_stack", "kwargs": {"dims": 2, **kwargs}}
    assert {k: v.shape for k, v in old.state_dict().items()} == {
        k: v.shape for k, v in new.state_dict().items()
    }
    old.load_state_dict(new.state_dict())  # a checkpoint of either loads into the other


def test_old_registry_names_are_deprecated_aliases():
    with pytest.warns(DeprecationWarning, match="model_spec is deprecated.*registered_model"):
        model_spec = models.model_spec
    with pytest.warns(DeprecationWarning, match="ModelSpec is deprecated.*RegisteredModel"):
        from audioconv.models.registry import ModelSpec
    assert model_spec is models.registered_model and ModelSpec is models.RegisteredModel
    assert isinstance(model_spec("fcn"), ModelSpec)
    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018


def test_fcn_matches_wang_et_al():
    model = models.create("fcn", dims=1, in_channels=1, num_classes=3)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(128, 8), (256, 5), (128, 3)]
    assert model(torch.zeros(2, 1, 7)).shape == (2, 3)


def test_inceptiontime_structure():
    model = models.create("inceptiontime", dims=1, in_channels=3, num_classes=2)
    stack = model.features
    assert len(stack.modules_) == 6 and len(stack.shortcuts) == 2
    kernels = {c.kernel_size[0] for c in stack.modules_[1].convs}
    assert kernels == {39, 19, 9}
    assert model.num_features == 128


def test_separable_cnn_has_fewer_weights_than_the_same_plain_stack():
    """The registered separable model: depthwise + pointwise convolutions, about 8x fewer
    weights per 3x3 block than ordinary convolutions of the same widths."""
    model = models.create("separable_cnn", dims=2, in_channels=1, num_classes=4)
    separable = [m for m in model.modules() if isinstance(m, models.blocks.SeparableConv)]
    assert len(separable) == 3
    plain = models.create(
        "conv_stack",
        dims=2,
        in_channels=1,
        num_classes=4,
        filters=(32, 64, 128, 128),
        pool_sizes=(1, 2, 2, 2),
        dropout=0.0,
        head_dropout=0.1,
    )
    assert models.count_params(plain) > 5 * models.count_params(model)


def test_resnet_1d_and_2d_share_the_code():
    one = models.create("resnet18", dims=1, in_channels=1, num_classes=2)
    two = models.create("resnet18", dims=2, in_channels=1, num_classes=2)
    assert [type(m).__name__ for m in one.modules()] == [
        type(m).__name__.replace("2d", "1d") for m in two.modules()
    ]


def test_resnet_dropout_acts_in_training_only():
    torch.manual_seed(0)
    plain = models.create("resnet18", dims=2, in_channels=1, num_classes=3, widths=[8, 8, 8, 8])
    dropped = models.create(
        "resnet18", dims=2, in_channels=1, num_classes=3, widths=[8, 8, 8, 8], dropout=0.5
    )
    dropped.load_state_dict(plain.state_dict())  # dropout has no weights: the same network
    x = torch.randn(4, 1, 32, 32)
    plain.eval(), dropped.eval()
    torch.testing.assert_close(dropped(x), plain(x))
    plain.train(), dropped.train()
    assert not torch.allclose(dropped(x), plain(x))
    assert dropped.config["kwargs"]["dropout"] == 0.5  # what a checkpoint rebuilds it from
    with pytest.raises(ConfigError, match="dropout=1.0"):
        models.create("resnet18", dims=2, in_channels=1, num_classes=3, dropout=1.0)


@pytest.mark.parametrize("dims", [1, 2])
def test_resnet_avgmax_pool_is_the_mean_of_average_and_max(dims):
    torch.manual_seed(0)
    kwargs = {"dims": dims, "in_channels": 1, "num_classes": 3, "widths": [8, 8, 8, 8]}
    net = models.create("resnet18", pool="avgmax", **kwargs).eval()
    x = torch.randn(2, 1, *([32] * dims))
    features = net.features(x)  # (2, 8, *size)
    pooled = 0.5 * (features.flatten(2).mean(-1) + features.flatten(2).amax(-1))  # (2, 8)
    torch.testing.assert_close(net(x), net.head.fc(pooled))
    assert net.config["kwargs"]["pool"] == "avgmax"  # what a checkpoint rebuilds it from
    with pytest.raises(ConfigError, match="'avgmax'"):
        models.create("resnet18", pool="median", **kwargs)


def test_blocks_are_generic_over_dims():
    from audioconv.models import blocks

    x1, x2 = torch.zeros(2, 4, 20), torch.zeros(2, 4, 20, 12)
    sep = blocks.SeparableConv(2, 4, 8, 3)
    assert sep(x2).shape == (2, 8, 20, 12)
    assert sum(p.numel() for p in sep.parameters()) == 4 * 9 + 4 * 8 + 8
    assert blocks.conv_nd(1, 4, 6, 3, stride=2)(x1).shape == (2, 6, 10)  # "same": ceil(20 / 2)
    assert blocks.conv_nd(2, 4, 6, 3, padding="valid", dilation=2)(x2).shape == (2, 6, 16, 8)
    assert blocks.pool_nd(2, "avg", 2)(x2).shape == (2, 4, 10, 6)
    block = blocks.ConvBlock(1, 4, 8, 3, act="leaky_relu", norm=None, dropout=0.2, pool=2)
    assert [type(m).__name__ for m in block] == ["Conv1d", "LeakyReLU", "MaxPool1d", "Dropout"]
    separable = blocks.ConvBlock(1, 4, 8, 3, separable=True)
    assert isinstance(separable.conv, blocks.SeparableConv)
    assert separable(x1).shape == (2, 8, 20)
    for name in ["relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu"]:
        assert isinstance(blocks.get_act_layer(name)(), torch.nn.Module)
    with pytest.raises(ConfigError, match="swish"):
        blocks.get_act_layer("swish")
    with pytest.raises(ConfigError, match="dims=3"):
        blocks.conv_nd(3, 1, 1, 3)
    with pytest.raises(ConfigError, match="odd"):
        blocks.conv_nd(1, 1, 1, 4, stride=2)


@pytest.mark.xdist_group("recipes")
def test_avgmax_resnet_from_files_to_onnx_gives_the_runs_answers(
    fit_tiny_resnet, onnx_answers_as_promised, tmp_path
):
    """A user's path: clips on disk -> ``audioconv fit`` with ``"pool": "avgmax"`` -> ONNX export
    -> ``audioconv predict``: the labels and probabilities the run's predictions.csv promised."""
    data, run = fit_tiny_resnet({"widths": [4, 8, 8, 8], "pool": "avgmax"})
    onnx_answers_as_promised(run, data, tmp_path)
