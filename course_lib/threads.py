"""How many CPU threads the course's PyTorch code uses: one, unless you say otherwise.

PyTorch starts one OpenMP thread per core in every process. Two notebooks training at once on a
2-core machine then run four busy threads on two cores, and OpenMP's spin-waiting turns that
into a 10-20x slowdown (a 10-s training run took 122 s beside other training processes on this
course's 2-core machine). A classroom runs many kernels on one machine, so ``import course_lib``
sets **one torch thread per process** (:func:`configure`):

- two chapters running at once then share the cores instead of fighting over them
  (``python -m course_lib.bench --together ch04 ch05`` on 2 cores: 1.00x and 1.14x their time
  alone, against 5.1x and 8.0x with torch's default of one thread per core);
- the thread count changes the order of floating-point sums, and a few hundred training steps
  turn that into different accuracies (85.6 vs 88.1 % for one seed of a digits CNN at 1 vs 2
  threads). One fixed count makes the same seed give the same numbers on every machine,
  whatever else is running -- the numbers the chapters' prose quotes -- where a count that
  adapted to the cores or the load would not.

The price is speed alone on several cores for the convolutional chapters: chapter 07 took 94 s
alone with one thread and 51 s with two on 2 cores (chapters 04 and 05, MLPs: no difference).
A count that follows the cores would be deterministic only if the results did not depend on it:
they do through oneDNN's convolutions. With oneDNN switched off (``torch.backends.mkldnn``) 20
training steps of a small CNN gave bit-identical weights at one and two threads, but PyTorch's
own convolution costs 1.9x the CPU time (8.2 vs 4.4 s for 60 steps at one thread), so two
threads without oneDNN are no faster than one with it. Hence one fixed thread.

Override with the environment variable ``COURSE_THREADS`` before importing: a number of threads
(e.g. ``COURSE_THREADS=8`` on a workstation used alone), or ``torch`` to leave torch's own
setting untouched. On a GPU the thread count hardly matters.
"""

from __future__ import annotations

import os

import torch

ENV = "COURSE_THREADS"
DEFAULT = 1


def requested() -> int | None:
    """The thread count ``COURSE_THREADS`` asks for: an int, or None for ``torch``'s own."""
    value = os.environ.get(ENV, "").strip().lower()
    if not value:
        return DEFAULT
    if value == "torch":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"${ENV}={value!r} is not a thread count: use a positive integer (e.g. 1, the "
            "default) or 'torch' to keep torch's own setting."
        )
    return int(value)


def configure() -> int:
    """Apply the course's thread policy to torch; return the number of threads in use."""
    n = requested()
    if n is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return torch.get_num_threads()
