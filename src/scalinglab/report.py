"""A plan as one self-contained HTML page to paste into a design doc: figures inline as SVG, every
number the plan holds (nested sections rendered generically), its assumptions and sources.
No scripts, no remote fonts or images: it opens offline."""

import html
import math
import re
from pathlib import Path

from scalinglab import __version__
from scalinglab.errors import InputError
from scalinglab.units import format_count, format_sci

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


def render(value) -> str:
    """Any JSON-like value as HTML: dicts as key/value tables, lists of dicts as tables."""
    if isinstance(value, dict) and len(value) > 1 and all(isinstance(v, dict) for v in value.values()):
        return render([{"": k, **_flat(v)} for k, v in value.items()])  # e.g. losses by law
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{render(v)}</td></tr>"
                       for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{html.escape(str(c)).replace('.', '.<wbr>')}</th>" for c in cols)
            body = "".join("<tr>" + "".join(_cell(v.get(c)) for c in cols) + "</tr>" for v in value)
            return f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'
        return "<ul>" + "".join(f"<li>{render(v)}</li>" for v in value) + "</ul>" if value else ""
    if value is None:
        return "&ndash;"
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


def _cell(v) -> str:
    num = isinstance(v, (int, float)) and not isinstance(v, bool)
    return f'<td class="num">{render(v)}</td>' if num else f"<td>{render(v)}</td>"


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


def report_html(plan, figures: bool = True, laws=()) -> str:
    """The HTML text of a plan's report (a plan.Plan); laws: unregistered law objects the plan
    used (a fit loaded from JSON)."""
    p = plan.to_dict()
    n, d = plan.n_params, plan.n_tokens
    title = f"Training plan: {format_count(n)} parameters on {format_count(d)} tokens"
    headline = {"model size N": f"{format_count(n)} parameters",
                "training tokens D": f"{format_count(d)} ({d / n:,.1f} per parameter)",
                "compute C = 6ND": f"{format_sci(plan.flops, 3)} FLOP ({plan.pf_days:,.0f} PF-days)",
                f"predicted loss ({plan.law})": "n/a (no L(N, D))" if plan.loss is None
                else f"{plan.loss:.4f} nats/token",
                "how N and D were chosen": plan.derivation}
    parts = [f"<h1>{html.escape(title)}</h1>", render(headline)]
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [f"<figure>{inline_svg(s)}<figcaption>{html.escape(c)}</figcaption></figure>"
                  for s, c in _figures(plan, laws)]
    parts.append(sections_html(p))
    parts.append("<h2>Sources</h2>")
    parts.append(render(_sources(plan, laws)))
    parts.append(f"<footer>Written by scalinglab {__version__}, offline; the same numbers come "
                 f"from <code>scalinglab plan --json</code>.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


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


def write_report(plan, path, laws=()) -> Path:
    """Write the report; returns the path."""
    out = Path(path)
    if not out.parent.is_dir():
        raise InputError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    out.write_text(report_html(plan, laws=laws), encoding="utf-8")
    return out
