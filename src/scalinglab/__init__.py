"""scalinglab: plan, predict and fit the training of large language models."""

__version__ = "0.1.0"
