"""The API's verbs are the CLI's verbs: a JSON body becomes the verb's command line, the CLI's own
command parses it and computes, and its `--json` document is the answer. So `POST /api/plan`
answers exactly what `scalinglab plan --json` prints, and "copy as command" is that command line.

What the web adds: bodies are checked against each verb's schema (built from the command's
signature), files are never named (`arch` is a preset or an uploaded config.json, `law` a
registered id, `csv` an uploaded text), and every error names the field it is about.
"""

import inspect
import shlex
import threading
import typing
from dataclasses import dataclass
from pathlib import Path

from scalinglab.errors import InputError

# API names where the CLI's differ: make_plan's argument names (n_params, n_tokens, loss)
RENAME = {"params": "n_params", "tokens": "n_tokens", "target_loss": "loss", "n_boot": "bootstrap"}
# options the web never passes: they write files, print something else, or need the hf extra
LEFT_OUT = {"json", "report", "plot", "output", "exact", "list_", "compare_"}
VERBS = ("plan", "loss", "optimal", "flops", "time", "memory", "infer", "params", "fit", "hyperparams")
WITH_CONFIG = ("plan", "flops", "memory", "infer", "params")  # an `arch` that a config.json can be
MAX_TEXT = 512 * 1024  # characters of an uploaded CSV or config.json
MAX_RUNS = 2000  # rows of an uploaded CSV: a 4,000-resample bootstrap of them stays ~seconds
LIMITS = {("fit", "bootstrap"): (0, 4000), ("fit", "starts"): (1, 4500), ("fit", "seed"): (0, 2**32 - 1),
          ("memory", "zero"): (0, 3), ("memory", "tp"): (1, 65536), ("memory", "pp"): (1, 65536),
          ("memory", "rank"): (1, 65536), ("hyperparams", "seq_len"): (1, 10**7)}
UPLOADS = {"config": {"type": "object", "description": "The content of a Hugging Face "
                      "config.json (instead of arch)."},
           "config_name": {"type": "string", "maxLength": 200, "description": "Its file name "
                           "(names the architecture; default config.json)."},
           "csv": {"type": "string", "maxLength": MAX_TEXT, "description": "The text of a CSV of "
                   "runs (columns N/params, D/tokens or C/flops, loss)."},
           "csv_name": {"type": "string", "maxLength": 200, "description": "Its file name "
                        "(default runs.csv)."}}


