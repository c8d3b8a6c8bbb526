"""What the page shows for a plan: the chain budget -> C -> N and D -> loss under each law ->
time, GPU-hours, cost, energy -> memory per GPU and the verdict, as sections of labelled numbers
with the assumptions that produced them underneath. Built from the `plan --json` document, so the
page shows exactly what the CLI prints: every number keeps its JSON path and raw value beside the
text, formatted here with units.py (the page formats nothing)."""

import math

from scalinglab.units import format_bytes, format_count, format_duration, format_flops

GAUGE_DECADES = 4  # the tokens-per-parameter gauge runs from 1 to 10^4


def _get(doc, path: str):
    """The value at a dotted JSON path ("hardware.days", "rows.0.tpot_s")."""
    for k in path.split("."):
        doc = doc[int(k)] if isinstance(doc, list) else doc[k]
    return doc


def _row(doc, label: str, path: str | None, text: str, note: str = "") -> dict:
    r = {"label": label, "text": text}
    if path is not None:
        r.update(path=path, value=_get(doc, path))
    if note:
        r["note"] = note
    return r


def _times(x: float) -> str:
    return f"{x:.2f}x" if x < 10 else f"{x:,.1f}x"


def _money(x, missing: str = "n/a (give a price per GPU-hour)") -> str:
    return (missing or "-") if x is None else f"${format_count(x)}"


def _energy(kwh) -> str:
    from scalinglab.units import format_energy

    return "n/a (no TDP in the catalogue)" if kwh is None else format_energy(kwh)


def _lines(assumptions, *prefixes) -> list:
    return [a for a in assumptions if a.split(":")[0] in prefixes]


def plan_view(doc: dict, serving: dict | None = None) -> dict:
    """The sections of the page, in the order of the chain; `serving` is `infer --json` for the
    plan's architecture on its GPU."""
    notes = doc["assumptions"]
    hw_notes = (doc.get("hardware") or {}).get("assumptions", [])
    arch_notes = (doc.get("arch") or {}).get("assumptions", [])
    rest = [a for a in notes if a not in hw_notes and a not in arch_notes]
    sections = [_budget(doc, rest), _model(doc, arch_notes), _loss(doc, rest)]
    sections.append(_hardware(doc, hw_notes) if doc.get("hardware") else _missing(
        "hardware", "Time, GPU-hours, cost, energy", "Choose a GPU to see how long this takes, "
        "the GPU-hours, the cost (with a price) and the energy."))
    sections.append(_memory(doc) if doc.get("memory") else _missing(
        "memory", "Memory per GPU", "Choose an architecture (a preset or your config.json) and a "
        "GPU to see the memory per GPU and whether it fits."))
    if doc.get("inference"):
        sections.append(_inference(doc, _lines(rest, "inference")))
    if doc.get("data_constrained"):
        sections.append(_data(doc, _lines(rest, "repeated data")))
    sections.append(_serving(serving) if serving else _missing(
        "serving", "Serving cost", "Choose an architecture and a GPU to see tokens per second, "
        "latency and the cost per million tokens of serving the model."))
    return {"title": f"{format_count(doc['n_params'])} parameters on {format_count(doc['n_tokens'])} "
                     f"tokens, loss {_f(doc['loss'], '.4f')} under {doc['law']}",
            "sections": sections}


def _missing(sid, title, text) -> dict:
    return {"id": sid, "title": title, "rows": [], "empty": text, "assumptions": []}


def _budget(doc, rest) -> dict:
    return {"id": "budget", "title": "Budget \u2192 compute C", "rows": [
        _row(doc, "how", "derivation", doc["derivation"]),
        _row(doc, "compute C", "flops", format_flops(doc["flops"])),
        _row(doc, "PF-days", "pf_days", f"{format_count(doc['pf_days'])} PF-days",
             "1 PF-day = 8.64e19 FLOP"),
        _row(doc, "forward", "forward_flops", format_flops(doc["forward_flops"]), "2ND"),
        _row(doc, "backward", "backward_flops", format_flops(doc["backward_flops"]), "4ND"),
    ], "assumptions": _lines(rest, "compute")}


