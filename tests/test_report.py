"""course_lib.report: tables, mean ± std, and the pivot of experiment records."""

import pytest

from course_lib.report import Table, mean_std, pivot


def test_table_markdown_and_csv(tmp_path):
    t = Table("T", ["a", "b"])
    t.add("x", 0.5)
    assert "| x | 0.500 |" in t.markdown()
    t.write_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["a,b", "x,0.5"]
    with pytest.raises(ValueError, match="row has 1 cells"):
        t.add("only one")


def test_mean_std_formats_and_single_value_has_no_spread():
    assert mean_std([0.5, 0.7]) == "60.0 ± 10.0"
    assert mean_std([0.5, 0.7], pct=False) == "0.600 ± 0.100"
    assert mean_std([0.973]) == "97.3"  # never a standard deviation of one value
    with pytest.raises(ValueError, match="no values"):
        mean_std([])


def test_pivot_groups_by_row_and_column():
    recs = [
        {"method": "a", "per_class": 1, "seed": 0, "accuracy": 0.5, "seconds": 1.0},
        {"method": "a", "per_class": 1, "seed": 1, "accuracy": 0.7, "seconds": 3.0},
        {"method": "a", "per_class": 5, "seed": 0, "accuracy": 0.9, "seconds": 2.0},
        {"method": "b", "per_class": 1, "seed": 0, "accuracy": 0.4, "seconds": 1.0},
    ]
    t = pivot(recs, "T", cols="per_class")
    assert t.columns == ["method", "per_class=1", "per_class=5", "fit s"]
    assert t.rows[0] == ["a", "60.0 ± 10.0", "90.0", 2.0]
    assert t.rows[1] == ["b", "40.0", "–", 1.0]
    assert "2 seed(s)" in t.note
    with pytest.raises(ValueError, match="no key"):
        pivot(recs, "T", value="auc")