class FieldError(InputError):
    """Bad input in one field of a request body."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Field:
    name: str  # in the API
    param: str  # the command's parameter
    flag: str | None  # --option, None for an argument
    kind: str  # quantity (number or text), integer, number, boolean, pair
    help: str
    default: object
    required: bool
    off_flag: str | None = None  # --no-dropout


@dataclass(frozen=True)
class Verb:
    name: str
    command: object  # the click command
    fields: dict  # API name -> Field
    arguments: tuple  # API names of the positional arguments, in order

    def schema(self) -> dict:
        props = {}
        for f in self.fields.values():
            s = _json_type(f.kind)
            lim = LIMITS.get((self.name, f.name))
            if lim:
                s.update(minimum=lim[0], maximum=lim[1])
            if f.default is not None and f.kind != "pair":
                s["default"] = f.default
            props[f.name] = {**s, "description": f.help}
        if self.name in WITH_CONFIG:
            props.update({k: UPLOADS[k] for k in ("config", "config_name")})
        if self.name == "fit":
            props.update({k: UPLOADS[k] for k in ("csv", "csv_name")})
        required = [f.name for f in self.fields.values() if f.required]
        return {"type": "object", "properties": props, "additionalProperties": False,
                **({"required": required} if required else {})}


def _json_type(kind: str) -> dict:
    quantity = {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "number"}]}
    return {"quantity": quantity, "integer": {"type": "integer"}, "number": {"type": "number"},
            "boolean": {"type": "boolean"},
            "pair": {"type": "array", "items": quantity, "minItems": 2, "maxItems": 2}}[kind]


def _kind(annotation) -> str | None:
    """The JSON kind of a parameter from its type (Optional and Annotated unwrapped)."""
    t = annotation
    if typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    args = [a for a in typing.get_args(t) if a is not type(None)]
    if typing.get_origin(t) in (typing.Union, getattr(__import__("types"), "UnionType")):
        t = args[0]
    if typing.get_origin(t) is tuple:
        return "pair"
    return {str: "quantity", int: "integer", float: "number", bool: "boolean"}.get(t)


def _verb(group, ctx, name: str) -> Verb:
    cmd = group.get_command(ctx, name)
    sig = inspect.signature(inspect.unwrap(cmd.callback), eval_str=True)
    fields, arguments = {}, []
    for p in cmd.params:
        if p.name in LEFT_OUT or not p.expose_value:
            continue
        kind = _kind(sig.parameters[p.name].annotation)
        if kind is None:  # a file path: uploads stand in for it
            continue
        api = RENAME.get(p.name, p.name)
        is_option = bool(p.opts and p.opts[0].startswith("-"))
        flag = max(p.opts, key=len) if is_option else None
        off = max(p.secondary_opts, key=len) if getattr(p, "secondary_opts", None) else None
        default = p.default if isinstance(p.default, (str, int, float, bool)) else None
        fields[api] = Field(api, p.name, flag, kind, " ".join((p.help or name).split()), default,
                            bool(p.required), off)
        if not is_option:
            arguments.append(api)
    return Verb(name, cmd, fields, tuple(arguments))


class Verbs:
    """The CLI's verbs as the API sees them, built once from the Typer app."""

    def __init__(self):
        import typer.main

        from scalinglab.cli import app

        self.group = typer.main.get_command(app)
        self.ctx = self.group.context_class(self.group, info_name="scalinglab")
        self.verbs = {name: _verb(self.group, self.ctx, name) for name in VERBS}
        self._lock = threading.Lock()  # typer's command wrapper keeps state between calls

    def __getitem__(self, name: str) -> Verb:
        return self.verbs[name]

    def argv(self, verb: str, body) -> list:
        """The command line (after `scalinglab`) that a checked body stands for."""
        v = self[verb]
        body = check(v, body)
        opts, args = [], []
        for name, value in body.items():
            f = v.fields.get(name)
            if f is None:  # uploads
                continue
            if f.kind == "boolean":
                if f.flag is None:
                    continue
                if value:
                    opts.append(f.flag)
                elif f.off_flag:
                    opts.append(f.off_flag)
                continue
            text = [_text(x) for x in value] if f.kind == "pair" else [_text(value)]
            if f.flag is None:
                args.append((v.arguments.index(name), text[0]))
            else:
                opts += [f.flag, *text]
        for name, stands_for in (("config", "arch"), ("csv", "csv")):
            if name in body:  # the file the user uploaded, by its name
                default = "config.json" if name == "config" else "runs.csv"
                upload = _safe_name(body.get(f"{name}_name", default), f"{name}_name", default)
                f = v.fields.get(stands_for)
                if f is not None and f.flag:
                    opts += [f.flag, upload]
                else:
                    args.append((v.arguments.index(stands_for) if f else 0, upload))
        positional = [t for _, t in sorted(args)]
        dash = ["--"] if any(t.startswith("-") for t in positional) else []  # -7B is not an option
        return [verb, *opts, *dash, *positional]

    def command(self, verb: str, body) -> str:
        """`scalinglab VERB ...`: the shell command that prints the same JSON."""
        return " ".join(shlex.quote(a) for a in ["scalinglab", *self.argv(verb, body)])

    def run(self, verb: str, body):
        """The verb's --json document for a body (a FieldError when it is bad)."""
        v = self[verb]
        body = check(v, body)
        return self._invoke(v, self.argv(verb, body)[1:], _uploads(verb, body), body)

    def run_argv(self, argv: list):
        """The --json document of a fixed command line (the listings: laws, gpus, presets)."""
        cmd = self.group.get_command(self.ctx, argv[0])
        return self._invoke(Verb(argv[0], cmd, {}, ()), argv[1:], {}, {})

    def _invoke(self, v: Verb, args: list, overrides: dict, body: dict):
        from scalinglab.cli._common import capture_json

        with self._lock:
            try:
                sub = v.command.make_context(v.name, ["--json", *args], parent=self.ctx)
            except Exception as e:  # click's usage errors (typer vendors its own click)
                if not hasattr(e, "format_message"):
                    raise
                raise _usage_error(v, e) from None
            sub.params.update(overrides)
            with capture_json() as out:
                try:
                    with sub:
                        v.command.invoke(sub)
                except InputError as e:
                    raise FieldError(getattr(e, "field", None) or _field_named(v, str(e), body),
                                     str(e)) from None
                except Exception as e:
                    if hasattr(e, "format_message"):
                        raise _usage_error(v, e) from None
                    raise
        if len(out) != 1:
            raise RuntimeError(f"{v.name} printed {len(out)} JSON documents")
        return out[0]


