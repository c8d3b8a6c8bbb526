"""Regenerate docs/gallery/*.png, the figures shown in the README: `python scripts/make_gallery.py`.

The fit figure fits Approach 3 to the built-in `chinchilla` dataset (Epoch AI's reading of
Hoffmann et al. 2022 Fig. 4, CC BY 4.0) and draws the fitted law against the runs.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scalinglab import plots  # noqa: E402
from scalinglab.fit import dataset, fit_parametric  # noqa: E402
from scalinglab.plan import make_plan  # noqa: E402

OUT = ROOT / "docs" / "gallery"


def fit_chinchilla():
    runs = dataset("chinchilla")
    fit = fit_parametric(runs)
    return plots.fit_figure(runs.n_params, runs.n_tokens, runs.loss, fit.law)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    figures = {
        "isoflop": lambda: plots.isoflop_figure(),
        "frontier": lambda: plots.frontier_figure(),
        "contour": lambda: plots.contour_figure(),
        "history": lambda: plots.history_figure(),
        "plan": lambda: plots.plan_figure(make_plan(n_params=70e9, n_tokens=15e12)),
        "fit": fit_chinchilla,
    }
    for name, build in figures.items():
        path = plots.save(build(), OUT / f"{name}.png", dpi=110)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
