"""scalinglab: plan, predict and fit the training of large language models.

    import scalinglab as sl
    sl.loss(70e9, 15e12, law="hoffmann2022").loss   # 1.8575 (Chinchilla, Eq. 10)
    sl.optimal(compute=5.76e23)                      # N, D, tokens/param, loss
    sl.plan(arch="llama-3-8b", gpu="h100", n_gpus=64, days=14)

The calls load on first use: `import scalinglab` alone imports no numpy.
"""

import sys
import types

__version__ = "0.1.0"

API = ("loss", "optimal", "flops", "training_time", "params", "memory", "infer", "fit", "plan",
       "laws", "accelerators")
__all__ = ["__version__", *API]


def __getattr__(name: str):
    if name in API:
        from scalinglab import api

        return getattr(api, name)
    raise AttributeError(f"module 'scalinglab' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


class _Package(types.ModuleType):
    """Keeps sl.plan, sl.memory, sl.fit, sl.laws the API functions: importing the submodule of
    the same name (scalinglab.plan) registers it in sys.modules but does not rebind the name.
    Import from submodules with `from scalinglab.plan import make_plan`."""

    def __setattr__(self, name, value):
        if name in API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
