"""Small networks that train in seconds on a laptop CPU.

``build_model(name, input_shape, n_classes)`` is how the estimator turns a name into a network;
a new architecture is added by writing its class and one entry in ``MODELS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_lib._validation import check_number


class MLP(nn.Module):
    """Fully connected network: Linear -> ReLU (-> Dropout) blocks, then a linear classifier.

    Parameters
    ----------
    in_features : int
        Input dimension (2 for two moons, 64 for flattened 8x8 digits).
    n_classes : int
        Number of outputs (logits).
    hidden : sequence of int
        Widths of the hidden layers.
    dropout : float
        Dropout probability after each hidden layer (the Pi-model's second source of noise).
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        hidden: Sequence[int] = (64, 64),
        dropout: float = 0.0,
    ):
        super().__init__()
        check_number(dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class SmallCNN(nn.Module):
    """A small CNN whose head is global average pooling + one linear layer (so CAM applies).

    Blocks of two 3x3 conv-BN-ReLU layers, with 2x2 max-pooling between blocks (not after the
    last one, so the last feature maps keep some resolution for class activation maps).

    Attributes used by other chapters: ``features`` (the conv trunk, output (N, K, h, w)),
    ``gap`` (global average pooling) and ``classifier`` (Linear K -> n_classes, the CAM weights).

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grey-scale).
    n_classes : int
        Number of outputs (logits).
    widths : sequence of int
        Channels of each block.
    dropout : float
        Dropout before the classifier.
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        widths: Sequence[int] = (32, 64),
        dropout: float = 0.0,
    ):
        super().__init__()
        check_number(dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers += _conv_bn_relu(c, w) + _conv_bn_relu(w, w)
            c = w
        self.features = nn.Sequential(*layers)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"SmallCNN expects images (N, C, H, W); got shape {tuple(x.shape)}.")
        return self.classifier(self.dropout(self.gap(self.features(x)).flatten(1)))


def _mlp(input_shape: tuple[int, ...], n_classes: int, **kwargs) -> nn.Module:
    in_features = 1
    for d in input_shape:
        in_features *= int(d)
    return MLP(in_features, n_classes, **kwargs)


def _cnn(input_shape: tuple[int, ...], n_classes: int, **kwargs) -> nn.Module:
    if len(input_shape) != 3:
        raise ValueError(
            f"model='cnn' needs images of shape (N, C, H, W); got examples of shape {input_shape}."
        )
    return SmallCNN(input_shape[0], n_classes, **kwargs)


# name -> factory(input_shape (without the batch axis), n_classes, **kwargs) -> nn.Module
MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "cnn": _cnn}


def build_model(
    name: str | Callable[..., nn.Module], input_shape: tuple[int, ...], n_classes: int, **kwargs
) -> nn.Module:
    """Build a network by name (see ``MODELS``) or with a factory callable of the same signature."""
    if callable(name):
        return name(tuple(input_shape), n_classes, **kwargs)
    if name not in MODELS:
        raise ValueError(
            f"model={name!r} is unknown; choose one of {sorted(MODELS)} or a callable."
        )
    return MODELS[name](tuple(input_shape), n_classes, **kwargs)


class TinyUNet(nn.Module):
    """A small U-Net (Ronneberger et al., 2015): per-pixel logits of the same size as the input.

    Encoder: blocks of two 3x3 conv-BN-ReLU layers with 2x2 max-pooling between them; decoder:
    2x2 transposed convolutions up, concatenation with the encoder block of the same resolution
    (skip connection), two conv-BN-ReLU layers; a 1x1 convolution gives ``n_classes`` logits per
    pixel. With the default widths (16, 32, 64) it has about 120 thousand parameters and trains on
    64x64 images in seconds on a CPU; (32, 64, 128) gives about 470 thousand.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grey-scale).
    n_classes : int
        Logits per pixel (2 for foreground/background).
    widths : sequence of int
        Channels of each resolution level; the input side must be divisible by
        ``2 ** (len(widths) - 1)``.
    """

    def __init__(
        self, in_channels: int = 1, n_classes: int = 2, widths: Sequence[int] = (16, 32, 64)
    ):
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"widths needs at least two levels; got {tuple(widths)}.")
        self.widths = tuple(int(w) for w in widths)
        self.down = nn.ModuleList()
        c = in_channels
        for w in self.widths:
            self.down.append(nn.Sequential(*_conv_bn_relu(c, w), *_conv_bn_relu(w, w)))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(self.widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.dec.append(nn.Sequential(*_conv_bn_relu(2 * w, w), *_conv_bn_relu(w, w)))
            c = w
        self.head = nn.Conv2d(c, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** (len(self.widths) - 1)
        if x.ndim != 4 or x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(
                f"TinyUNet expects images (N, C, H, W) with H and W divisible by {factor}; "
                f"got shape {tuple(x.shape)}."
            )
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1]), strict=True):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)
