"""The lecture's medical papers (chapter 10), one file per paper, each a loss plus a small demo.

- :mod:`~course_lib.papers.synergic`: synergic deep learning (Zhang et al., MICCAI 2018);
- :mod:`~course_lib.papers.nonadj`: NonAdjLoss, an anatomical adjacency prior (Ganaye et al.,
  MICCAI 2018);
- :mod:`~course_lib.papers.siamese_pretext`: Siamese patch-distance pretext task (Spitzer et al.,
  MICCAI 2018);
- :mod:`~course_lib.papers.grouped_conv`: grouped first convolution over multi-phase inputs
  (Lee et al., MICCAI 2018).

Chapter 08 adds :mod:`~course_lib.papers.zhao_instances`: instance segmentation from boxes for all
instances and masks for a few, in two stages (Zhao et al., MICCAI 2018); import it as a module.
"""

from course_lib.papers.grouped_conv import PhaseCNN, phase_cnn
from course_lib.papers.nonadj import (
    SegNet,
    forbidden_adjacencies,
    nonadj_loss,
    segment,
    soft_adjacency,
    train_segmenter,
)
from course_lib.papers.siamese_pretext import (
    PatchClassifier,
    PatchEncoder,
    distance_pretext_loss,
    embed,
    pretrain_distance,
    sample_patches,
)
from course_lib.papers.synergic import Synergic, SynergicPair, synergic_loss, synergic_pair

__all__ = [
    "PatchClassifier",
    "PatchEncoder",
    "PhaseCNN",
    "SegNet",
    "Synergic",
    "SynergicPair",
    "distance_pretext_loss",
    "embed",
    "forbidden_adjacencies",
    "nonadj_loss",
    "phase_cnn",
    "pretrain_distance",
    "sample_patches",
    "segment",
    "soft_adjacency",
    "synergic_loss",
    "synergic_pair",
    "train_segmenter",
]
