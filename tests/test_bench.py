"""The benchmark's run contract, written once in course_lib.bench and held here for every module."""

import importlib

import pytest

from course_lib.bench import check_module, notebooks_for
from course_lib.bench.__main__ import chapter_modules, main

MODULES = chapter_modules()


@pytest.mark.parametrize("key", sorted(MODULES))
def test_every_bench_module_follows_the_run_contract(key):
    check_module(importlib.import_module(f"course_lib.bench.{MODULES[key]}"))


def test_check_module_rejects_a_wrong_signature():
    class Fake:
        __name__ = "fake"

        @staticmethod
        def run(quick, device, notebooks=True):
            return []

    with pytest.raises(TypeError, match="contract"):
        check_module(Fake)


def test_notebooks_are_found_by_whole_key():
    assert [p.name for p in notebooks_for("ch03")] == ["03_consistency.ipynb"]
    assert notebooks_for("ch06b") == []
    assert len(notebooks_for("ch90")) == 6


def test_only_takes_whole_keys(tmp_path, capsys):
    assert MODULES["ch06"] == "ch06_mixmatch_fixmatch" and "ch06b" in MODULES
    with pytest.raises(SystemExit):
        main(["--only", "ch0", "--out", str(tmp_path)])  # a prefix is not a key
    assert "unknown key" in capsys.readouterr().err


def test_bench_quick_runs_chapter_01(tmp_path, capsys):
    main(["--quick", "--only", "ch01", "--no-notebooks", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Ch01" in out and "labels/class" in out
    assert (tmp_path / "results.md").exists()


def test_pair_timings_runs_each_notebook_alone_and_together(tmp_path):
    import nbformat

    from course_lib.bench import pair_timings

    paths = []
    for name in ("a.ipynb", "b.ipynb"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("import course_lib, torch\nx = torch.ones(3).sum()")]
        nbformat.write(nb, tmp_path / name)
        paths.append(tmp_path / name)
    rows = pair_timings(paths)
    assert [r[0] for r in rows] == ["a.ipynb", "b.ipynb"]
    assert all(solo > 0 and together > 0 for _, solo, together in rows)
    bad = tmp_path / "bad.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    nbformat.write(nb, bad)
    with pytest.raises(RuntimeError, match="notebook failed"):
        pair_timings([bad, paths[0]])


def test_profile_notebook_sees_the_kernel_memory_grow(tmp_path):
    import nbformat

    from course_lib.bench import profile_notebook

    def notebook(name, code):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, tmp_path / name)
        return tmp_path / name

    small = notebook("small.ipynb", "x = 1")
    big = notebook("big.ipynb", "import numpy, time\nx = numpy.ones(50 * 2**20)\ntime.sleep(0.5)")
    (s_small, mb_small), (_, mb_big) = profile_notebook(small), profile_notebook(big)
    assert s_small > 0 and mb_small > 10  # a kernel is a Python process: tens of MB at least
    assert mb_big > mb_small + 300  # the 400 MB array shows up in the peak
