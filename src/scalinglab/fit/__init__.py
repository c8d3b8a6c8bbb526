"""Fit scaling laws to your own runs: Approach 3 (parametric), Approach 2 (isoFLOP), bootstrap.

scipy is imported lazily inside the functions that need it (Approach 2's t intervals only).
"""

from scalinglab.fit.bootstrap import Bootstrap, bootstrap
from scalinglab.fit.io import Runs, dataset, drop_highest, from_arrays, load_runs, read_csv
from scalinglab.fit.isoflop import IsoflopFit, fit_isoflop
from scalinglab.fit.parametric import ParametricFit, fit_parametric, sandwich_se, start_grid

__all__ = ["Bootstrap", "IsoflopFit", "ParametricFit", "Runs", "bootstrap", "dataset",
           "drop_highest", "fit_isoflop", "fit_parametric", "from_arrays", "load_runs", "read_csv",
           "sandwich_se", "start_grid"]
