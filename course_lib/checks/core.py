"""The machinery every homework checker shares.

A checker (one module per homework) builds a list of ``(title, property)`` pairs and hands it to
:func:`run_checks` with a description of what the student's function must return:

- a *property* is a function of the student's function ``fn``; it calls ``fn`` through
  :func:`call` on seeded inputs (:func:`randn`, :func:`probs`) and raises :class:`Fail` with a
  plain-words message when it does not hold. :func:`close` compares with the reference and, with
  ``mistakes={hint: wrong_answer}``, names a typical mistake without revealing the answer;
- the *return contract* (:func:`tensor`, :func:`array`, :func:`numbers`, :func:`pair`) is checked
  after every call, before any property looks at the result: ``None``, a tuple, a list, a wrong
  dtype end the check with one line saying what was expected, a wrong shape fails the property.
  So no property ever meets a value it cannot handle, and no NumPy or torch traceback reaches the
  student;
- the shared properties: :func:`untouched` (inputs not modified in place) and :func:`grads_reach`
  (which inputs the gradient of the result reaches).

A failing check raises :class:`CheckFailed`, an ``AssertionError`` (nbgrader scores the cell as
failed, pytest reports a failure) whose notebook output is the message alone, not a traceback
through this module.
"""

from __future__ import annotations

import contextlib
import sys
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
    """A homework check failed; the message says which property, in plain words.

    IPython asks an exception for ``_render_traceback_()`` before formatting a traceback: the
    notebook cell then shows ``CheckFailed: <message>`` and nothing of the checker's machinery.
    It is still an exception (nbgrader scores the cell by whether it raises) and an
    ``AssertionError`` (pytest and nbval see a failure).
    """

    def _render_traceback_(self) -> list[str]:
        first, *rest = str(self).split("\n")
        return [f"\x1b[0;31mCheckFailed\x1b[0m: {first}", *rest]


@dataclass
class CheckReport:
    """What a passing check returns: the checker's name and the properties that held.

    The check has already printed its ✓ line; as the value of a notebook cell the report shows
    nothing more (:meth:`_ipython_display_`), so a check cell's output is that one line. An
    ``Out[]`` repr would be a second copy of it, and nbgrader reads a graded cell's ``Out[]`` as
    partial credit ("cannot be converted to a float"). ``repr()`` is unchanged for code and tests.
    """

    name: str
    passed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return True

    def _ipython_display_(self) -> None:
        """IPython's hook: the object displays itself, here by showing nothing (no ``Out[]``)."""

    def __str__(self) -> str:
        return f"✓ {self.name}: all {len(self.passed)} checks passed ({', '.join(self.passed)})"


class Fail(Exception):
    """One property failed (message in plain words)."""


class _NotDone(Exception):
    """The student's function raised NotImplementedError."""


class _BadReturn(Exception):
    """The student's function returned something no property can look at (None, a tuple...)."""


# --- running a checker ---------------------------------------------------------------------------

Returns = Callable[[object, tuple, str], None]
"""A return contract: ``contract(result, args, on)`` raises :class:`_BadReturn` or :class:`Fail`."""


@dataclass(frozen=True)
class _Student:
    """The student's function together with its return contract (checked by :func:`call`)."""

    fn: Callable
    returns: Returns | None

    def __call__(self, *args):
        return self.fn(*args)


def _check(name: str, subject, properties, hint: str | None = None) -> CheckReport:
    """Test every property on ``subject`` (the student's function or value); the report if all
    hold, else :class:`CheckFailed` listing each property with a tick or a cross (and the hint)."""
    __tracebackhide__ = True
    passed, failed = [], []
    for title, prop in properties:
        try:
            # nbgrader scores a graded cell with any stderr output 0: the warnings (or prints to
            # stderr) of the student's function go to stdout, where the student still sees them
            with contextlib.redirect_stderr(sys.stdout):
                prop(subject)
        except _NotDone:
            raise CheckFailed(f"{name}: {NOT_IMPLEMENTED}") from None
        except _BadReturn as err:
            raise CheckFailed(f"{name}: {err}" + (f"\nHint: {hint}" if hint else "")) from None
        except Fail as err:
            failed.append((title, str(err)))
        except Exception as err:  # noqa: BLE001 - a result the checker could not test is a failure
            failed.append((title, f"could not test your result ({type(err).__name__}: {err})."))
        else:
            passed.append(title)
    if failed:
        lines = [f"{name}: {len(failed)} of {len(properties)} checks failed."]
        lines += [f"  ✓ {t}" for t in passed]
        lines += [f"  ✗ {t}: {msg}" for t, msg in failed]
        lines += [f"Hint: {hint}"] if hint else []
        raise CheckFailed("\n".join(lines))
    return CheckReport(name, passed)


