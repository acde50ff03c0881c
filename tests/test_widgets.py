import numpy as np
import pytest

from course_lib import plot, seed_everything
from course_lib.data import split_labeled, two_moons
from course_lib.methods import Supervised
from course_lib.models import MLP
from course_lib.train import History, fit
from course_lib.widgets import InteractiveFigure, data_explorer, training_player


@pytest.fixture(scope="module")
def run():
    X, y_true = two_moons(200, 0.1, seed=0)
    y = split_labeled(y_true, 3, seed=0)
    seed_everything(0)
    h = fit(
        MLP(2, 2),
        Supervised(),
        X,
        y,
        steps=100,
        record_every=20,
        grid=plot.make_grid(X, 30),
        X_eval=X,
        y_eval=y_true,
        progress=False,
    )
    return X, y, h


def _contour_data(fig):
    ax = fig.axes[0]
    return np.concatenate(
        [np.asarray(p.vertices).ravel() for c in ax.collections for p in c.get_paths()]
    )


def test_training_player_scrubs_without_training(run):
    X, y, h = run
    player = training_player(h, X, y, title="supervised")
    assert player.slider.max == len(h.snapshots) - 1
    png_end, data_end = bytes(player.image.value), _contour_data(player.fig)
    renders = player.renders
    player.slider.value = 0
    assert player.renders == renders + 1
    assert bytes(player.image.value) != png_end
    assert not np.array_equal(_contour_data(player.fig), data_end)
    assert "step 0" in player.label.value
    player.slider.value = player.slider.max
    np.testing.assert_array_equal(_contour_data(player.fig), data_end)


def test_training_player_needs_snapshots(run):
    X, y, _ = run
    with pytest.raises(ValueError, match="grid"):
        training_player(History(), X, y)


def test_data_explorer_redraws_on_each_slider():
    w = data_explorer(n=120, steps=40, per_class=(1, 10), noises=(0.1, 0.2))
    first = bytes(w.image.value)
    w.controls["k"].value = 10
    second = bytes(w.image.value)
    assert second != first
    w.controls["noise"].value = 0.1
    assert bytes(w.image.value) != second
    X, y, *_ = w.result(10, 0.1)
    assert np.sum(y != -1) == 20


def test_interactive_figure_passes_control_values():
    import ipywidgets as W

    seen = []

    def draw(fig, a):
        seen.append(a)
        fig.subplots().plot([0, a])

    w = InteractiveFigure(draw, {"a": W.IntSlider(value=1, min=0, max=5)})
    w.controls["a"].value = 4
    assert seen == [1, 4]
    assert "application/vnd.jupyter.widget-view+json" in w._repr_mimebundle_()
