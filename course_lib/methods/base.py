"""The method contract: a semi-supervised method is a loss, plus (rarely) a few hooks.

``fit`` (in ``course_lib.train``) owns the loop: sampling, devices, optimisation, logging. A
method only says what to minimise on one mini-batch, so its whole algorithm fits on one screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

# the ramp-ups live in parts.py; this import keeps their old path working
from course_lib.methods.parts import linear_rampup as linear_rampup
from course_lib.methods.parts import sigmoid_rampup as sigmoid_rampup


@dataclass
class Batch:
    """One training step's data, already on the device.

    ``x_l, y_l`` are labeled examples; ``x_u`` are examples whose labels the method must not use,
    drawn from the *whole* training set (labeled ones included, as in MixMatch/FixMatch code).
    ``idx_l`` and ``idx_u`` index into the training set, so a method can keep per-example state
    (Temporal Ensembling). ``step`` counts from 0 to ``steps - 1``; ``epoch`` counts completed
    passes over the unlabeled stream.
    """

    x_l: Tensor
    y_l: Tensor
    idx_l: Tensor
    x_u: Tensor
    idx_u: Tensor
    step: int
    steps: int
    epoch: int = 0

    @property
    def progress(self) -> float:
        """Fraction of training done, in [0, 1]: the ``t`` of the ramp-up schedules."""
        return self.step / max(1, self.steps - 1)


@dataclass
class TrainData:
    """What ``setup`` may look at: the full training set on the device and the schedule."""

    X: Tensor
    y: Tensor  # -1 for unlabeled
    n_classes: int
    steps: int
    steps_per_epoch: int


class Method:
    """Base class of all methods. Subclasses are dataclasses whose fields are the paper's
    hyper-parameters, and implement :meth:`loss`.

    Class attributes read by ``fit``:

    - ``uses_unlabeled``: False for purely supervised methods (no unlabeled batch is drawn);
    - ``mu``: the unlabeled batch is ``mu`` times the labeled batch (FixMatch's mu).

    What ``setup`` builds for one run (a teacher network, per-example buffers, true labels for
    monitoring) is declared one way, as a field that is not a hyper-parameter::

        teacher: nn.Module | None = field(default=None, init=False, repr=False, compare=False)

    Shared parts (the EMA with its warm-up, the ramp-ups, the pseudo-label monitor) are imported
    from :mod:`course_lib.methods.parts`.
    """

    uses_unlabeled: bool = True
    mu: int = 1

    def __post_init__(self) -> None:
        self.validate()

    # --- to implement ------------------------------------------------------------------------
    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """Return the scalar loss of one mini-batch and a few numbers to log."""
        raise NotImplementedError

    # --- optional hooks ----------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError`` naming a bad hyper-parameter. Called on creation and by ``fit``."""

    def setup(self, model: nn.Module, data: TrainData) -> None:
        """Called once before training (teacher copies, per-example buffers)."""

    def after_step(self, model: nn.Module, step: int) -> None:
        """Called after each optimiser step (EMA updates)."""

    def eval_model(self, model: nn.Module) -> nn.Module:
        """The network used for predictions (Mean Teacher evaluates its teacher); ``fit`` leaves it
        in evaluation mode."""
        return model

    def extra_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters that live in the method rather than the model (rare)."""
        return []

    @property
    def name(self) -> str:
        return type(self).__name__


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy; an empty batch gives 0 instead of NaN."""
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    return nn.functional.cross_entropy(logits, targets)


def entropy(p: Tensor, dim: int = -1, eps: float = 1e-12) -> Tensor:
    """Shannon entropy H(p) = -sum_k p_k log p_k along ``dim`` (nats)."""
    return -(p * torch.log(p.clamp_min(eps))).sum(dim=dim)
