"""``spectrogram_cnn``: a small VGG-like 2D CNN for log-mel spectrograms (fast on a CPU)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from audioconv.errors import ConfigError
from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock
from audioconv.models.registry import register_model
from audioconv.models.summary import min_input_size


class SpectrogramCNN(Backbone):
    """One 3x3 conv -> BN -> ReLU -> 2x2 max pool block per entry of ``channels``, then global
    average pooling, dropout and a linear layer.

    Input ``(B, in_channels, n_mels, frames)``, e.g. ``(B, 1, 64, 101)`` for 1 s of 16 kHz audio
    with a 10 ms hop. ``min_input_size`` = ``2 ** len(channels)``: 16 (both axes) by default.
    """

    def __init__(
        self,
        *,
        dims: int = 2,
        in_channels: int,
        num_classes: int,
        channels: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.3,
    ):
        if dims != 2:
            raise ConfigError(f"spectrogram_cnn is 2D: dims={dims} is invalid, use dims=2")
        if not channels:
            raise ConfigError("channels=() is empty: give e.g. channels=(16, 32, 64)")
        widths = (in_channels, *channels)
        features = nn.Sequential(
            *(ConvBlock(2, widths[i], widths[i + 1], 3, pool=2) for i in range(len(channels)))
        )
        super().__init__(
            name="spectrogram_cnn",
            dims=2,
            in_channels=in_channels,
            min_input_size=min_input_size(features),
        )
        self.features = features
        self.head = ClassifierHead(2, channels[-1], num_classes, dropout=dropout)


spectrogram_cnn = register_model("spectrogram_cnn", SpectrogramCNN, dims=(2,))
