"""nbgrader settings of the course's homework (nbgrader 0.9).

The solved notebooks (lectures/homework/instructor/*.ipynb) are nbgrader sources: one assignment
per notebook. Lay out a course directory, which gets a copy of this file, and grade there:

    python -m course_lib.homework course ~/ssl-course
    cd ~/ssl-course
    nbgrader generate_assignment hw01_lapsvm     # release/ = lectures/homework/student/, same bytes
    # students' files go to submitted/<student>/hw01_lapsvm/hw01_lapsvm.ipynb
    nbgrader autograde hw01_lapsvm

The grading kernel needs `course_lib` installed (`pip install -e .` in the repository).
tests/test_nbgrader.py runs this round trip with the real nbgrader.
"""

c = get_config()  # noqa: F821 - nbgrader's config loader defines it

c.CourseDirectory.course_id = "ssl-medical-imaging"

# The longest cell of a solved notebook is hw06's solution cell (two U-Net trainings): ~18 s on an
# idle 2-core CPU, 32-64 s measured on 2 cores shared with other jobs (load 4-8). nbgrader's
# default of 30 s per cell interrupted it in 2 of 3 autograde runs (its check then failed).
# 180 s is ten times the idle time, about three times the worst we measured, and still stops a
# student's endless loop. tests/test_nbgrader.py fails if a solved cell takes half of it.
c.Execute.timeout = 180

# A graded check cell that is missing from a submission is put back (with a comment saying so) and
# run, instead of the points silently being lost. The student notebooks already stop deletion in
# Jupyter (`deletable: false`); this covers files edited by other tools.
c.OverwriteCells.add_missing_cells = True

# The stubs of `python -m course_lib.homework build` (nbgrader's defaults, written out because the
# student notebooks are built with them and must equal what generate_assignment releases).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
