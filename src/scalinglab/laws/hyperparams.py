"""Batch size, learning rate and token count for a budget: empirical fits from single labs.

DeepSeek LLM (DeepSeek-AI 2024, arXiv:2401.02954): C = M D where M is non-embedding FLOP per token,
M = 72 n_layer d_model^2 + 12 n_layer d_model l_seq (attention included, vocabulary excluded; ~6N
for N non-embedding params at short context). Eq. 1: B_opt = 0.2920 C^0.3271 tokens,
lr_opt = 0.3118 C^-0.1250; Eq. 4: M_opt = 0.1715 C^0.5243, D_opt = 5.8316 C^0.4757. Fitted on their
data, architecture and multi-step schedule, 1e17-3e20 FLOP: a starting point, not a law of nature.

Llama 3 (Llama Team 2024, arXiv:2407.21783 Sec. 3.2.1, Fig. 3): optimal training tokens
D*(C) = 0.299 C^0.537 (0.29, 0.53 rounded in the text); at 3.8e25 FLOP it gives ~16T tokens and
~400B params (they trained 405B on 15.6T).
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN, params_for_compute
from scalinglab.results import Result
from scalinglab.validate import out as _out
from scalinglab.validate import positive as _positive
from scalinglab.validate import whole

Array = float | np.ndarray

DEEPSEEK_SOURCE = ("DeepSeek-AI 2024, 'DeepSeek LLM: Scaling Open-Source Language Models with "
                   "Longtermism', arXiv:2401.02954, Eq. 1 and Eq. 4")
LLAMA3_SOURCE = "Llama Team 2024, 'The Llama 3 Herd of Models', arXiv:2407.21783 Sec. 3.2.1, Fig. 3"
DEEPSEEK_SEQ_LEN = 4096  # their pretraining context


def flops_per_token(n_layer, d_model, seq_len=DEEPSEEK_SEQ_LEN):
    """DeepSeek's M: non-embedding FLOP per token, 72 n_layer d^2 + 12 n_layer d l_seq."""
    n_layer, d = np.asarray(n_layer, dtype=float), np.asarray(d_model, dtype=float)
    return _out(72 * n_layer * d**2 + 12 * n_layer * d * seq_len)


@dataclass(frozen=True)
class Hyperparams(Result):
    """DeepSeek LLM's batch size and learning rate (and their M/D split) for a compute budget."""

    flops: Array
    batch_tokens: Array
    learning_rate: Array
    seq_len: int
    flops_per_token: Array  # M_opt
    n_tokens: Array  # D_opt
    source: str = DEEPSEEK_SOURCE
    convention: str = "C = M D, M = non-embedding FLOP/token (72 n_layer d^2 + 12 n_layer d l_seq)"

    _derived = ("batch_sequences", "n_params")

    @property
    def batch_sequences(self):
        return _out(np.asarray(self.batch_tokens) / self.seq_len)

    @property
    def n_params(self):
        """M_opt / 6: non-embedding parameters under 6N FLOP/token (drops the attention term)."""
        return _out(np.asarray(self.flops_per_token) / FLOPS_PER_PARAM_TOKEN)


def deepseek(flops, seq_len: int = DEEPSEEK_SEQ_LEN) -> Hyperparams:
    """B_opt = 0.2920 C^0.3271 tokens, lr_opt = 0.3118 C^-0.1250, M_opt, D_opt for C FLOP."""
    c = _positive(flops, "compute")
    seq_len = whole(seq_len, "--seq-len")
    return Hyperparams(_out(c), _out(0.2920 * c**0.3271), _out(0.3118 * c**-0.1250), seq_len,
                       _out(0.1715 * c**0.5243), _out(5.8316 * c**0.4757))


@dataclass(frozen=True)
class TokenLaw(Result):
    """Llama 3's compute-optimal training tokens D*(C) = A C^alpha, with N = C / 6D."""

    flops: Array
    n_tokens: Array
    n_params: Array
    A: float = 0.299
    alpha: float = 0.537
    source: str = LLAMA3_SOURCE

    _derived = ("tokens_per_param",)

    @property
    def tokens_per_param(self) -> Array:
        return _out(np.asarray(self.n_tokens) / self.n_params)


def llama3_tokens(flops) -> TokenLaw:
    c = _positive(flops, "compute")
    d = 0.299 * c**0.537
    return TokenLaw(_out(c), _out(d), params_for_compute(c, d))
