"""The lab: plan a ladder of small training runs, train it, fit its law, test the prediction.

    ladder.py   plan: shapes around a law's optimum per budget, hyperparameter rules, the TOML
    data.py     corpora: CPython's standard library (byte-level) or your own text, fixed split
    model.py    a small decoder-only transformer in torch (SDPA attention)
    device.py   the device, its peak FLOP/s (measured on CPU, the catalogue's on GPU)
    train.py    train_rung: one rung, deterministic under its seed, resumable from a checkpoint
    store.py    runs/: the manifest, one atomic writer, checksummed results, runs.csv
    engines.py  the driver and the engines that map rungs to results (local; the contract)
    cluster.py  the Ray engine: every rung a Ray task (scalinglab[cluster]; ray imported only there)
    report.py   lab fit: Approach 2 and 3, the held-out budget test, the figure, the HTML report

Only model.py, device.py and train.py import torch (inside functions, via `require_torch`);
planning and fitting run without it.
"""

from scalinglab.errors import InputError

INSTALL = ("`scalinglab lab` needs torch, which is not installed: pip install torch==2.13.0 "
           "(or the CPU wheel: --index-url https://download.pytorch.org/whl/cpu), then "
           "pip install 'scalinglab[lab]'")


def require_torch():
    """The torch module, or a one-line InputError naming the extra.

    Before torch's first import it asks OpenMP to wait passively at barriers (unless the user
    set OMP_WAIT_POLICY): on a machine whose cores other processes share, a spinning thread
    holds its core while its partner waits for one; measured on 2 shared cores, a small model's
    step took 260 ms with 2 spinning threads, 18 ms with 2 passive ones (9 ms with 1)."""
    import os
    import sys

    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        raise InputError(INSTALL) from None
    return torch