def _model(doc, arch_notes) -> dict:
    r = doc["ratio"]
    exact = f"{doc['arch']['name']}, exact {doc['arch']['n_params']:,}" if doc.get("arch") else ""
    return {"id": "model", "title": "C \u2192 N and D", "rows": [
        _row(doc, "parameters N", "n_params", format_count(doc["n_params"]), exact),
        _row(doc, "tokens D", "n_tokens", format_count(doc["n_tokens"])),
        _row(doc, "tokens per parameter", "tokens_per_param", f"{doc['tokens_per_param']:,.1f}"),
        _row(doc, "vs 20:1", "ratio.times_twenty", _times(r["times_twenty"]),
             "Chinchilla's 20 tokens per parameter"),
        _row(doc, "vs optimum", "ratio.times_optimal", _times(r["times_optimal"]),
             f"{r['law']}'s compute-optimal {r['optimal_tokens_per_param']:.1f}:1 at this compute"),
    ], "gauge": _gauge(r), "assumptions": arch_notes}


def _gauge(r) -> dict:
    """Tokens per parameter on a log scale (1 to 10^4): this plan, the law's optimum, 20:1."""
    def at(x):
        return min(max(math.log10(x) / GAUGE_DECADES, 0.0), 1.0) if x > 0 else 0.0

    return {"label": "tokens per parameter (log scale)",
            "ticks": [{"at": k / GAUGE_DECADES, "label": f"{10**k:,}"} for k in range(GAUGE_DECADES + 1)],
            "marks": [
                {"at": at(20.0), "label": "20:1 (Chinchilla)", "style": "twenty"},
                {"at": at(r["optimal_tokens_per_param"]), "style": "optimum",
                 "label": f"optimum {r['optimal_tokens_per_param']:.1f}:1 ({r['law']})"},
                {"at": at(r["tokens_per_param"]), "style": "plan",
                 "label": f"this plan {r['tokens_per_param']:,.1f}:1"}]}