def run_checks(
    name: str,
    fn,
    properties: Sequence[tuple[str, Callable]],
    *,
    returns: Returns | None = None,
    quiet: bool = False,
) -> CheckReport:
    """Test every property on ``fn``; print and return a :class:`CheckReport` if all hold, else
    raise :class:`CheckFailed` listing each property with a tick or a cross."""
    __tracebackhide__ = True  # pytest: show the message, not this frame
    if not callable(fn):
        raise CheckFailed(f"{name}: expected your function, got {type(fn).__name__} ({fn!r}).")
    report = _check(name, _Student(fn, returns), properties)
    if not quiet:
        print(report)
    return report


NOT_ATTEMPTED = "not attempted yet"


def exercise(
    name: str,
    answer,
    properties: Sequence[tuple[str, Callable]],
    *,
    hint: str,
    returns: Returns | None = None,
) -> CheckReport | None:
    """Check a chapter exercise: :func:`run_checks` for the in-chapter mini-tasks.

    A chapter runs top to bottom with its exercises unsolved (nbval executes it as shipped), so
    an exercise *not attempted yet* is not a failure: ``answer`` is ``None`` or a function that
    still raises ``NotImplementedError``, and the check prints one line (``name: not attempted
    yet`` and the ``hint``) and returns ``None``. An attempted answer is checked like homework:
    every property holds → the ✓ line and a :class:`CheckReport`; one fails →
    :class:`CheckFailed` with the ticks and crosses, and the hint.

    ``answer`` is the student's function (properties call it through :func:`call`, as in the
    homework) or a value (a number, an array): properties are then called with the value itself.
    """
    __tracebackhide__ = True
    subject = _Student(answer, returns) if callable(answer) else answer
    try:
        if answer is None:
            raise _NotDone()
        report = _check(name, subject, properties, hint)
    except (_NotDone, CheckFailed) as err:
        if isinstance(err, CheckFailed) and NOT_IMPLEMENTED not in str(err):
            raise
        print(f"{name}: {NOT_ATTEMPTED}. Hint: {hint}")
        return None
    print(report)
    return report


def _copy(value):
    if isinstance(value, Tensor):
        return value.clone()  # keeps the graph: gradients still reach the original
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def call(fn, *args, on: str, copy: bool = True):
    """Call the student's function on ``args`` (described by ``on`` in messages); turn its
    exceptions into plain-words failures and check its result against the return contract.

    The function gets copies of the arrays and tensors (``copy=True``), so that one modifying its
    inputs in place fails :func:`untouched` only, not every property after it.
    """
    try:
        out = fn(*(_copy(a) for a in args) if copy else args)
    except NotImplementedError:
        raise _NotDone() from None
    except (Fail, _NotDone, _BadReturn):
        raise
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported
        raise Fail(f"your function raised {type(err).__name__}: {err} (input: {on}).") from None
    if isinstance(fn, _Student) and fn.returns is not None:
        fn.returns(out, args, on)
    return out


# --- return contracts ----------------------------------------------------------------------------


