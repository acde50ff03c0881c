from course_lib.bench import Table
from course_lib.bench.__main__ import chapter_modules, main


def test_table_markdown_and_csv(tmp_path):
    t = Table("T", ["a", "b"])
    t.add("x", 0.5)
    assert "| x | 0.500 |" in t.markdown()
    t.write_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["a,b", "x,0.5"]


def test_bench_quick_runs_chapter_01(tmp_path, capsys):
    assert "ch01_two_moons" in chapter_modules()
    main(["--quick", "--only", "ch01", "--no-notebooks", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Ch01" in out and "labels/class" in out
    assert (tmp_path / "results.md").exists()
