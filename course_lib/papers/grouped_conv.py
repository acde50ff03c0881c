"""Grouped convolutions over multi-phase inputs (Lee et al., MICCAI 2018, grouped SSD).

S.-g. Lee, J. S. Bae, H. Kim, J. H. Kim, S. Yoon, "Liver lesion detection from weakly-labeled
multi-phase CT volumes with a grouped single shot multibox detector", MICCAI 2018. A contrast CT
is acquired in several phases (e.g. pre-contrast, arterial, portal, delayed); a lesion may show in
only one or two of them, and the phases are not perfectly registered. Stacking the phases as
channels and mixing them in the first convolution blends a clear phase with misaligned, empty
ones; a *grouped* convolution first gives each phase its own filters, so each phase is looked at
on its own before the features are merged.
"""

from __future__ import annotations

from torch import Tensor, nn


class PhaseCNN(nn.Module):
    """Small classifier of multi-phase images (N, P, H, W).

    The first convolution maps P phases to ``P * per_phase`` channels, with ``groups = P`` when
    ``grouped`` (phase i only feeds channels i * per_phase ... (i + 1) * per_phase - 1) and
    ``groups = 1`` otherwise (every channel sees every phase, P times more weights). The rest of
    the network is the same: conv-BN-ReLU, pooling, conv-BN-ReLU, global average pooling, linear.
    """

    def __init__(
        self,
        phases: int = 4,
        n_classes: int = 2,
        *,
        grouped: bool = True,
        per_phase: int = 4,
        width: int = 16,
    ):
        super().__init__()
        c1 = phases * per_phase
        self.first = nn.Conv2d(phases, c1, 3, padding=1, groups=phases if grouped else 1)
        self.body = nn.Sequential(
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(width, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"PhaseCNN expects (N, P, H, W); got shape {tuple(x.shape)}.")
        return self.classifier(self.body(self.first(x)))


def phase_cnn(input_shape, n_classes: int, **kwargs) -> PhaseCNN:
    """Model factory for ``SSLClassifier(model=phase_cnn, model_params={"grouped": ...})``."""
    return PhaseCNN(int(input_shape[0]), n_classes, **kwargs)
