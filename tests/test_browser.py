"""The widgets in a real JupyterLab, driven in headless Chromium the way a person uses them.

A widget that passes ``test_widgets.py`` can still show "Error displaying widget" in JupyterLab when
the front-end extension and the kernel package disagree. This test starts ``jupyter lab`` on
127.0.0.1 (token, no browser, throw-away settings), opens each chapter notebook of ``CASES`` in
Debian's Chromium through Python Playwright, runs its cells from the Run menu (chapter 01: Run All
Cells; later chapters: the cells up to the widget, as nbval runs them all anyway), drags one slider
of the chapter's widget with the mouse to one end and back to the other, and checks that the
rendered figure changed each time (both the PNG the kernel sent and a screenshot of what is on
screen) and that no widget error is shown. After each drag it reads the widget's descriptions,
readouts and labels from the page: each must be shown whole (a text wider than its box, like a
readout "w_max = 300" cut to "w_max = 3", fails) and the slider's readout or label must show the
value it was dragged to (``WidgetCase.readout``/``label``; a stale label fails).

Lecture mode: ``test_chapter_as_rise_slideshow`` opens chapter 01 with jupyterlab-rise
(``/rise/<path>``) and screenshots its first two slides (``slideshow-*.png``).

Screenshots and the server/browser logs go to ``test-artifacts/browser/`` (printed by the test).
The notebook is a copy in a temporary folder, so the committed file (no outputs) is never written.

Chromium: ``/usr/bin/chromium`` (Debian packages ``chromium`` and ``chromium-driver``; ``.ci/run``
installs them) or the path in ``COURSE_CHROMIUM``. Without it the test is skipped with the install
command, except under CI (``CI`` set), where it fails.

**Adding a chapter:** tag the code cell that displays the widget with the cell tag ``browser-test``
(``TAG``; one such cell per notebook -- JupyterLab: Property Inspector > Cell Tags) and append one
``WidgetCase`` to ``CASES`` (notebook, which slider to drag). The cell is found by its tag, not by
its source, so editing the cell's code does not break the test.
``test_planned_widget_chapters_have_a_browser_case`` fails until the chapters named in ``PLANNED``
that exist in ``lectures/`` have their case, ``test_every_case_tags_one_widget_cell`` until each
case's notebook tags exactly one code cell.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags Chromium keeps calling Google's hosts, which stalls on a machine
# without internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
INSTALL_HINT = (
    "install it with `sudo apt-get install chromium chromium-driver` (Debian/Ubuntu) "
    "or point COURSE_CHROMIUM at a Chromium/Chrome binary"
)
# The cell tag that marks the code cell whose output is the widget to drive (one per notebook).
TAG = "browser-test"
# The longest a notebook may take to run in the browser (raise it on a slow or busy machine).
RUN_TIMEOUT_S = float(os.environ.get("COURSE_BROWSER_TIMEOUT", 300))


@dataclass(frozen=True)
class WidgetCase:
    """One widget to drive: the chapter and the slider to drag.

    notebook : file name in ``lectures/``; its code cell tagged ``TAG`` displays the widget.
    slider : which slider of that widget (0 = the first on screen).
    to : drag that slider's handle to the ``"min"`` or ``"max"`` end of its track first; the test
        then drags it to the other end.
    run_all : run all cells (Run > Run All Cells), or only the cells up to the widget's (Run All
        Above Selected Cell), which keeps the test short: nbval runs every cell anyway.
    readout : the text the dragged slider's readout shows at its ``(min, max)`` end, exactly;
        ``None``: the slider has no readout (``readout=False``), ``label`` must then show the value.
    label : regular expressions that the widget's text label (an ``ipywidgets.Label`` under the
        figure) must match in full at the slider's ``(min, max)`` end; with ``readout=None`` the
        two texts must also differ (a label that did not follow the slider is stale).

    After every drag all the descriptions, readouts and labels of the widget must be shown whole
    (no text cut off by its box) -- see ``_shown_labels``.
    """

    notebook: str
    slider: int = 0
    to: str = "min"
    run_all: bool = False
    readout: tuple[str, str] | None = None
    label: tuple[str, str] | None = None

    def __post_init__(self):
        if self.to not in ("min", "max"):
            raise ValueError(f"to must be 'min' or 'max', got {self.to!r}")
        if self.readout is None and self.label is None:
            raise ValueError("give readout or label: the text that shows the slider's value")

    @property
    def id(self) -> str:
        return self.notebook.removesuffix(".ipynb")


# One widget per chapter. The chapters of PLANNED get a line here when their notebook lands.
CASES = [
    # training player: the record slider has no readout, the label names the step (400 steps,
    # recorded every 20)
    WidgetCase(
        "01_two_moons.ipynb",
        to="min",
        run_all=True,
        label=(r"step 0: eval_acc = [01]\.\d{3}", r"step 400: eval_acc = [01]\.\d{3}"),
    ),
    WidgetCase(
        "02_laplacian_svm.ipynb", slider=0, to="min", readout=("0.000100", "100")
    ),  # γ_I (format .3g)
    # method explorer: the setting slider of the first method (Π-model), w_max 3 / 30 / 300
    WidgetCase("03_consistency.ipynb", slider=0, to="max", readout=("w_max = 3", "w_max = 300")),
    WidgetCase("06_mixmatch_fixmatch.ipynb", to="min", readout=("0.50", "0.99")),  # tau
    WidgetCase(
        "07_cam.ipynb",
        slider=1,
        to="max",
        readout=("0.05", "0.95"),
        label=(r"IoU of the red box with the best true box: \d\.\d\d|no lesion in this image",) * 2,
    ),  # threshold
    WidgetCase(
        "08_box_to_mask.ipynb",
        to="max",
        readout=("0", "3"),
        label=(
            r"round-0 labels: mean Dice of the training labels 0\.\d{3}",
            r"labels after round 3: mean Dice of the training labels 0\.\d{3}",
        ),
    ),  # rounds
    WidgetCase("09_realistic_evaluation.ipynb", to="max", readout=("10", "400")),  # n_val
    # test image of the NonAdjLoss figure (100 test phantoms)
    WidgetCase("10_medical_papers.ipynb", to="max", readout=("0", "99")),
]
# Chapters whose widget the browser test must cover once their notebook exists (issue 9).
PLANNED = {
    "02": "LapSVM gamma_I slider",
    "03": "method explorer's setting slider (w_max)",
    "06": "FixMatch tau slider",
    "07": "CAM threshold slider",
    "08": "box-to-mask rounds slider",
    "09": "validation-size slider",
    "10": "NonAdjLoss test-image slider",
}

# JupyterLab user settings for the test: no autosave (the run must not write the notebook), all
# cells attached to the page (no windowing, so every cell can be found), the notebook's kernel
# started without asking, no news/update requests.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,  # else a "Select Kernel" dialog may come up on opening
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _missing(what: str) -> None:
    """Fail under CI, skip elsewhere: a missing browser must never pass silently in CI."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set and {what}; .ci/run should have installed it", pytrace=False)
    pytest.skip(what)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tagged_cell_index(path: Path, tag: str = TAG) -> int:
    """Index (among all cells, markdown included, as on screen) of the one code cell of the
    notebook ``path`` whose metadata tags include ``tag``; AssertionError naming the cells
    otherwise."""
    cells = json.loads(path.read_text())["cells"]
    hits = [i for i, c in enumerate(cells) if tag in c.get("metadata", {}).get("tags", [])]
    how = (
        f"tag the code cell that displays the widget with {tag!r} (JupyterLab: Property "
        "Inspector > Cell Tags; or cell.metadata['tags'] with nbformat)"
    )
    assert hits, f"{path.name}: no cell carries the tag {tag!r}; {how}"
    assert len(hits) == 1, (
        f"{path.name}: cells {hits} carry the tag {tag!r}; exactly one should (the widget's)"
    )
    kind = cells[hits[0]]["cell_type"]
    assert kind == "code", f"{path.name}: cell {hits[0]} tagged {tag!r} is a {kind} cell; {how}"
    return hits[0]


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser test artifacts (screenshots, logs): {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab(artifacts):
    """JupyterLab on 127.0.0.1 serving a temporary copy of lectures/; yields (url, token, root)."""
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium is not at {CHROMIUM}: {INSTALL_HINT}")
    tmp = Path(tempfile.mkdtemp(prefix="course-lab-"))
    try:
        root = tmp / "root"
        shutil.copytree(LECTURES, root / "lectures", ignore=shutil.ignore_patterns(".ipynb_*"))
        if (ROOT / "assets").is_dir():
            (root / "assets").symlink_to(ROOT / "assets")
        settings = tmp / "settings"
        for name, values in LAB_SETTINGS.items():
            f = settings / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        env = dict(os.environ)
        for var in ("CONFIG", "RUNTIME"):  # no user config, no stale runtime files
            env[f"JUPYTER_{var}_DIR"] = str(tmp / var.lower())
        env["IPYTHONDIR"] = str(tmp / "ipython")
        env.pop("MPLBACKEND", None)  # conftest sets Agg; the kernels use Jupyter's inline backend
        port, token = _free_port(), secrets.token_hex(16)
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no PyPI requests
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        log = open(artifacts / "jupyterlab.log", "w")  # noqa: SIM115 - closed in finally
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited with {proc.returncode}; see {log.name}")
                try:
                    with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"jupyter lab did not answer in 90 s; see {log.name}")
                    time.sleep(0.3)
            yield url, token, root
        finally:
            _stop(proc, url, token)
            log.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen, url: str, token: str) -> None:
    """Shut the server (and its kernels) down; escalate to signals if it does not go."""
    if proc.poll() is None:
        try:
            _api(url, token, "shutdown", method="POST")
            proc.wait(timeout=15)
        except Exception:
            pass
    for sig in ("terminate", "kill"):
        if proc.poll() is not None:
            break
        try:  # the server's own process group: its kernels go too
            os.killpg(proc.pid, 15 if sig == "terminate" else 9)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def browser(lab, artifacts):
    """Headless Debian Chromium through Python Playwright (no browser download needed)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Python Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _api(url: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{url}/api/{path}?token={token}", method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


@pytest.fixture
def page(lab, browser, artifacts, request):
    """A fresh browser context; afterwards the page is screenshotted and all kernels stopped."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    console = []
    pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    name = request.node.callspec.id if hasattr(request.node, "callspec") else request.node.name
    try:
        yield pg
    finally:
        (artifacts / f"{name}-console.log").write_text("\n".join(console) + "\n")
        try:
            pg.screenshot(path=str(artifacts / f"{name}-page.png"), full_page=False)
        except Exception:
            pass
        context.close()
        url, token, _ = lab
        try:
            for session in _api(url, token, "sessions"):  # free the CPU for the next chapter
                _api(url, token, f"sessions/{session['id']}", method="DELETE")
        except OSError:
            pass  # the server is gone; the lab fixture reports it


