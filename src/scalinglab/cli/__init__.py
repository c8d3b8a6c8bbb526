"""The `scalinglab` command: thin views over the library, one module of verbs per concern.

Verb modules load only when their verb runs (VERBS says which module holds which verb), so
`scalinglab loss 70B 15T` imports the laws and nothing else.
"""

import importlib
import sys

import typer
from typer.core import TyperGroup

from scalinglab import __version__
from scalinglab.errors import InputError

# verb -> the module of scalinglab.cli that defines it; a new verb is one line here
VERBS = {
    "plan": "plan", "loss": "core", "optimal": "core", "flops": "core", "laws": "core",
    "time": "hardware", "gpus": "hardware", "precision": "hardware", "params": "arch",
    "memory": "memory", "infer": "infer", "fit": "fit", "hyperparams": "beyond", "explain": "beyond",
    "models": "plots", "plot": "plots", "shape": "shape", "serve": "serve", "lab": "lab",
}


class LazyGroup(TyperGroup):
    """A click group that imports a verb's module when the verb is asked for."""

    def list_commands(self, ctx) -> list:
        return list(VERBS)

    def get_command(self, ctx, name):
        module = VERBS.get(name)
        if module is None:
            return None
        verbs = importlib.import_module(f"scalinglab.cli.{module}").app
        return typer.main.get_group(verbs).get_command(ctx, name)


app = typer.Typer(
    name="scalinglab", cls=LazyGroup,
    help="Plan, predict and fit the training of large language models. Every number names its "
         "law, formula or catalogue row; every verb takes --json.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool):
    if value:
        print(f"scalinglab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")):
    """Plan, predict and fit LLM training."""


def main(argv=None) -> None:
    """Entry point: errors become one line on stderr and exit code 2, never a traceback."""
    import warnings

    # absurd inputs (a batch of 1e300) overflow to inf, which the output shows (JSON: null)
    warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning)
    try:
        code = app(args=argv, prog_name="scalinglab", standalone_mode=False)
    except InputError as e:
        _die(str(e))
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:  # click's exceptions (typer may vendor its own copy of click)
        kind = type(e).__name__
        if kind == "NoArgsIsHelpError":
            print(e.ctx.get_help() if getattr(e, "ctx", None) else "", end="")
            sys.exit(0)
        if kind == "Abort":
            sys.exit(130)
        if kind == "NoSuchOption":  # click reads '-7B' as the options -7 and -B
            negative = _negative_number(sys.argv[1:] if argv is None else argv)
            if negative is not None:
                _die(f"{negative!r}: negative values are invalid (parameters, tokens, compute, "
                     "GPU counts and losses are positive)")
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):
            _die(e.format_message(), e.exit_code or 2)
        raise
    sys.exit(code if isinstance(code, int) else 0)


def _negative_number(args) -> str | None:
    """The first argument that is a negative number ('-7B', '-1e24', '-.5'), if any."""
    import re

    return next((a for a in map(str, args) if re.fullmatch(r"-\.?\d[\w.,+%-]*", a)), None)


def _die(message: str, code: int = 2):
    print(f"scalinglab: error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(code)