def _text(value) -> str:
    """A JSON value as the CLI reads it: numbers round-trip exactly (repr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value).replace("e+", "e") if isinstance(value, float) else str(value)


def _safe_name(name, field: str, default: str) -> str:
    """An uploaded file's name, reduced to its last part (it names the model or the runs)."""
    base = Path(str(name).replace("\\", "/")).name.strip()
    if not base or base in (".", "..") or base.startswith("-"):
        raise FieldError(field, f"{field}: {name!r} is not a file name (e.g. {default})")
    return base


def check(v: Verb, body) -> dict:
    """The body, checked against the verb's schema; errors name the field."""
    if not isinstance(body, dict):
        raise FieldError(None, "the request body must be a JSON object")
    uploads = {"config", "config_name"} if v.name in WITH_CONFIG else set()
    uploads |= {"csv", "csv_name"} if v.name == "fit" else set()
    for name, value in body.items():
        if name not in v.fields and name not in uploads:
            from scalinglab.errors import unknown

            e = unknown(f"field of {v.name}", name, [*v.fields, *uploads])
            raise FieldError(name, str(e))
        if name in uploads:
            _check_upload(name, value)
        else:
            _check_value(v, v.fields[name], value)
    for f in v.fields.values():
        if f.required and f.name not in body and not (f.name == "arch" and "config" in body):
            raise FieldError(f.name, f"{f.name} is required ({f.help})")
    if "config" in body and "arch" in body:
        raise FieldError("config", "give arch (a preset) or config (a config.json), not both")
    if v.name == "fit" and "csv" in body and "dataset" in body:
        raise FieldError("csv", "give csv (an uploaded CSV) or dataset (a built-in one), not both")
    for name in ("config_name", "csv_name"):
        if name in body and name.removesuffix("_name") not in body:
            raise FieldError(name, f"{name} names an upload: give {name.removesuffix('_name')} too")
    return body


def _check_value(v: Verb, f: Field, value) -> None:
    def bad(what: str):
        raise FieldError(f.name, f"{f.name}: expected {what}, got {value!r}"[:300])

    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if f.kind == "quantity":
        if isinstance(value, str):
            if len(value) > 200 or "\x00" in value:
                bad("a short text")
        elif not number:
            bad("a number or a text such as 7B, 1e24, 40%")
    elif f.kind == "integer":
        if not (number and float(value).is_integer()):
            bad("a whole number")
        lo, hi = LIMITS.get((v.name, f.name), (-2**63, 2**63 - 1))
        if not lo <= value <= hi:
            raise FieldError(f.name, f"{f.name}: {value!r} must be between {lo} and {hi}")
    elif f.kind == "number":
        if not number:
            bad("a number")
    elif f.kind == "boolean":
        if not isinstance(value, bool):
            bad("true or false")
    elif f.kind == "pair":
        if not (isinstance(value, list) and len(value) == 2):
            bad("two values, e.g. [\"70B\", \"15T\"]")
        for x in value:
            _check_value(v, Field(f.name, f.param, f.flag, "quantity", f.help, None, False), x)
    if f.name == "law":
        _check_law(_text(value), allow_all=v.name in ("loss", "optimal"))
    if f.name == "arch":
        from scalinglab.architecture import get_preset

        try:
            get_preset(_text(value))
        except InputError as e:
            raise FieldError("arch", f"arch: {e} (or upload a config.json)") from None