# -- helpers that act in the page ---------------------------------------------------------------

_IMAGE_BYTES_JS = """async (img) => {
    const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let s = "";
    for (let i = 0; i < buf.length; i += 0x8000) {
        s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
    }
    return btoa(s);
}"""


def _image_digest(img) -> str:
    """sha256 of the PNG the kernel sent (ipywidgets shows it from a blob: URL)."""
    return hashlib.sha256(base64.b64decode(img.evaluate(_IMAGE_BYTES_JS))).hexdigest()


# The status bar reads "Python 3 (ipykernel) | Idle" once the kernel is connected and idle.
IDLE_JS = """() => [...document.querySelectorAll('.jp-StatusBar-Widget')]
    .some(w => w.textContent.includes('| Idle'))"""


def _kernel_idle(page) -> bool:
    return page.evaluate(IDLE_JS)


def _wait_for_new_image(page, img, old: str, timeout_s: float = 60.0) -> str:
    """Wait until the image differs from ``old``, the kernel is idle (a drag sends several values,
    each one a redraw) and the image has not changed for a second; return its digest."""
    deadline = time.monotonic() + timeout_s
    last, stable_since = old, None
    while time.monotonic() < deadline:
        now = _image_digest(img)
        if now != last:
            last, stable_since = now, time.monotonic()
        elif now != old and time.monotonic() - stable_since > 1.0 and _kernel_idle(page):
            return now
        time.sleep(0.2)
    return last


