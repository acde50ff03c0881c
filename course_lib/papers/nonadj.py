"""NonAdjLoss: an anatomical prior on which regions may touch (Ganaye et al., MICCAI 2018).

P.-A. Ganaye, M. Sdika, H. Benoit-Cattin, "Semi-supervised learning for segmentation under
semantic constraint", MICCAI 2018. Brain structures touch only certain other structures; the
adjacency graph read off the training masks is a prior. A segmentation network that predicts a
pixel of region k next to a pixel of region l although k and l never touch in real anatomy has
made an *abnormal connection*. The loss measures the soft adjacency of the predicted probability
maps and penalises the forbidden entries. It needs no labels, so it also trains on unlabeled
images: the semi-supervised use.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from course_lib._validation import check_number, check_positive_int
from course_lib.train import History, IndexStream, minimize, predict, prepare

# the 4-neighbourhood as two shifts: (p, p + right) and (p, p + down)


def soft_adjacency(probs: Tensor) -> Tensor:
    """Soft adjacency matrix of predicted probability maps.

    For probabilities S (N, K, H, W) and the set E of 4-neighbour pixel pairs of all images,

        A[k, l] = 1 / (2 |E|) * sum_{(p, q) in E} ( S_k(p) S_l(q) + S_l(p) S_k(q) ),

    a symmetric (K, K) matrix whose entries sum to 1. With one-hot S it is the fraction of
    (ordered) neighbour pairs whose labels are (k, l), i.e. ``adjacency_counts / (2 |E|)``.
    """
    if probs.ndim != 4:
        raise ValueError(f"probs must be (N, K, H, W); got shape {tuple(probs.shape)}.")
    n, k = probs.shape[:2]
    s = probs.movedim(1, -1)  # (N, H, W, K)
    right = torch.einsum("nhwk,nhwl->kl", s[:, :, :-1], s[:, :, 1:])
    down = torch.einsum("nhwk,nhwl->kl", s[:, :-1], s[:, 1:])
    a = right + down
    n_pairs = n * (s.shape[1] * (s.shape[2] - 1) + (s.shape[1] - 1) * s.shape[2])
    return (a + a.T) / (2 * max(n_pairs, 1))


def nonadj_loss(probs: Tensor, allowed) -> Tensor:
    """NonAdjLoss = sum_{k, l : G[k, l] = 0} A[k, l], A = :func:`soft_adjacency` (probs).

    ``allowed`` is the (K, K) boolean adjacency graph G of the anatomy (True = may touch). The
    loss is 0 exactly when no forbidden pair of regions is predicted side by side, and it is the
    expected fraction of neighbour pairs that form an abnormal connection.
    """
    g = torch.as_tensor(np.asarray(allowed), dtype=torch.bool, device=probs.device)
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] != probs.shape[1]:
        raise ValueError(
            f"allowed must be a (K, K) matrix with K = {probs.shape[1]} classes; "
            f"got shape {tuple(g.shape)}."
        )
    return (soft_adjacency(probs) * (~g)).sum()


def forbidden_adjacencies(masks, allowed) -> np.ndarray:
    """Per image, the number of 4-neighbour pixel pairs whose labels may not touch.

    ``masks`` (N, H, W) integer label maps (e.g. predictions), ``allowed`` (K, K) booleans.
    Returns an int array (N,); each unordered pair counted once.
    """
    m = np.asarray(masks)
    if m.ndim != 3:
        raise ValueError(f"masks must be (N, H, W); got shape {m.shape}.")
    bad = ~np.asarray(allowed, dtype=bool)
    return bad[m[:, :, :-1], m[:, :, 1:]].sum((1, 2)) + bad[m[:, :-1], m[:, 1:]].sum((1, 2))


class SegNet(nn.Module):
    """A tiny fully convolutional segmenter: 3x3 convolutions with the given ``dilations``
    (default 1, 1, 2, 1: a field of view of 11 pixels), so it sees local context but not the
    whole head."""

    def __init__(
        self, in_channels: int = 1, n_classes: int = 5, width: int = 16, dilations=(1, 1, 2, 1)
    ):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for d in dilations:
            layers += [nn.Conv2d(c, width, 3, padding=d, dilation=d), nn.ReLU()]
            c = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, n_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def train_segmenter(
    net: nn.Module,
    X_l,
    M_l,
    X_u=None,
    *,
    allowed=None,
    lambda_adj: float = 0.0,
    steps: int = 200,
    batch_size: int = 8,
    lr: float = 3e-3,
    seed: int = 0,
    device=None,
) -> History:
    """Train ``net`` in place: cross-entropy on labeled images + lambda_adj * NonAdjLoss.

    L = CE(net(x_l), m_l) + lambda_adj * NonAdjLoss(softmax(net(x)), G)

    where the NonAdjLoss batch x holds labeled images and, when ``X_u`` is given, as many
    unlabeled ones (the semi-supervised use). Images are drawn without replacement within a
    pass (:class:`~course_lib.train.IndexStream`), labeled and unlabeled ones in two streams.
    A front of :func:`course_lib.train.minimize`; returns
    its :class:`~course_lib.train.History`, recorded at every step: ``h["ce"]`` and, when
    ``lambda_adj > 0``, ``h["nonadj"]`` (index 0 is the record before training, NaN).
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_number(lambda_adj, "lambda_adj", low=0.0)
    if lambda_adj > 0 and allowed is None:
        raise ValueError("lambda_adj > 0 needs the adjacency graph: pass allowed=(K, K) booleans.")
    dev = prepare(net, seed=seed, device=device)
    Xl = torch.as_tensor(np.asarray(X_l, dtype=np.float32), device=dev)
    Ml = torch.as_tensor(np.asarray(M_l, dtype=np.int64), device=dev)
    Xu = None if X_u is None else torch.as_tensor(np.asarray(X_u, dtype=np.float32), device=dev)
    gen = torch.Generator().manual_seed(seed)
    stream_l = IndexStream(torch.arange(Xl.shape[0]), batch_size, gen)
    stream_u = None if Xu is None else IndexStream(torch.arange(Xu.shape[0]), batch_size, gen)

    def step_loss(step: int) -> tuple[Tensor, dict[str, float]]:
        i = stream_l.next().to(dev)
        logits = net(Xl[i])
        ce = nn.functional.cross_entropy(logits, Ml[i])
        if lambda_adj == 0:
            return ce, {"ce": ce.item()}
        probs = torch.softmax(logits, 1)
        if stream_u is not None:
            j = stream_u.next().to(dev)
            probs = torch.cat([probs, torch.softmax(net(Xu[j]), 1)])
        adj = nonadj_loss(probs, allowed)
        return ce + lambda_adj * adj, {"ce": ce.item(), "nonadj": adj.item()}

    return minimize(net, step_loss, steps, lr=lr, record_every=1, name="NonAdjLoss")


def segment(net: nn.Module, X, *, batch_size: int | None = None) -> np.ndarray:
    """Arg-max label maps (N, H, W) of ``net`` on images ``X`` (N, C, H, W), in evaluation
    mode (the network's mode is restored afterwards)."""
    return predict(net, X, forward=lambda x: net(x).argmax(1), batch_size=batch_size)
