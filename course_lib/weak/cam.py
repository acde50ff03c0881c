"""Class activation maps: where in the image did a classifier see the class?

- **CAM** (Zhou et al., CVPR 2016, arXiv:1512.04150): for a network whose head is global average
  pooling + one linear layer, the map of class c is M_c(x, y) = sum_k w_k^c f_k(x, y) (Eq. 2 of
  the paper), f_k the last conv feature maps and w^c the linear layer's row for class c.
- **Grad-CAM** (Selvaraju et al., ICCV 2017, arXiv:1610.02391): for any conv layer A,
  alpha_k^c = (1/Z) sum_ij dy^c / dA^k_ij (Eq. 1) and L^c = ReLU(sum_k alpha_k^c A^k) (Eq. 2).
  On a GAP-linear network at the last layer, dy^c/dA^k_ij = w_k^c / Z, so Grad-CAM equals
  ReLU(CAM) / Z: the same map up to a positive scale.
- **map_to_box**: threshold the map at a fraction of its maximum (20 % in the CAM paper), keep the
  largest connected component, return its bounding box.

Maps and boxes follow the conventions of ``course_lib.data.lesions``: maps are arrays (N, H, W);
boxes are ``(row0, col0, row1, col1)`` with half-open ends.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib._validation import check_number
from course_lib.train import evaluating


def _as_images(x, name: str = "x") -> Tensor:
    x = torch.as_tensor(np.asarray(x, dtype=np.float32)) if not isinstance(x, Tensor) else x
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be images of shape (N, C, H, W); got shape {tuple(x.shape)}."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one image.")
    return x.float()


def _check_channels(model: nn.Module, x: Tensor, name: str = "x") -> None:
    """The images must have as many channels as the model's first convolution takes."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None and x.shape[1] != conv.in_channels:
        raise ValueError(
            f"{name} has {x.shape[1]} channel(s) (shape {tuple(x.shape)}) but the model's first "
            f"convolution takes {conv.in_channels}: pass images of shape "
            f"(N, {conv.in_channels}, H, W), as the model was trained on."
        )


def _targets(target, logits: Tensor) -> Tensor:
    """None -> the predicted class; an int or one int per image -> checked class indices."""
    n, n_classes = logits.shape
    if target is None:
        return logits.argmax(1)
    t = torch.as_tensor(np.asarray(target), dtype=torch.long, device=logits.device).flatten()
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"target must be one class index or one per image ({n}); got {t.numel()}.")
    if (t < 0).any() or (t >= n_classes).any():
        raise ValueError(
            f"target holds a class index outside 0..{n_classes - 1}: {t.unique().tolist()}."
        )
    return t


def _upsample(maps: Tensor, size) -> Tensor:
    if size is None or tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[
        :, 0
    ]