def _drag(page, slider, end: str) -> None:
    """Drag the slider's handle with the mouse to the ``end`` ("min"/"max") of its track."""
    track = slider.locator(".noUi-target").first
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    t, h = track.bounding_box(), handle.bounding_box()
    page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
    page.mouse.down()
    x = t["x"] - 20 if end == "min" else t["x"] + t["width"] + 20
    page.mouse.move(x, h["y"] + h["height"] / 2, steps=12)
    page.mouse.up()


# Every description, readout and text label of a widget output that is on screen: its role, the
# slider it belongs to (-1: none), its text, and the width the text needs (scrollWidth) against the
# width its box shows (clientWidth). A readout squeezed by the flex layout keeps its whole text in
# the DOM but shows only the part that fits (overflow: hidden): "w_max = 300" read "w_max = 3".
_LABELS_JS = """(output) => {
    const sliders = [...output.querySelectorAll('.widget-slider')];
    return [...output.querySelectorAll('.widget-label, .widget-readout')]
        .filter(e => e.getClientRects().length > 0 && getComputedStyle(e).display !== 'none'
                && getComputedStyle(e).visibility !== 'hidden' && e.textContent.trim() !== '')
        .map(e => ({
            role: e.classList.contains('widget-readout') ? 'readout'
                : e.tagName === 'LABEL' ? 'description' : 'label',
            slider: sliders.findIndex(s => s.contains(e)),
            text: e.textContent.trim(),
            needed: e.scrollWidth,
            shown: e.clientWidth,
        }));
}"""