def _check_law(value: str, allow_all: bool) -> None:
    """Registered laws only: the CLI also reads a law from a .json path, the web never does."""
    from scalinglab.errors import unknown
    from scalinglab.laws import LAWS

    if value.lower() in LAWS or (allow_all and value.lower() == "all"):
        return
    raise FieldError("law", f"law: {unknown('law', value, [*LAWS, *(['all'] if allow_all else [])])}")


def _check_upload(name: str, value) -> None:
    if name == "config":
        if not isinstance(value, dict):
            raise FieldError(name, "config: expected the JSON object of a config.json")
        import json

        if len(json.dumps(value)) > MAX_TEXT:
            raise FieldError(name, f"config: larger than {MAX_TEXT // 1024} KiB")
    elif not isinstance(value, str):
        raise FieldError(name, f"{name}: expected a text")
    elif len(value) > (200 if name.endswith("_name") else MAX_TEXT):
        raise FieldError(name, f"{name}: too long")
    elif name == "csv" and value.count("\n") > MAX_RUNS + 1:
        raise FieldError(name, f"csv: more than {MAX_RUNS:,} rows (the web fits at most that many)")


def _uploads(verb: str, body: dict) -> dict:
    """The command's parameters that stand for files: built here from what was uploaded, so that
    no file is read; a preset `arch` is resolved here too (never looked up as a path)."""
    out = {}
    if "config" in body:
        import json

        from scalinglab.architecture.hf import parse_config

        name = _safe_name(body.get("config_name", "config.json"), "config_name", "config.json")
        try:
            out["arch"] = parse_config(json.dumps(body["config"]), name)
        except InputError as e:
            raise FieldError("config", f"config: {e}") from None
    elif "arch" in body and verb in WITH_CONFIG:
        from scalinglab.architecture import get_preset

        out["arch"] = get_preset(_text(body["arch"]))
    if "csv" in body:
        out["csv"] = _Upload(_safe_name(body.get("csv_name", "runs.csv"), "csv_name", "runs.csv"))
        out["csv"].text = body["csv"]
    return out


class _Upload(type(Path())):
    """An uploaded CSV: a Path by its name (as the CLI's argument is), read from memory like an
    open file (fit.io.load_runs reads what has .read() before it opens any path)."""

    def read(self) -> str:
        return self.text


def _field_named(v: Verb, message: str, body: dict) -> str | None:
    """The field an error is about: the first option it names (--mfu), else the field whose
    value it quotes ('h900'), else the uploaded file it names."""
    flags = {f.flag: f.name for f in v.fields.values() if f.flag}
    hits = [(message.find(flag), name) for flag, name in flags.items()
            if _mentions(message, flag)]
    if hits:
        return min(hits)[1]
    for name, value in body.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and \
                (repr(value) in message or repr(_text(value)) in message):
            return "csv" if name == "csv_name" else "config" if name == "config_name" else name
    for name, value in body.items():
        if isinstance(value, str) and len(value) > 1 and _mentions(message, value):
            return name
    for name in ("csv", "config"):
        if name in body:
            return name
    named = [f.name for f in v.fields.values() if f.name in body and f.name in message]
    given = [name for name in body if name in v.fields]
    return named[0] if named else given[0] if len(given) == 1 else None


def _mentions(message: str, flag: str) -> bool:
    i = message.find(flag)
    while i >= 0:
        end = i + len(flag)
        if end == len(message) or not (message[end].isalnum() or message[end] == "-"):
            return True
        i = message.find(flag, i + 1)
    return False


def _usage_error(v: Verb, e) -> FieldError:
    """Click's errors (a value of the wrong type, a missing argument) as one line naming the field."""
    param = getattr(e, "param", None)
    by_param = {f.param: f.name for f in v.fields.values()}
    field = by_param.get(getattr(param, "name", None))
    message = " ".join(str(e.format_message() if hasattr(e, "format_message") else e).split())
    return FieldError(field or _field_named(v, message, {}), message)
