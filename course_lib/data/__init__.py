"""Data sets of the course: all generated or shipped with our dependencies, never downloaded.

One module per data set; this file only re-exports them.
"""

from course_lib.data.cells import Cells, cells
from course_lib.data.digits import digits
from course_lib.data.lesions import LesionSet, lesions
from course_lib.data.medmnist import load_medmnist
from course_lib.data.moons import moons_curves, two_moons
from course_lib.data.phantom import (
    BRAIN_ADJACENCY,
    adjacency_counts,
    brain_phantom,
    multiphase_lesions,
    texture_sections,
)
from course_lib.data.split import split_labeled
from course_lib.data.xrays import chest_xrays

__all__ = [
    "Cells",
    "cells",
    "chest_xrays",
    "digits",
    "lesions",
    "LesionSet",
    "load_medmnist",
    "moons_curves",
    "BRAIN_ADJACENCY",
    "adjacency_counts",
    "brain_phantom",
    "multiphase_lesions",
    "texture_sections",
    "split_labeled",
    "two_moons",
]