def _shown_labels(output) -> list[dict]:
    return output.element_handle().evaluate(_LABELS_JS)


def _check_labels(case: WidgetCase, output, end: str, artifacts: Path) -> list[dict]:
    """After dragging ``case.slider`` to ``end``: every label of the widget is shown whole, the
    slider's readout reads ``case.readout`` and the text label matches ``case.label``."""
    labels = _shown_labels(output)
    where = f"{case.notebook}, slider {case.slider} at its {end}"
    clipped = [
        f"{x['role']} {x['text']!r} needs {x['needed']} px, its box shows {x['shown']} px"
        for x in labels
        if x["needed"] > x["shown"] + 1
    ]
    assert not clipped, f"{where}: text cut off on screen: {clipped}; screenshots in {artifacts}"
    i = ("min", "max").index(end)
    mine = [x for x in labels if x["slider"] == case.slider]
    assert any(x["role"] == "description" for x in mine), f"{where}: no description: {labels}"
    readouts = [x["text"] for x in mine if x["role"] == "readout"]
    if case.readout is None:
        assert not readouts, f"{where}: a readout {readouts} shows, the case expects none"
    else:
        assert readouts == [case.readout[i]], (
            f"{where}: the readout shows {readouts}, expected [{case.readout[i]!r}]"
        )
    if case.label is not None:
        texts = [x["text"] for x in labels if x["role"] == "label"]
        assert any(re.fullmatch(case.label[i], t) for t in texts), (
            f"{where}: no label matches {case.label[i]!r}; the labels read {texts}"
        )
    return labels


