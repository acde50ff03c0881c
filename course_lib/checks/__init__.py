"""Homework checkers: run a student's function against the library's reference implementation.

Every ``check_xxx(student_fn)`` calls ``student_fn`` on a few random and edge-case inputs (built
from fixed seeds, so a failure is reproducible), compares what comes back with the reference
implementation in ``course_lib`` and tests the properties the method needs (shape, value at an
edge case, gradient flow, the input left untouched, determinism...). It never prints the
reference answer: a failure says *which property* failed, on *which kind of input*, and by how
much, plus a hint when the answer matches a known typical mistake.

- All properties hold: a one-line summary is printed and a :class:`CheckReport` returned (as a
  cell's value it shows nothing more: the check cell's output is that one line, no ``Out[]``).
  Whatever the student's function writes to stderr while being checked (warnings...) is shown on
  stdout: nbgrader scores a graded cell with stderr output 0.
- A property fails: :class:`CheckFailed` (an ``AssertionError``) is raised; its message lists
  every property with a tick or a cross. The check cell of the notebook shows it in red, without
  a traceback through this package.
- The function still raises ``NotImplementedError`` (the stub): :class:`CheckFailed` says so.
- The function returns something no property can look at (``None``, a tuple, a list, a wrong
  dtype): one line says what was expected. A function that modifies its inputs in place fails
  the "left unchanged" property.

The checkers, one module per homework notebook (``lectures/homework/instructor/hwNN_*.ipynb``);
the shared machinery (running properties, return contracts, ``close(..., mistakes=...)``,
``untouched``, seeded inputs) is in :mod:`course_lib.checks.core`:

1. :mod:`.hw01_lapsvm`: :func:`check_laplacian`, :func:`check_deformed_kernel`
2. :mod:`.hw02_consistency`: :func:`check_pi_consistency`,
   :func:`check_mean_teacher_consistency`, :func:`check_ema_update`
3. :mod:`.hw03_vat`: :func:`check_kl_divergence`, :func:`check_adversarial_perturbation`
4. :mod:`.hw04_fixmatch_mixmatch`: :func:`check_fixmatch_loss`, :func:`check_sharpen`,
   :func:`check_mixup`
5. :mod:`.hw05_cam`: :func:`check_cam`, :func:`check_map_to_box`
6. :mod:`.hw06_box2mask`: :func:`check_box_i_labels`, :func:`check_denoise`

The chapters' checked exercises (two or more per chapter, issue 17) use the same machinery
through :func:`course_lib.checks.core.exercise`: one module per chapter,
``exNN_<topic>.py`` (``ex01_two_moons`` ... ``ex10_medical_papers``), with ``check_exNN_k(answer)``
and the instructors' solution sketch ``solution_exNN_k`` beside it. A chapter imports its
checks from its module; an exercise not attempted yet prints its hint instead of failing, so
the chapter runs top to bottom as shipped.

A new homework: a module ``hwNN_topic.py`` whose ``check_xxx(fn, *, quiet=False)`` returns
``core.run_checks(name, fn, properties, returns=..., quiet=quiet)``, one import line here and
its name in ``__all__``.
"""

from course_lib.checks.core import CheckFailed, CheckReport
from course_lib.checks.hw01_lapsvm import check_deformed_kernel, check_laplacian
from course_lib.checks.hw02_consistency import (
    check_ema_update,
    check_mean_teacher_consistency,
    check_pi_consistency,
)
from course_lib.checks.hw03_vat import check_adversarial_perturbation, check_kl_divergence
from course_lib.checks.hw04_fixmatch_mixmatch import check_fixmatch_loss, check_mixup, check_sharpen
from course_lib.checks.hw05_cam import check_cam, check_map_to_box
from course_lib.checks.hw06_box2mask import check_box_i_labels, check_denoise

__all__ = [
    "CheckFailed",
    "CheckReport",
    "check_adversarial_perturbation",
    "check_box_i_labels",
    "check_cam",
    "check_deformed_kernel",
    "check_denoise",
    "check_ema_update",
    "check_fixmatch_loss",
    "check_kl_divergence",
    "check_laplacian",
    "check_map_to_box",
    "check_mean_teacher_consistency",
    "check_mixup",
    "check_pi_consistency",
    "check_sharpen",
]
