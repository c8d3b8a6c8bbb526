"""A plan as one self-contained HTML page to paste into a design doc: figures inline as SVG, every
number the plan holds (nested sections rendered generically), its assumptions and sources.
No scripts, no remote fonts or images: it opens offline."""

import html
import math
import re
from pathlib import Path

from scalinglab import __version__
from scalinglab.errors import InputError
from scalinglab.units import (bytes_unit, format_bytes, format_count, format_duration, format_energy,
                              format_gib, format_ratio, format_sci)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.3em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
div.wide { overflow-x: auto; max-width: 100%; } td div.wide { max-width: 860px; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption, footer { color: #666; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; }
"""


def _num(x) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if not math.isfinite(x):
        return str(x)
    if 1e3 <= abs(x) < 1e6:
        return f"{x:,.0f}"
    return format_sci(x, 4) if x and (abs(x) >= 1e6 or abs(x) < 1e-3) else f"{x:.4g}"


# How a number is shown, by its key (the last one of its path; `breakdown` and the memory's
# `activations` and `kv_cache_by_kind` hold bytes under other names): (test, formatter)
def _money(x) -> str:
    return f"${x:,.2f}" if abs(x) < 1e6 else f"${format_count(x)}"


def _is_bytes(k: str, up: str) -> bool:
    return k.endswith("_bytes") or up in ("breakdown", "kv_cache_by_kind", "activations",
                                          "per_layer")


_UNITS = (
    (_is_bytes, lambda x, unit=None: f"{format_bytes(x, unit=unit)} ({format_gib(x)})"),
    (lambda k, up: "usd" in k or k == "price_per_gpu_hour", _money),
    (lambda k, up: k.endswith("kwh"), format_energy),
    (lambda k, up: k == "peak_flops", lambda x: f"{format_sci(x, 4)} FLOP/s"),
    (lambda k, up: k == "flops" or k.endswith("_flops") or k.startswith("flops_"),
     lambda x: f"{format_sci(x, 4)} FLOP"),
    (lambda k, up: k == "gpu_hours", lambda x: f"{format_count(x)} GPU-hours"),
    (lambda k, up: k == "seconds", format_duration),
    (lambda k, up: k == "days", lambda x: f"{x:,.2f} days"),
    (lambda k, up: k in ("co2_kg",), lambda x: f"{format_count(x)} kg CO2e"),
    (lambda k, up: k in ("watts", "power_w"), lambda x: f"{x:g} W"),
    (lambda k, up: "tokens_per_param" in k or k.startswith("times_") or k.endswith("_ratio"),
     format_ratio),
    (lambda k, up: k.startswith("n_") and k not in ("n_gpus", "n_points", "n_layers", "n_heads",
                                                      "n_kv_heads")
     or k in ("total", "active", "non_embedding", "trainable_params", "target"),
     lambda x: format_count(x) + (f" ({x:,.0f})" if x == int(x) and abs(x) < 1e16 else "")),
)


def _number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def _with_unit(key: str, parent: str, x, scale: str | None = None) -> str | None:
    """The number x under `key` with its unit, or None when the key has no known unit; scale:
    the byte unit of the table it sits in (one scale per table)."""
    if not _number(x):
        return None
    k = str(key).lower().rsplit(".", 1)[-1]
    for test, fmt in _UNITS:
        if test(k, str(parent).lower()):
            return fmt(x, scale) if test is _is_bytes else fmt(x)
    return None


def render(value, key: str = "", parent: str = "", scale: str | None = None) -> str:
    """Any JSON-like value as HTML: dicts as key/value tables, lists of dicts as tables; a number
    whose key says its unit (bytes, USD, kWh, FLOP, ...) shown with it, the raw value on hover;
    a table of sizes in one byte unit."""
    if isinstance(value, dict) and len(value) > 1 and all(isinstance(v, dict) for v in value.values()):
        return render([{"": k, **_flat(v)} for k, v in value.items()], key, parent)  # by law
    if isinstance(value, dict):
        sizes = [v for k, v in value.items() if _number(v) and _is_bytes(str(k).lower(), str(key).lower())]
        unit = bytes_unit(*sizes) if len(sizes) == len(value) and sizes else None
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{render(v, k, key, unit)}</td></tr>"
                       for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{html.escape(str(c)).replace('.', '.<wbr>')}</th>" for c in cols)
            body = "".join("<tr>" + "".join(_cell(v.get(c), c, key) for c in cols) + "</tr>"
                           for v in value)
            return f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'
        return ("<ul>" + "".join(f"<li>{render(v, key, parent)}</li>" for v in value) + "</ul>"
                if value else "")
    if value is None:
        return "&ndash;"
    shown = _with_unit(key, parent, value, scale)
    if shown is not None:
        return f'<span title="{value!r}">{html.escape(shown)}</span>'
    if isinstance(value, (int, float)):
        return _num(value)
    return html.escape(str(value))


def _flat(d: dict, prefix: str = "") -> dict:
    """{"terms": {"model": 1}} -> {"terms.model": 1}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _cell(v, key: str = "", parent: str = "") -> str:
    num = isinstance(v, (int, float)) and not isinstance(v, bool)
    return (f'<td class="num">{render(v, key, parent)}</td>' if num
            else f"<td>{render(v, key, parent)}</td>")


def inline_svg(svg_text: str) -> str:
    """Matplotlib's SVG without the XML prolog, doctype and metadata, ready to sit in HTML."""
    s = svg_text[svg_text.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>\s*", "", s, flags=re.S)


def assumptions(d, section="plan") -> list:
    """Every (section, text) under an 'assumptions' key, at any depth (hardware, memory, ...)."""
    out = []
    for k, v in (d.items() if isinstance(d, dict) else ()):
        if k == "assumptions" and isinstance(v, (list, tuple)):
            out += [(section, str(a)) for a in v]
        elif isinstance(v, dict):
            out += assumptions(v, k if section == "plan" else f"{section}.{k}")
    return out


def _figures(plan, laws) -> list:
    from scalinglab import plots

    fig1 = plots.plan_figure(plan, laws)
    fig2 = plots.frontier_figure(mark=(plan.flops, plan.n_params, plan.n_tokens))
    return [(plots.svg(fig1), "The plan: loss along its iso-compute line under each law (left) "
                              "and its predicted loss split into E, A/N^alpha and B/D^beta (right)."),
            (plots.svg(fig2), "Where the plan (star) sits against each law's compute-optimal N "
                              "and D and the catalogue's models.")]


def _sources(plan, laws) -> list:
    from scalinglab.laws import LAWS

    known = {**LAWS, **{lw.id: lw for lw in laws}}
    out = [f"{lid}: {known[lid].source}" for lid in plan.losses if lid in known]
    out.append("Catalogue models: Epoch AI 'All ML Systems' data (CC BY 4.0), the papers and "
               "model cards named per row (`scalinglab models --json`).")
    out.append("C = 6ND: Kaplan et al. 2020, Sec. 2.1; 1 PF-day = 8.64e19 FLOP.")
    return out


def headline(plan) -> dict:
    """The plan's main facts, each with its unit: N, D, C, loss, time, GPU-hours, cost, energy
    and the memory verdict (n/a, with what would give it, where the plan has no such section)."""
    n, d, t, m = plan.n_params, plan.n_tokens, plan.hardware, plan.memory
    no_gpu = "n/a (plan with --gpu)"
    out = {
        "model size N": f"{format_count(n)} parameters ({n:,.0f})"
                        + (f", {plan.arch.name}" if plan.arch else
                           f", shape {plan.shape.d_model} x {plan.shape.n_layers} layers"
                           if plan.shape else ""),
        "training tokens D": f"{format_count(d)} tokens ({format_ratio(plan.tokens_per_param)} "
                             "per parameter)",
        "compute C = 6ND": f"{format_sci(plan.flops, 3)} FLOP ({format_count(plan.pf_days)} "
                           "PF-days)",
        f"predicted loss ({plan.law})": "n/a (no L(N, D))" if plan.loss is None
        else f"{plan.loss:.4f} nats/token",
        "time": no_gpu if t is None else (
            f"{t.days:,.1f} days on {t.n_gpus:,} x {t.accelerator.name} at MFU {t.mfu:.3g}"),
        "GPU-hours": no_gpu if t is None else f"{format_count(t.gpu_hours)} GPU-hours",
        "cost": no_gpu if t is None else "n/a (plan with --price USD per GPU-hour)"
        if t.cost_usd is None else f"{_money(t.cost_usd)} at ${t.price_per_gpu_hour:g}/GPU-hour",
        "energy": no_gpu if t is None else "n/a (no TDP in the catalogue)"
        if t.energy_kwh is None else f"{format_energy(t.energy_kwh)} (TDP x PUE {t.pue:g})",
        "memory": ("n/a (plan with --gpu and --arch)" if m is None else
                   f"{'FITS' if m.fits else 'DOES NOT FIT'}: {format_bytes(m.per_gpu_bytes)} "
                   f"({format_gib(m.per_gpu_bytes)}) per GPU of {m.gpu}'s "
                   f"{format_bytes(m.usable_bytes)} usable, ZeRO-{m.parallel['zero']} over "
                   f"{m.n_gpus:,} GPU(s); fewest that fit: {m.min_gpus or 'none'}"),
        "how N and D were chosen": plan.derivation,
    }
    for w in plan.warnings:
        out.setdefault("warnings", [])
        out["warnings"].append(w)
    return out


def command_line(inputs: dict) -> str:
    """`scalinglab plan` with the options that made the plan, as typed ({"--arch": "llama-3-8b"})."""
    import shlex

    words = ["scalinglab", "plan"]
    for flag, value in inputs.items():
        words += [flag] if value is True else [flag, shlex.quote(str(value))]
    return " ".join(words)


def report_html(plan, figures: bool = True, laws=(), inputs: dict | None = None) -> str:
    """The HTML text of a plan's report (a plan.Plan); laws: unregistered law objects the plan
    used (a fit loaded from JSON); inputs: the options that made it ({"--gpu": "h100"}, as the
    CLI was given them), shown as its command line."""
    p = plan.to_dict()
    n, d = plan.n_params, plan.n_tokens
    title = f"Training plan: {format_count(n)} parameters on {format_count(d)} tokens"
    parts = [f"<h1>{html.escape(title)}</h1>", render(headline(plan))]
    if inputs is not None:
        parts.append("<h2>Made by</h2>")
        parts.append(f"<pre><code>{html.escape(command_line(inputs))}</code></pre>")
        if inputs:
            parts.append(render({flag: str(v) for flag, v in inputs.items()}))
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [figure(s, c) for s, c in _figures(plan, laws)]
    parts.append(sections_html(p))
    parts.append("<h2>Sources</h2>")
    parts.append(render(_sources(plan, laws)))
    return page(title, parts, "scalinglab plan --json")


def figure(svg_text: str, caption: str) -> str:
    """A figure (matplotlib SVG) with its caption, as HTML."""
    return f"<figure>{inline_svg(svg_text)}<figcaption>{html.escape(caption)}</figcaption></figure>"


def page(title: str, parts, json_command: str) -> str:
    """A self-contained HTML page: the title, the parts (HTML strings) and a footer naming the
    command whose --json gives the same numbers."""
    footer = (f"<footer>Written by scalinglab {__version__}, offline; the same numbers come "
              f"from <code>{html.escape(json_command)}</code>.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join([*parts, footer]) + "\n</body></html>\n")


def sections_html(d: dict) -> str:
    """The generic part of a report: every assumption at any depth of a result's dict, then every
    number it holds, whatever its sections are."""
    seen = {}  # a plan may repeat a section's assumptions at the top: show each once
    for sec, text in assumptions(d):
        seen.setdefault(text, sec)
    rows = [{"#": i, "section": sec, "assumption": a} for i, (a, sec) in
            enumerate(seen.items(), start=1)]
    return ("<h2>Assumptions</h2>" + render(rows) + "<h2>Every number in the plan</h2>"
            + render({k: v for k, v in d.items() if k != "assumptions"}))


def write_report(plan, path, laws=(), inputs: dict | None = None) -> Path:
    """Write the report; returns the path."""
    out = Path(path)
    if not out.parent.is_dir():
        raise InputError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    out.write_text(report_html(plan, laws=laws, inputs=inputs), encoding="utf-8")
    return out
