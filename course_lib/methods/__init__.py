"""One file per paper. Each method is a dataclass with a ``loss(model, batch)``.

This file only re-exports them; add one import line per new method. The parts that several
methods share (EMA, ramp-ups, pseudo-label monitor) are in :mod:`course_lib.methods.parts`.
"""

from course_lib.methods.base import Batch, Method, TrainData
from course_lib.methods.confidence_penalty import ConfidencePenalty, LabelSmoothing
from course_lib.methods.entropy_min import EntropyMinimization
from course_lib.methods.fixmatch import FixMatch
from course_lib.methods.mean_teacher import MeanTeacher
from course_lib.methods.mixmatch import MixMatch
from course_lib.methods.parts import LabelMonitor, linear_rampup, rampup_weight, sigmoid_rampup
from course_lib.methods.pi_model import PiModel
from course_lib.methods.pseudo_label import PseudoLabel
from course_lib.methods.supervised import Supervised
from course_lib.methods.temporal_ensembling import TemporalEnsembling
from course_lib.methods.vat import VAT

__all__ = [
    "VAT",
    "Batch",
    "LabelMonitor",
    "ConfidencePenalty",
    "EntropyMinimization",
    "FixMatch",
    "LabelSmoothing",
    "MeanTeacher",
    "MixMatch",
    "Method",
    "PiModel",
    "PseudoLabel",
    "Supervised",
    "TemporalEnsembling",
    "TrainData",
    "linear_rampup",
    "rampup_weight",
    "sigmoid_rampup",
]
