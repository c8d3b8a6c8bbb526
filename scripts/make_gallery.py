"""Regenerate docs/gallery/*.png, the figures shown in the README: `python scripts/make_gallery.py`.

The fit figure uses the 245 Chinchilla points Epoch AI read off Hoffmann et al. 2022 Fig. 4
(../shared/reference/chinchilla_isoflop_epoch.csv, CC BY 4.0) when that file is there.
"""

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from scalinglab import plots  # noqa: E402
from scalinglab.plan import make_plan  # noqa: E402

OUT = ROOT / "docs" / "gallery"
CHINCHILLA = ROOT.parent / "shared" / "reference" / "chinchilla_isoflop_epoch.csv"


def chinchilla_runs():
    rows = list(csv.DictReader(CHINCHILLA.open()))
    n = np.array([float(r["Model Size"]) for r in rows])
    c = np.array([float(r["Training FLOP"]) for r in rows])
    return n, c / (6 * n), np.array([float(r["loss"]) for r in rows])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    figures = {
        "isoflop": lambda: plots.isoflop_figure(),
        "frontier": lambda: plots.frontier_figure(),
        "contour": lambda: plots.contour_figure(),
        "history": lambda: plots.history_figure(),
        "plan": lambda: plots.plan_figure(make_plan(n_params=70e9, n_tokens=15e12)),
    }
    if CHINCHILLA.exists():
        figures["fit"] = lambda: plots.fit_figure(*chinchilla_runs(), "besiroglu2024")
    else:
        print(f"skipping fit: {CHINCHILLA} not found", file=sys.stderr)
    for name, build in figures.items():
        path = plots.save(build(), OUT / f"{name}.png", dpi=110)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