def cam(
    model: nn.Module, x, target=None, *, size="input", relu: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Class activation maps M_c = sum_k w_k^c f_k of a GAP + linear network (Zhou et al. 2016).

    Parameters
    ----------
    model : nn.Module
        Must have ``features`` (the conv trunk, output (N, K, h, w)) and ``classifier`` (the
        linear layer K -> C after global average pooling), like ``course_lib.models.SmallCNN``.
    x : array or tensor (N, C, H, W)
        Images.
    target : None, int or array of int
        Class whose map to compute; None = each image's predicted class.
    size : "input", (H, W) or None
        Bilinear upsampling of the maps: to the input size (default), to a given size, or None to
        keep the feature-map resolution (h, w).
    relu : bool
        Apply ReLU to the maps before upsampling (this is what Grad-CAM does).

    Returns
    -------
    maps : float32 array (N, H, W)
    targets : int array (N,) the classes the maps are of.
    """
    if not (
        hasattr(model, "features") and isinstance(getattr(model, "classifier", None), nn.Linear)
    ):
        raise ValueError(
            "cam needs a model with `features` (conv trunk) and a linear `classifier` after "
            "global average pooling, like models.SmallCNN; use grad_cam for other networks."
        )
    x = _as_images(x)
    _check_channels(model, x)
    dev = next(model.parameters()).device
    with evaluating(model), torch.no_grad():
        feats = model.features(x.to(dev))  # (N, K, h, w)
        logits = model(x.to(dev))
        _check_gap_head(model, feats, logits)
        t = _targets(target, logits)
        w = model.classifier.weight[t]  # (N, K): w^c of each image's class
        maps = torch.einsum("nk,nkhw->nhw", w, feats)  # Eq. (2): sum_k w_k^c f_k(x, y)
        if relu:
            maps = maps.clamp_min(0)
        maps = _upsample(maps, x.shape[-2:] if size == "input" else size)
    return maps.cpu().numpy().astype(np.float32), t.cpu().numpy()


def _check_gap_head(model: nn.Module, feats: Tensor, logits: Tensor) -> None:
    """CAM's Eq. 2 explains the logits only if they are ``classifier(GAP(features(x)))``."""
    if feats.ndim != 4:
        raise ValueError(
            f"cam needs spatial feature maps: model.features returned shape "
            f"{tuple(feats.shape)}, not (N, K, h, w). CAM applies to a conv trunk followed by "
            "global average pooling and a linear classifier (models.SmallCNN)."
        )
    k, fan_in = feats.shape[1], model.classifier.in_features
    head = "" if k == fan_in else f"the classifier takes {fan_in} inputs, not the {k} channels"
    if not head:
        gap_logits = model.classifier(feats.mean(dim=(2, 3)))
        if not torch.allclose(gap_logits, logits, rtol=1e-3, atol=1e-4):
            head = "the logits are not classifier(mean of the feature maps)"
    if head:
        raise ValueError(
            f"cam needs a global-average-pooling head, but {head}: the maps would not explain "
            "the logits. Use grad_cam(model, x, layer=...) for this network."
        )


class GradCAM:
    """Grad-CAM (Selvaraju et al. 2017) at one layer, with hooks that always go away.

    Use as a context manager::

        with GradCAM(model, model.features) as gc:
            maps, targets = gc(x, target=1)

    The forward hook on ``layer`` keeps its output A and registers a gradient hook on it; both
    are removed on leaving the ``with`` block, also when an exception is raised inside it.
    """

    def __init__(self, model: nn.Module, layer: nn.Module | None = None):
        layer = layer if layer is not None else getattr(model, "features", None)
        if not isinstance(layer, nn.Module):
            raise ValueError(
                "layer must be a convolutional nn.Module of model giving maps (N, K, h, w) "
                "(default: model.features, which this model does not have)."
            )
        if not any(m is layer for m in model.modules()):
            raise ValueError("layer is not a sub-module of model.")
        self.model, self.layer = model, layer
        self._handle = None
        self._act: Tensor | None = None
        self._grad: Tensor | None = None

    def _keep(self, module, inputs, output):
        self._act = output
        if output.requires_grad:
            output.register_hook(self._keep_grad)  # lives and dies with this tensor

    def _keep_grad(self, grad):
        self._grad = grad

    def _check_activation(self) -> None:
        if self._act is None:
            raise ValueError("layer was not called in the model's forward pass; pick one that is.")
        if not isinstance(self._act, Tensor) or self._act.ndim != 4:
            shape = tuple(self._act.shape) if isinstance(self._act, Tensor) else "not a tensor"
            raise ValueError(
                f"Grad-CAM needs spatial maps (N, K, h, w) at layer, but its output has shape "
                f"{shape}: pass layer= a convolutional block (e.g. model.features)."
            )
        if not self._act.requires_grad:
            raise ValueError(
                "layer's output carries no gradient (frozen or detached): Grad-CAM needs "
                "dy/dA at that layer; pick a layer after the first trainable one."
            )

    def __enter__(self) -> GradCAM:
        self._handle = self.layer.register_forward_hook(self._keep)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._act = self._grad = None

    def __call__(self, x, target=None, *, size="input") -> tuple[np.ndarray, np.ndarray]:
        """Grad-CAM maps (N, H, W) for ``target`` (None = predicted class) and the targets."""
        if self._handle is None:
            raise RuntimeError("use GradCAM inside a `with GradCAM(model, layer) as gc:` block.")
        x = _as_images(x)
        _check_channels(self.model, x)
        dev = next(self.model.parameters()).device
        try:
            with evaluating(self.model), torch.enable_grad():
                self._act = self._grad = None
                logits = self.model(x.to(dev))
                self._check_activation()
                t = _targets(target, logits)
                score = logits.gather(1, t[:, None]).sum()  # y^c of each image (images independent)
                self.model.zero_grad(set_to_none=True)
                score.backward()
            A, dA = self._act.detach(), self._grad.detach()  # (N, K, h, w)
            alpha = dA.mean(dim=(2, 3), keepdim=True)  # Eq. (1): global-average-pooled gradients
            maps = (alpha * A).sum(1).clamp_min(0)  # Eq. (2): ReLU(sum_k alpha_k^c A^k)
            maps = _upsample(maps, x.shape[-2:] if size == "input" else size)
        finally:
            self.model.zero_grad(set_to_none=True)
        return maps.cpu().numpy().astype(np.float32), t.cpu().numpy()


def grad_cam(model: nn.Module, x, target=None, *, layer=None, size="input"):
    """One-call Grad-CAM: ``with GradCAM(model, layer) as gc: return gc(x, target, size=size)``."""
    with GradCAM(model, layer) as gc:
        return gc(x, target, size=size)


def map_to_box(cam_map, fraction: float = 0.2) -> np.ndarray:
    """Bounding box ``(row0, col0, row1, col1)`` (half-open) of the largest region of ``cam_map``
    whose values are >= ``fraction`` x max (the CAM paper's box rule, fraction 0.2).

    A map whose maximum is not positive has no region: the whole image is returned. A map holding
    NaN or infinite values raises ValueError (its box would mean nothing).
    """
    check_number(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    m = np.asarray(cam_map, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"cam_map must be one 2-D map (H, W); got shape {m.shape}.")
    if not np.isfinite(m).all():
        bad = int((~np.isfinite(m)).sum())
        raise ValueError(
            f"cam_map holds {bad} NaN or infinite value(s): the network that made it produced "
            "non-finite outputs. Check the model and its input; do not box such a map."
        )
    peak = m.max()
    if peak <= 0:
        return np.array([0, 0, m.shape[0], m.shape[1]], dtype=np.int64)
    labels, n = ndimage.label(m >= fraction * peak)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    rows, cols = ndimage.find_objects(labels)[int(sizes.argmax()) - 1]
    return np.array([rows.start, cols.start, rows.stop, cols.stop], dtype=np.int64)


def maps_to_boxes(maps, fraction: float = 0.2) -> np.ndarray:
    """:func:`map_to_box` for each map of an array (N, H, W); returns (N, 4)."""
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (N, H, W); got {maps.shape}.")
    return np.stack([map_to_box(m, fraction) for m in maps]).reshape(-1, 4)
