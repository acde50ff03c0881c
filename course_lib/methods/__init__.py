"""One file per paper. Each method is a dataclass with a ``loss(model, batch)``.

This file only re-exports them; add one import line per new method.
"""

from course_lib.methods.base import Batch, Method, TrainData, linear_rampup, sigmoid_rampup
from course_lib.methods.supervised import Supervised

__all__ = [
    "Batch",
    "Method",
    "Supervised",
    "TrainData",
    "linear_rampup",
    "sigmoid_rampup",
]
