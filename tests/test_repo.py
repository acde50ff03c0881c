"""Repository hygiene: notebooks without outputs, environment.yml in step with pyproject."""

import json
import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "lectures").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} has outputs: run `make notebooks-clean`"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].strip().lower()


CONDA_NAMES = {"torch": "pytorch", "jupyterlab-rise": "jupyterlab_rise"}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = {}
    pip_section = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section += dep["pip"]
        else:
            conda[_name(dep)] = dep.replace(" ", "")
    assert "-e ." in pip_section, "environment.yml must install the package itself"
    py = re.search(r"\d+\.\d+", project["requires-python"]).group()
    assert conda["python"] == f"python>={py}"
    for req in project["dependencies"]:
        name = _name(req)
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        spec = req.replace(" ", "")[len(name) :]
        assert conda[conda_name] == conda_name + spec, f"{name}: versions differ"
    lab = [CONDA_NAMES.get(_name(r), _name(r)) for r in project["optional-dependencies"]["lab"]]
    assert "jupyterlab" not in {_name(r) for r in project["dependencies"]}, "JupyterLab is an extra"
    assert all(name in conda for name in lab), "environment.yml must bring the lab extra"
    known = {CONDA_NAMES.get(_name(r), _name(r)) for r in project["dependencies"]} | set(lab)
    extra = set(conda) - known
    assert extra <= {"python", "pip", "ipykernel"}, f"environment.yml has unknown packages: {extra}"


def test_binder_environment_is_the_dependencies_without_the_package():
    top = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    binder = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())["dependencies"]
    assert all(isinstance(d, str) for d in binder), "binder/environment.yml installs no pip section"
    assert [d for d in binder if not d.startswith("python")] == [
        d for d in top if isinstance(d, str) and not d.startswith("python")
    ]
    assert re.fullmatch(r"python=3\.\d+", binder[0]), "pin Python for a reproducible image"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "--no-deps" in post and "-e ." in post


def test_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"


LECTURE_NOTEBOOKS = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", LECTURE_NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_has_slide_metadata_in_lecture_order(path):
    """Every cell says how RISE shows it; each chapter and each numbered section opens a slide."""
    nb = json.loads(path.read_text())
    kinds = [c["metadata"].get("slideshow", {}).get("slide_type") for c in nb["cells"]]
    assert None not in kinds, f"cell {kinds.index(None)} has no slideshow metadata"
    assert set(kinds) <= {"slide", "subslide", "fragment", "-", "skip", "notes"}
    assert kinds[0] == "slide"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## "):
            assert kinds[i] == "slide", f"cell {i} opens a section but not a slide"
    assert nb["metadata"].get("rise", {}).get("scroll") is True, "long slides must scroll"


@pytest.mark.parametrize("path", LECTURE_NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_says_how_to_install_course_lib_where_it_is_missing(path):
    import subprocess
    import sys

    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    guard = "".join(first["source"]).split("\n\n")[0]
    assert guard.startswith("try:") and "import course_lib" in guard
    # a kernel where course_lib cannot be imported: one line, no traceback
    code = "import sys; sys.modules['course_lib'] = None\n" + guard
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("course_lib is not installed in this kernel")
    assert "Traceback" not in out.stderr
