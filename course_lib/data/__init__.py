"""Data sets of the course: all generated or shipped with our dependencies, never downloaded.

One module per data set; this file only re-exports them.
"""

from course_lib.data.digits import digits
from course_lib.data.moons import moons_curves, two_moons
from course_lib.data.split import split_labeled

__all__ = ["digits", "moons_curves", "split_labeled", "two_moons"]
