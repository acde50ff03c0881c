"""The machinery every homework checker shares: run properties, call the student's function,
compare with the reference, name a known mistake, build seeded inputs.

A checker is a list of ``(title, property)`` pairs handed to :func:`_run`; a property calls the
student's function through :func:`_call` and raises :class:`_Fail` with a plain-words message
when the property does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

NOT_IMPLEMENTED = (
    "not implemented yet: your function still raises NotImplementedError. Replace the "
    "`raise NotImplementedError()` line with your code, run that cell, then run this check again."
)


class CheckFailed(AssertionError):
    """A homework check failed; the message says which property, in plain words."""


@dataclass
class CheckReport:
    """What a passing check returns: the checker's name and the properties that held."""

    name: str
    passed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"✓ {self.name}: all {len(self.passed)} checks passed ({', '.join(self.passed)})"


class _Fail(Exception):
    """One property failed (message in plain words)."""


class _NotDone(Exception):
    """The student's function raised NotImplementedError."""


# --- the machinery ----------------------------------------------------------------------------


def _run(name: str, fn, properties: Sequence[tuple[str, Callable]], *, quiet: bool = False):
    if not callable(fn):
        raise CheckFailed(f"{name}: expected your function, got {type(fn).__name__} ({fn!r}).")
    passed, failed = [], []
    for title, prop in properties:
        try:
            prop(fn)
        except _NotDone:
            raise CheckFailed(f"{name}: {NOT_IMPLEMENTED}") from None
        except _Fail as err:
            failed.append((title, str(err)))
        else:
            passed.append(title)
    if failed:
        lines = [f"{name}: {len(failed)} of {len(properties)} checks failed."]
        lines += [f"  ✓ {t}" for t in passed]
        lines += [f"  ✗ {t}: {msg}" for t, msg in failed]
        raise CheckFailed("\n".join(lines))
    report = CheckReport(name, passed)
    if not quiet:
        print(report)
    return report


def _call(fn, *args, on: str):
    """Call the student's function; turn its exceptions into plain-words failures."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise _NotDone() from None
    except (_Fail, _NotDone):
        raise
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported
        raise _Fail(f"your function raised {type(err).__name__}: {err} (input: {on}).") from None


def _np(value, what: str = "your result") -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Fail(f"{what} is a {type(value).__name__}, not an array or tensor.") from None


def _expect_tensor(value, on: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise _Fail(f"return a torch tensor, got {type(value).__name__} ({on}).")
    return value


def _same_shape(got, want_shape: tuple, on: str) -> None:
    shape = tuple(np.shape(_np(got)))
    if shape != tuple(want_shape):
        hint = (
            " Return one value per example; do not average over the batch."
            if (shape == () and len(want_shape) == 1)
            else ""
        )
        raise _Fail(f"your result has shape {shape}, expected {tuple(want_shape)} ({on}).{hint}")


def _close(got, want, on: str, *, rtol=1e-4, atol=1e-6, mistakes: dict | None = None) -> None:
    """Compare values; on a mismatch say how big it is and name a matching known mistake."""
    g, w = _np(got), _np(want)
    _same_shape(g, w.shape, on)
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(w)):
        raise _Fail(f"your result contains NaN or inf ({on}).")
    if np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True):
        return
    diff = float(np.nanmax(np.abs(g - w))) if g.size else 0.0
    msg = f"wrong value {on}: the largest difference from the expected result is {diff:.3g}."
    for hint, wrong in (mistakes or {}).items():
        wv = _np(wrong)
        if wv.shape == g.shape and np.allclose(g, wv, rtol=rtol, atol=atol):
            msg += f" Hint: {hint}"
            break
    raise _Fail(msg)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed: int, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=torch.float64) * scale


def _probs(n: int, c: int, seed: int, scale: float = 2.0) -> Tensor:
    return torch.softmax(_randn(n, c, seed=seed, scale=scale), dim=1)


def _unchanged(before, after, what: str, on: str) -> None:
    if not np.array_equal(_np(before), _np(after)):
        raise _Fail(f"your function changed {what} in place ({on}); work on a copy instead.")


def _scalar(value, on: str) -> Tensor:
    value = _expect_tensor(value, on)
    if value.ndim != 0:
        raise _Fail(
            f"the loss must be one number (a 0-d tensor), got shape {tuple(value.shape)} ({on}): "
            "average over the batch."
        )
    return value


def _grad_of(output: Tensor, inputs: Sequence[Tensor], on: str) -> list[Tensor | None]:
    """Gradients of ``output.sum()`` w.r.t. ``inputs`` (None where no gradient flows)."""
    if not output.requires_grad:
        return [None] * len(inputs)
    try:
        return list(torch.autograd.grad(output.sum(), list(inputs), allow_unused=True))
    except RuntimeError as err:
        raise _Fail(f"backpropagating through your result failed: {err} ({on}).") from None


def _has_grad(g: Tensor | None) -> bool:
    return g is not None and bool(g.abs().sum() > 0)
