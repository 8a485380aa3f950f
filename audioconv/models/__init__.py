"""Backbones for 1D signals and 2D images / spectrograms, one registry, and layer arithmetic.

    >>> import torch
    >>> from audioconv import models
    >>> model = models.create("resnet18", dims=1, in_channels=3, num_classes=6)
    >>> model(torch.zeros(2, 3, 128)).shape
    torch.Size([2, 6])
    >>> model.reset_classifier(0)                 # features for a custom head
    >>> model(torch.zeros(2, 3, 128)).shape == (2, model.num_features)
    True

Every model follows the backbone contract of ``docs/architecture.md``: ``num_features``,
``forward_features``, ``forward_head(x, pre_logits=False)``, ``reset_classifier(num_classes)``,
``min_input_size`` (smaller inputs raise ``audioconv.errors.InputTooSmallError``).

Every module of this package is imported here, so a model file that calls ``register_model``
(``audioconv/models/<name>.py``) is registered without editing a list (docs/extending.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from audioconv.models import blocks, registry
from audioconv.models.alexnet import AlexNet
from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock, get_act_layer
from audioconv.models.conv_stack import ConvStack
from audioconv.models.fcn import FCN
from audioconv.models.inceptiontime import InceptionTime
from audioconv.models.lenet import LeNet5
from audioconv.models.registry import (
    RegisteredModel,
    adapt_input_conv,
    create,
    deprecated_name,
    list_models,
    load_torchvision_weights,
    register_model,
    registered_model,
)
from audioconv.models.resnet import BasicBlock, Bottleneck, ResNet
from audioconv.models.spectrogram_cnn import SpectrogramCNN
from audioconv.models.summary import (
    ModelSummary,
    conv_output_size,
    count_params,
    min_input_size,
    receptive_field,
    summary,
)
from audioconv.models.vgg import VGG
from audioconv.models.wavenet import WaveNet

__all__ = [
    "FCN",
    "VGG",
    "AlexNet",
    "Backbone",
    "BasicBlock",
    "Bottleneck",
    "ClassifierHead",
    "ConvBlock",
    "ConvStack",
    "InceptionTime",
    "LeNet5",
    "ModelSummary",
    "RegisteredModel",
    "ResNet",
    "SpectrogramCNN",
    "WaveNet",
    "adapt_input_conv",
    "blocks",
    "conv_output_size",
    "count_params",
    "create",
    "get_act_layer",
    "list_models",
    "load_torchvision_weights",
    "min_input_size",
    "receptive_field",
    "register_model",
    "registered_model",
    "summary",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def __getattr__(name: str):
    """``ModelSpec`` / ``model_spec``: deprecated names of ``RegisteredModel`` /
    ``registered_model`` (a DeprecationWarning)."""
    if name in registry.DEPRECATED_NAMES:
        return deprecated_name(name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