def _describe(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        items = "item" if len(value) == 1 else "items"
        return f"a {type(value).__name__} of {len(value)} {items}"
    if isinstance(value, Tensor):
        return f"a tensor of dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _bad(value, what: str, on: str, who: str = "your function returned") -> _BadReturn:
    hint = ""
    if value is None:
        hint = " Did you forget the `return` statement?"
    elif isinstance(value, (float, int, np.floating, np.integer)) and "tensor" in what:
        hint = " Keep the result a tensor (no .item() or float())."
    elif isinstance(value, (tuple, list)):
        hint = " Return one value, not several."
    return _BadReturn(f"{who} {_describe(value)} (input: {on}); expected {what}.{hint}")


def _real_dtype(value, *, floating: bool) -> bool:
    if isinstance(value, Tensor):
        return value.is_floating_point() or (
            not floating and not value.is_complex() and value.dtype != torch.bool
        )
    kind = np.asarray(value).dtype.kind
    return kind == "f" or (not floating and kind in "iu")


def _values(types: tuple[type, ...], floating: bool, shape, what: str) -> Returns:
    """Contract: an instance of ``types`` holding real (``floating``: floating-point) numbers,
    of shape ``shape(*args)``; ``what`` in words."""
    values = "floating-point values" if floating else "integer or floating-point values"

    def contract(out, args, on, who="your function returned"):
        if not isinstance(out, types):
            raise _bad(out, what, on, who)
        if not _real_dtype(out, floating=floating):
            raise _BadReturn(f"{who} {_describe(out)} (input: {on}); expected {what}, {values}.")
        same_shape(out, tuple(shape(*args)), on)

    return contract


def tensor(shape: Callable[..., tuple], what: str) -> Returns:
    """Contract: a floating-point torch tensor of shape ``shape(*args)``; ``what`` in words."""
    return _values((Tensor,), True, shape, what)


def array(shape: Callable[..., tuple], what: str) -> Returns:
    """Contract: a NumPy array (a tensor is accepted too) of real numbers, of shape
    ``shape(*args)``; ``what`` in words."""
    return _values((np.ndarray, Tensor), False, shape, what)


def numbers(n: int, what: str) -> Returns:
    """Contract: ``n`` real numbers, as a tuple, a list, an array or a tensor."""

    def contract(out, args, on):
        if out is None or isinstance(out, (str, bytes, dict)):
            raise _bad(out, what, on)
        try:
            arr = np.asarray(out.detach().cpu() if isinstance(out, Tensor) else out)
        except (TypeError, ValueError):
            raise _bad(out, what, on) from None
        if not _real_dtype(arr, floating=False):
            raise _BadReturn(
                f"your function returned {_describe(out)} (input: {on}); expected {what}."
            )
        if arr.shape != (n,):
            raise Fail(f"return {what}; got shape {arr.shape} ({on}).")

    return contract


def pair(first: Returns, second: Returns, what: str) -> Returns:
    """Contract: a tuple (or list) of two results, each with its own contract."""

    def contract(out, args, on):
        if out is None:
            raise _bad(out, what, on)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise _BadReturn(
                f"your function returned {_describe(out)} (input: {on}); expected {what}."
            )
        for which, item, contract_ in zip(("first", "second"), out, (first, second), strict=True):
            try:
                contract_(item, args, on, who=f"the {which} item of your pair is")
            except Fail as err:
                raise Fail(f"the {which} item of your pair: {err}") from None

    return contract


# --- comparing results ------------------------------------------------------------------------


def as_array(value, what: str = "your result") -> np.ndarray:
    """``value`` as a float64 NumPy array (detached from autograd)."""
    if isinstance(value, Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(f"{what} is a {type(value).__name__}, not an array or tensor.") from None


def same_shape(got, want_shape: tuple, on: str) -> None:
    shape = tuple(np.shape(as_array(got)))
    if shape == tuple(want_shape):
        return
    hint = ""
    if shape == () and len(want_shape) == 1:
        hint = " Return one value per example; do not average over the batch."
    elif want_shape == ():
        hint = " The loss must be one number (a 0-d tensor): average over the batch."
    raise Fail(f"your result has shape {shape}, expected {tuple(want_shape)} ({on}).{hint}")


def close(got, want, on: str, *, rtol=1e-4, atol=1e-6, mistakes: dict | None = None) -> None:
    """Compare values; on a mismatch say how big it is and name a matching known mistake."""
    g, w = as_array(got), as_array(want)
    same_shape(g, w.shape, on)
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(w)):
        raise Fail(f"your result contains NaN or inf ({on}).")
    if np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True):
        return
    diff = float(np.nanmax(np.abs(g - w))) if g.size else 0.0
    msg = f"wrong value {on}: the largest difference from the expected result is {diff:.3g}."
    for hint, wrong in (mistakes or {}).items():
        wv = as_array(wrong)
        if wv.shape == g.shape and np.allclose(g, wv, rtol=rtol, atol=atol):
            msg += f" Hint: {hint}"
            break
    raise Fail(msg)


# --- shared properties ------------------------------------------------------------------------


def _snapshot(value):
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return None  # immutable or not ours to compare (numbers, tuples of ints, modules)


def _same(before, after) -> bool:
    if isinstance(before, Tensor):
        return before.shape == after.shape and torch.equal(before, after.detach())
    if isinstance(before, np.ndarray):
        return before.shape == after.shape and np.array_equal(before, after)
    if isinstance(before, list):
        return len(before) == len(after) and all(map(_same, before, after))
    return True


def untouched(make: Callable[[], tuple], names: Sequence[str | None], on: str) -> Callable:
    """A property: ``fn(*make())`` leaves every input named in ``names`` (arrays, tensors, lists of
    arrays; ``None`` for an input not to compare) as it was."""

    def inputs_left_unchanged(fn):
        args = make()
        before = [_snapshot(a) for a in args]
        call(fn, *args, on=on, copy=False)
        for name, b, a in zip(names, before, args, strict=True):
            if name is not None and not _same(b, a):
                raise Fail(f"your function changed {name} in place ({on}); work on a copy instead.")

    return inputs_left_unchanged


def grads_reach(fn, args: Sequence, wrt: Sequence[int], on: str) -> list[bool]:
    """Call ``fn(*args)`` with the inputs at positions ``wrt`` requiring grad; for each of them,
    whether a (non-zero) gradient of ``result.sum()`` reaches it."""
    args = [_copy(a) for a in args]
    for i in wrt:
        args[i] = args[i].detach().requires_grad_(True)
    out = call(fn, *args, on=on, copy=False)
    inputs = [args[i] for i in wrt]
    if not out.requires_grad:
        return [False] * len(inputs)
    try:
        grads = torch.autograd.grad(out.sum(), inputs, allow_unused=True)
    except RuntimeError as err:
        raise Fail(f"backpropagating through your result failed: {err} ({on}).") from None
    return [g is not None and bool(g.abs().sum() > 0) for g in grads]


# --- seeded inputs -------------------------------------------------------------------------------


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64) * scale


def probs(n: int, c: int, seed: int, scale: float = 2.0) -> Tensor:
    return torch.softmax(randn(n, c, seed=seed, scale=scale), dim=1)