def _errors_on_page(page) -> list[str]:
    text = page.locator(".jp-Notebook").inner_text()
    bad = ("Error displaying widget", "Failed to load model class", "Traceback (most recent call")
    return [b for b in bad if b in text]


def _run(page, cells: list, upto: int | None) -> None:
    """Run > Run All Cells (``upto`` None), or select cell ``upto + 1`` and Run > Run All Above
    Selected Cell; then wait until every code cell up to ``upto`` shows an execution count."""
    all_cells = page.locator(".jp-Notebook .jp-Cell")
    page.wait_for_function(
        "(n) => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n", arg=len(cells)
    )
    if upto is None or upto == len(cells) - 1:
        upto, item = len(cells) - 1, "Run All Cells"
    else:
        item = "Run All Above Selected Cell"
    # Wait for the kernel to be connected: right after opening, Run does nothing.
    page.wait_for_function(IDLE_JS, timeout=120_000, polling=500)
    started = (
        "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"
    )
    for _ in range(3):
        if item != "Run All Cells":
            # a click in the prompt column selects a cell without editing it
            all_cells.nth(upto + 1).click(position={"x": 40, "y": 8})
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has_text=item).first.click()
        try:  # a second click while the first run is queued would run the cells twice
            page.wait_for_function(started, timeout=20_000, polling=250)
            break
        except Exception:
            page.keyboard.press("Escape")
    else:
        raise AssertionError(f"Run > {item} started nothing")
    # A code cell is done when its prompt shows a number; "[*]" is running or queued. When a cell
    # fails, JupyterLab stops and the cells after it show "[ ]" again, with the kernel idle.
    js = """(upto) => {
        if (document.querySelector('.jp-Dialog')) return 'dialog';
        const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')].slice(0, upto + 1);
        const prompts = cells.filter(c => c.classList.contains('jp-CodeCell'))
            .map(c => c.querySelector('.jp-InputPrompt').textContent);
        if (prompts.every(p => /\\[\\d+\\]/.test(p))) return 'done';
        if (!prompts.some(p => p.includes('*')) && (IDLE_JS)()) return 'stopped';
        return false;
    }""".replace("IDLE_JS", IDLE_JS)
    state = None
    for _ in range(3):  # 'stopped' must hold 3 times, 2 s apart
        state = page.wait_for_function(
            js, arg=upto, timeout=RUN_TIMEOUT_S * 1000, polling=500
        ).json_value()
        if state != "stopped":
            break
        page.wait_for_timeout(2_000)
    if state == "dialog":
        text = page.locator(".jp-Dialog").inner_text()
        raise AssertionError(f"a dialog came up while running the notebook: {text!r}")
    if state == "stopped":
        text = page.locator(".jp-Notebook").inner_text()[-3000:]
        raise AssertionError(f"the run stopped before cell {upto}; the notebook ends with {text}")


# -- the tests ----------------------------------------------------------------------------------


def test_planned_widget_chapters_have_a_browser_case():
    covered = {c.notebook.split("_")[0] for c in CASES}
    present = {p.name.split("_")[0]: p.name for p in LECTURES.glob("[0-9][0-9]_*.ipynb")}
    missing = [
        f"{present[n]} ({what})" for n, what in PLANNED.items() if n in present and n not in covered
    ]
    assert not missing, f"add a WidgetCase to CASES in tests/test_browser.py for: {missing}"
    for case in CASES:
        assert (LECTURES / case.notebook).exists(), f"{case.notebook} is not in lectures/"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_case_tags_one_widget_cell(case):
    """Without a browser: the notebook of each case tags exactly one code cell, not empty."""
    path = LECTURES / case.notebook
    if not path.exists():
        pytest.skip(f"{case.notebook} is not in lectures/")
    cell = json.loads(path.read_text())["cells"][tagged_cell_index(path)]
    lines = [x for x in "".join(cell["source"]).splitlines() if x.strip()]
    assert lines, f"{case.notebook}: the cell tagged {TAG!r} is empty"


