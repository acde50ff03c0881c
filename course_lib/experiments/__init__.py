"""One source per experiment: what each chapter runs, used by its notebook *and* the benchmark.

Every module here (``chNN_<topic>.py`` after the chapter, ``xrays.py`` for the chest X-rays)
follows one pattern::

    @dataclass(frozen=True)
    class Settings:           # every knob of the experiment, with the paper's names
        steps: int = 600
        ...

    NOTEBOOK = Settings(...)  # classroom-fast: the chapter runs top to bottom in <= 60 s
    BENCH = Settings(...)     # the benchmark's settings (more steps/images), chosen on validation

    def run(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
        ...                   # one record per fit: {"method", "seed", "accuracy", "seconds", ...}

The notebook calls ``run(NOTEBOOK)`` (and shows the interesting lines with ``show_source``); the
benchmark (``course_lib/bench/``) loops ``run(BENCH, seed)`` over seeds and formats the records
with ``course_lib.report``. A number in a chapter's prose is one its own cells print; where the
notebook and the benchmark differ, it is in these two settings instances and nowhere else.
Records are flat dicts in the format of ``course_lib.evaluation.compare``; anything a widget
scrubs through (histories, maps) may ride along under extra keys.
"""
