"""Chapter 06: the notebook's lesson (FixMatch vs the supervised CNN, digits 5 labels/class) over
more seeds, with the notebook's exact settings, and the notebook's execution time."""

from __future__ import annotations

import numpy as np

from course_lib import seed_everything
from course_lib.bench import Table, mean_std
from course_lib.data import digits, split_labeled
from course_lib.methods import FixMatch, Supervised
from course_lib.models import SmallCNN
from course_lib.train import fit

STEPS = 1000  # as in lectures/06_mixmatch_fixmatch.ipynb


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    X, y_true, X_test, y_test = digits()
    t = Table(
        "Ch06 - FixMatch vs supervised CNN, digits 5 labels/class (notebook settings)",
        ["method", "test accuracy % (mean ± std)", "fit s (mean)", "seeds"],
        note=f"SmallCNN widths (16, 32), {STEPS} steps, batch 16; FixMatch tau 0.95, mu 7.",
    )
    for name, make in (("Supervised", Supervised), ("FixMatch", lambda: FixMatch(mu=7))):
        accs, secs = [], []
        for seed in seeds:
            y = split_labeled(y_true, 5, seed=seed)
            seed_everything(seed)
            net = SmallCNN(1, 10, widths=(16, 32))
            h = fit(
                net,
                make(),
                X,
                y,
                steps=STEPS,
                batch_size=16,
                seed=seed,
                device=device,
                X_eval=X_test,
                y_eval=y_test,
                record_every=STEPS,
                progress=False,
            )
            accs.append(h.last("eval_acc"))
            secs.append(h.seconds)
        t.add(name, mean_std(accs), float(np.mean(secs)), len(accs))
    tables = [t]
    return tables