def _notebook(tmp_path, tags_per_cell, kinds=None):
    cells = []
    for i, tags in enumerate(tags_per_cell):
        kind = (kinds or ["code"] * len(tags_per_cell))[i]
        cell = {"cell_type": kind, "metadata": {"tags": tags} if tags else {}, "source": f"x{i}"}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        cells.append(cell)
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_tagged_cell_index_finds_the_one_tagged_cell(tmp_path):
    kinds = ["markdown", "code", "code", "code"]
    path = _notebook(tmp_path, [[], ["slide"], [TAG, "slide"], []], kinds)
    assert tagged_cell_index(path) == 2  # counted among all cells, the markdown one included


@pytest.mark.parametrize(
    ("tags", "kinds", "message"),
    [
        ([[], ["other"]], None, "no cell carries the tag"),
        ([[TAG], [], [TAG]], None, r"cells \[0, 2\] carry the tag"),
        ([[TAG], []], ["markdown", "code"], "is a markdown cell"),
    ],
)
def test_tagged_cell_index_says_what_is_wrong(tmp_path, tags, kinds, message):
    path = _notebook(tmp_path, tags, kinds)
    with pytest.raises(AssertionError, match=message):
        tagged_cell_index(path)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_widget_in_jupyterlab(case, lab, page, artifacts):
    url, token, root = lab
    name = case.id
    source = LECTURES / case.notebook
    before = source.read_bytes()
    cells = json.loads(before)["cells"]
    index = tagged_cell_index(source)

    # a workspace of its own: only this notebook is open (no tab restored from an earlier case)
    page.goto(f"{url}/lab/workspaces/{name}/tree/lectures/{case.notebook}?reset&token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    t0 = time.monotonic()
    _run(page, cells, None if case.run_all else index)
    what = "all cells" if case.run_all else "the cells up to the widget"
    print(f"{case.notebook}: {what} ran in the browser in {time.monotonic() - t0:.1f} s")

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    output = cell.locator(".jp-OutputArea-output")
    img = output.locator("img.widget-image").first
    try:
        img.wait_for(state="visible", timeout=30_000)
    except Exception as e:
        raise AssertionError(
            f"{case.notebook}: no widget image in the output of the cell tagged {TAG!r}; "
            f"the output reads: {output.all_inner_texts()!r}"
        ) from e
    assert not _errors_on_page(page), f"{case.notebook}: {_errors_on_page(page)} on the page"
    widget = output.filter(has=page.locator("img.widget-image")).first  # not a printed output
    sliders = widget.locator(".widget-slider")
    assert sliders.count() > case.slider, f"{case.notebook}: widget has {sliders.count()} sliders"
    slider = sliders.nth(case.slider)
    handle = slider.locator(".noUi-handle").first

    img.scroll_into_view_if_needed()
    shots = {}
    digests = {"start": _image_digest(img)}
    values = {"start": handle.get_attribute("aria-valuenow")}
    shots["start"] = img.screenshot(path=str(artifacts / f"{name}-1-start.png"))
    other = "max" if case.to == "min" else "min"
    texts = {}
    for step, end in (("2-" + case.to, case.to), ("3-" + other, other)):
        previous = digests[list(digests)[-1]]
        _drag(page, slider, end)
        digests[step] = _wait_for_new_image(page, img, previous)
        values[step] = handle.get_attribute("aria-valuenow")
        img.scroll_into_view_if_needed()
        shots[step] = img.screenshot(path=str(artifacts / f"{name}-{step}.png"))
        widget.screenshot(path=str(artifacts / f"{name}-{step}-widget.png"))  # labels included
        assert digests[step] != previous, (
            f"{case.notebook}: the figure did not change after dragging the slider to its {end} "
            f"(slider value {values[step]}); screenshots in {artifacts}"
        )
        assert shots[step] != shots[list(shots)[-2]], f"{case.notebook}: screen did not change"
        labels = _check_labels(case, widget, end, artifacts)
        texts[end] = [(x["role"], x["text"]) for x in labels]
        print(f"{case.notebook}: slider at its {end}: {texts[end]}")
    assert values["2-" + case.to] != values["3-" + other], values
    if case.readout is None:  # the label is what shows the value: it must follow the slider
        assert texts["min"] != texts["max"], f"{case.notebook}: labels stale: {texts}"
    if values["3-" + other] == values["start"]:  # back where it started: the same figure
        assert digests["3-" + other] == digests["start"]
    assert not _errors_on_page(page), f"{case.notebook}: {_errors_on_page(page)} on the page"
    # The run happened on a copy: the committed notebook (no outputs) is untouched.
    assert source.read_bytes() == before


# -- lecture mode: a chapter as a RISE slideshow -----------------------------------------------

SLIDESHOW = "01_two_moons.ipynb"
# The slide on screen (reveal.js marks it "present"; a sub-slide is a section inside a section).
_PRESENT_JS = """() => {
    const s = [...document.querySelectorAll('.reveal .slides section.present')]
        .filter(e => !e.querySelector('section.present'));
    return s.length ? s[s.length - 1].innerText : null;
}"""


def test_chapter_as_rise_slideshow(lab, page, artifacts):
    """jupyterlab-rise shows a chapter as reveal.js slides (``/rise/<path>``, what View > Render
    as slideshow opens): the first slide holds the chapter's title, the right arrow goes to the
    next slide, which looks different. Both screenshots are saved."""
    url, token, _ = lab
    cells = json.loads((LECTURES / SLIDESHOW).read_text())["cells"]
    title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
    first_kind = cells[0]["metadata"].get("slideshow", {}).get("slide_type")
    assert first_kind == "slide", f"{SLIDESHOW}: cell 0 opens no slide ({first_kind!r})"
    t0 = time.monotonic()
    page.goto(f"{url}/rise/lectures/{SLIDESHOW}?token={token}")
    try:
        page.wait_for_function(_PRESENT_JS, timeout=RUN_TIMEOUT_S * 1000, polling=250)
    except Exception as e:
        raise AssertionError(
            f"{SLIDESHOW}: no reveal.js slide on screen at /rise/; the page reads "
            f"{page.locator('body').inner_text()[:500]!r}"
        ) from e
    page.wait_for_timeout(1_000)  # fonts, MathJax, the slide transition
    first = page.evaluate(_PRESENT_JS)
    assert title in first, f"{SLIDESHOW}: the first slide does not show {title!r}: {first[:300]!r}"
    paths = [artifacts / f"slideshow-{SLIDESHOW.removesuffix('.ipynb')}-{i}.png" for i in (1, 2)]
    shot1 = page.screenshot(path=str(paths[0]))
    page.locator(".reveal").first.click(position={"x": 5, "y": 5})  # keyboard focus on the deck
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const t = (PRESENT)(); return t !== null && t !== old; }".replace(
            "PRESENT", _PRESENT_JS
        ),
        arg=first,
        timeout=30_000,
        polling=250,
    )
    page.wait_for_timeout(1_000)  # the transition
    second = page.evaluate(_PRESENT_JS)
    shot2 = page.screenshot(path=str(paths[1]))
    assert title not in second, f"{SLIDESHOW}: the second slide still shows the title"
    assert shot1 != shot2, f"{SLIDESHOW}: the two slides look the same: {paths}"
    print(f"{SLIDESHOW} as slides in {time.monotonic() - t0:.1f} s:")
    for path, text in zip(paths, (first, second), strict=True):
        print(f"  {path}: {text.splitlines()[0][:80]!r}")