def _f(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _loss(doc, rest) -> dict:
    from scalinglab.laws.base import form_notes  # what the CLI prints under its table

    rows = []
    for lid, r in doc["losses"].items():
        o = r["optimal_at_same_compute"]
        p, t = f"losses.{lid}", r["terms"] or {}
        rows.append({"law": lid, "plan_law": lid == doc["law"], "cells": [
            _cell(doc, f"{p}.loss", _f(r["loss"], ".4f")),
            *(_cell(doc, f"{p}.terms.{k}", _f(t[k], ".3f")) if k in t else {"text": "-"}
              for k in ("irreducible", "model", "data")),
            _cell(doc, f"{p}.optimal_at_same_compute.n_params", format_count(o["n_params"])),
            _cell(doc, f"{p}.optimal_at_same_compute.n_tokens", format_count(o["n_tokens"])),
            _cell(doc, f"{p}.optimal_at_same_compute.tokens_per_param", f"{o['tokens_per_param']:.3g}"),
            _cell(doc, f"{p}.optimal_at_same_compute.loss", _f(o["loss"], ".4f"))]})
    caption = "\n".join(form_notes(doc["losses"]))
    loss = _f(doc["loss"], ".4f") + (" nats/token" if doc["loss"] is not None else
                                     f" ({doc['law']} has no L(N, D))")
    return {"id": "loss", "title": "N and D \u2192 loss under each law", "rows": [
        _row(doc, f"loss ({doc['law']})", "loss", loss)],
        "table": {"columns": ["law", "loss", "E", "A/N^a", "B/D^b", "opt N", "opt D", "opt D/N",
                              "opt loss"], "rows": rows, "caption": caption,
                  "title": "Same N and D under every law, and each law's optimum at this compute"},
        "assumptions": _lines(rest, "law", "loss", "20")}


def _cell(doc, path, text) -> dict:
    return {"text": text, "path": path, "value": _get(doc, path)}


def _hardware(doc, notes) -> dict:
    h = doc["hardware"]
    days = h["days"]
    when = (f"{days:,.1f} days" + (f" ({format_duration(h['seconds'])})" if days >= 730 else "")
            if days >= 2 else format_duration(h["seconds"]))
    return {"id": "hardware", "title": "Compute \u2192 time, GPU-hours, cost, energy", "rows": [
        _row(doc, "accelerators", "hardware.n_gpus", f"{h['n_gpus']:,.0f} x {h['accelerator_name']}"),
        _row(doc, "peak per GPU", "hardware.peak_flops",
             f"{h['peak_flops'] / 1e12:,.1f} TFLOP/s ({h['dtype']}, {h['peak']})"),
        _row(doc, "MFU", "hardware.mfu", f"{h['mfu']:.3g} ({h['mfu_source']})"),
        _row(doc, "time", "hardware.days", when),
        _row(doc, "GPU-hours", "hardware.gpu_hours", format_count(h["gpu_hours"])),
        _row(doc, "cost", "hardware.cost_usd", _money(h["cost_usd"])),
        _row(doc, "energy", "hardware.energy_kwh", _energy(h["energy_kwh"])),
    ], "assumptions": notes}


def _memory(doc) -> dict:
    m = doc["memory"]
    total, cap = m["per_gpu_bytes"], m["gpu_memory_bytes"]
    scale = max(total, cap or 0.0) or 1.0
    parts = [{"name": k, "bytes": v, "text": format_bytes(v), "path": f"memory.breakdown.{k}",
              "width": v / scale} for k, v in m["breakdown"].items()]
    fits = m["fits"]
    verdict = ("FITS" if fits else "DOES NOT FIT") + f" on {m['gpu']} ({format_bytes(cap)}): " \
        f"{format_bytes(total)} per GPU on {m['n_gpus']} GPU(s); " + \
        (f"fewest GPUs that fit: {m['min_gpus']}" if m["min_gpus"] else
         "no GPU count fits with this strategy")
    return {"id": "memory", "title": "Model \u2192 memory per GPU and the verdict", "rows": [
        _row(doc, "verdict", "memory.fits", verdict),
        _row(doc, "per GPU", "memory.per_gpu_bytes", format_bytes(total)),
        _row(doc, "KV cache", "memory.kv_cache_bytes", format_bytes(m["kv_cache_bytes"]),
             "none while training"),
        _row(doc, "fewest GPUs", "memory.min_gpus", str(m["min_gpus"] or "none")),
    ], "bar": {"parts": parts, "capacity": cap / scale if cap else None,
               "capacity_label": f"{m['gpu']}: {format_bytes(cap)}" if cap else "",
               "fits": fits, "label": f"per GPU, ZeRO-{m['parallel']['zero']} over {m['n_gpus']} GPU(s)"},
        "assumptions": m["assumptions"]}


def _inference(doc, notes) -> dict:
    i = doc["inference"]
    o = i["optimum"]
    t = i["implied_inference_tokens"]
    return {"id": "inference", "title": f"Serving {format_count(i['inference_tokens'])} tokens: "
                                        "lifetime compute", "rows": [
        _row(doc, "lifetime FLOP", "inference.total_flops", format_flops(i["total_flops"])),
        _row(doc, "inference FLOP", "inference.inference_flops", format_flops(i["inference_flops"])),
        _row(doc, "inference-aware N", "inference.optimum.n_params", format_count(o["n_params"]),
             f"on {format_count(o['n_tokens'])} tokens, same loss {o['loss']:.4f}"),
        _row(doc, "saved", "inference.total_flops_saved", f"{100 * i['total_flops_saved']:.1f}%",
             "of the lifetime FLOP"),
        _row(doc, "implied demand", "inference.implied_inference_tokens",
             format_count(t) + " tokens" if t is not None else "none (fewer tokens than Chinchilla)",
             "this N, D is lifetime-optimal at"),
    ], "assumptions": notes}


def _serving(doc) -> dict:
    """`infer --json`: one row per batch size (the roofline of prefill and decode)."""
    s = doc["setup"]
    rows = []
    for i, r in enumerate(doc["rows"]):
        p = f"rows.{i}"
        rows.append({"law": f"batch {r['batch']:,}", "plan_law": r["batch"] == doc["best_batch"], "cells": [
            _cell(doc, f"{p}.tokens_per_s_per_gpu", f"{r['tokens_per_s_per_gpu']:,.0f}"),
            _cell(doc, f"{p}.ttft_s", format_duration(r["ttft_s"])),
            _cell(doc, f"{p}.tpot_s", f"{1e3 * r['tpot_s']:.3g} ms"),
            _cell(doc, f"{p}.usd_per_million_output_tokens", _money(r["usd_per_million_output_tokens"], "")),
            _cell(doc, f"{p}.kwh_per_million_output_tokens", _f(r["kwh_per_million_output_tokens"], ".3g")),
            _cell(doc, f"{p}.bound", r["bound"]),
            _cell(doc, f"{p}.fits", "yes" if r["fits"] else "NO")]})
    return {"id": "serving", "doc": "infer", "title": f"Serving {s['model']} on {s['n_gpus']} x "
                                                     f"{s['gpu']}: cost and speed", "rows": [
        _row(doc, "weights", "setup.weights", f"{s['weights']} ({format_bytes(s['weights_bytes'])})"),
        _row(doc, "requests", "prompt", f"{doc['prompt']:,} prompt + {doc['output']:,} output tokens"),
        _row(doc, "latency at batch 1", "tpot_at_batch_1_s", f"{1e3 * doc['tpot_at_batch_1_s']:.3g} ms "
             "per output token"),
        _row(doc, "largest batch that fits", "max_fit_batch", f"{doc['max_fit_batch']:,}"
             if doc["max_fit_batch"] else "none"),
    ], "table": {"columns": ["batch", "tokens/s per GPU", "TTFT", "TPOT", "$ / M output", "kWh / M output",
                             "bound", "fits"], "rows": rows, "caption": doc.get("verdict") or "",
                 "title": f"Per batch size (prompt {doc['prompt']:,}, output {doc['output']:,} tokens)"},
        "assumptions": doc["assumptions"]}


def _data(doc, notes) -> dict:
    d = doc["data_constrained"]
    o = d["optimum"]
    return {"id": "data", "title": f"Repeated data: {format_count(d['unique_tokens'])} unique tokens",
            "rows": [
        _row(doc, "epochs", "data_constrained.epochs", f"{d['epochs']:.3g}"),
        _row(doc, "loss", "data_constrained.loss", f"{d['loss']:.4f}",
             f"fresh data: {d['loss_fresh_data']:.4f}"),
        _row(doc, "best split N", "data_constrained.optimum.n_params", format_count(o["n_params"]),
             f"on {format_count(o['n_tokens'])} tokens ({o['epochs']:.3g} epochs), loss {o['loss']:.4f}"),
    ], "assumptions": notes}


def fit_view(doc: dict) -> dict:
    """The fit's parameters with their intervals, for the page."""
    ci = doc["ci"]
    if doc["approach"] == 2:
        rows = [_row(doc, k, k, f"{doc[k]:.3f} [{ci[k][0]:.3f}, {ci[k][1]:.3f}]") for k in ("a", "b")]
    else:
        rows = [_row(doc, k, f"params.{k}", f"{v:.5g} [{ci[k][0]:.5g}, {ci[k][1]:.5g}]")
                for k, v in doc["params"].items()]
        rows.append(_row(doc, "objective", "objective", f"{doc['objective']:.10f}"))
    rows.append(_row(doc, "runs", "data.n_points", f"{doc['data']['n_points']} ({doc['data']['source']})"))
    return {"id": "fit", "doc": "fit", "title": f"Your fit (Approach {doc['approach']}, {ci['method']}, "
                                  f"{ci['level']:.0%})", "rows": rows,
            "assumptions": doc["assumptions"]}

