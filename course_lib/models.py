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


def _mlp(input_shape: tuple[int, ...], n_classes: int, **kwargs) -> nn.Module:
    in_features = 1
    for d in input_shape:
        in_features *= int(d)
    return MLP(in_features, n_classes, **kwargs)


# name -> factory(input_shape (without the batch axis), n_classes, **kwargs) -> nn.Module
MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp}


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
