import os

os.environ.setdefault("MPLBACKEND", "Agg")
# no progress bars in tests, nor in the notebooks nbval runs (their kernels inherit this)
os.environ.setdefault("COURSE_PROGRESS", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
