// The scalinglab page: read the inputs, ask the server (/api/page), draw what it answers.
// Every number shown comes from the server, already formatted; the page computes nothing but
// where to draw (positions arrive in [0, 1] and are scaled to the drawing's size).
"use strict";

const $ = (s) => document.querySelector(s);
const MODES = { cluster: ["days"], compute: ["compute"], nd: ["n_params", "n_tokens"] };
const COMMON = ["law", "arch", "gpu", "n_gpus", "dtype", "mfu", "price", "inference_tokens", "unique_tokens"];
const SVG = "http://www.w3.org/2000/svg";
const upload = { config: null, config_name: null, csv: null, csv_name: null };
let controller = null;

function el(tag, attrs = {}, ...children) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "text") e.textContent = v;
    else if (k === "css") for (const [p, x] of Object.entries(v)) e.style.setProperty(p, x);  // CSP: no style=""
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function option(select, value, text) {
  select.append(el("option", { value, text: text || value }));
}

async function init() {
  const [laws, presets, gpus, precision] = await Promise.all(
    ["/api/laws", "/api/presets", "/api/gpus", "/api/precision"].map(getJSON));
  for (const law of laws.laws) option($("#law"), law.id, law.id + (law.id === laws.default ? " (default)" : ""));
  $("#law").dataset.default = laws.default;
  $("#law").value = laws.default;
  for (const p of presets.presets) option($("#arch"), p.name);
  for (const a of gpus.accelerators) option($("#gpu"), a.id, `${a.id}: ${a.name}`);
  for (const d of precision.dtypes) option($("#dtype"), d.dtype);
  $("#dtype").value = $("#dtype").dataset.default = "bf16";
  fromURL();
  showMode();
  $("#inputs").addEventListener("input", (e) => { if (e.target.type !== "file") update(); });
  $("#inputs").addEventListener("change", (e) => { if (e.target.name === "mode") showMode(); });
  $("#inputs").addEventListener("submit", (e) => e.preventDefault());
  $("#config").addEventListener("change", () => readFile("config"));
  $("#csv").addEventListener("change", () => readFile("csv"));
  $("#config-clear").addEventListener("click", () => clearUpload("config"));
  $("#csv-clear").addEventListener("click", () => clearUpload("csv"));
  $("#copy").addEventListener("click", copyCommand);
  for (const id of ["isoflop", "frontier"]) $("#" + id).addEventListener("keydown", (e) => stepChart(id, e));
  update();
}

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

function showMode() {
  for (const div of document.querySelectorAll(".mode")) div.hidden = div.dataset.mode !== mode();
  update();
}

// --- state: the inputs, the request body and the URL --------------------------------------------
function planBody() {
  const body = {};
  for (const name of [...MODES[mode()], ...COMMON]) {
    const input = $("#" + name);
    const v = input.value.trim();
    if (v === "" || v === input.dataset.default) continue;
    body[name] = v;
  }
  if ($("#sparse").checked) body.sparse = true;
  if (upload.config) {
    delete body.arch;
    body.config = upload.config;
    body.config_name = upload.config_name;
  }
  return body;
}

function inferBody(plan) {
  // serving cost: the plan's architecture on its GPU, at its price
  if (!plan.gpu || !(plan.arch || plan.config)) return null;
  const body = { gpu: plan.gpu };
  for (const k of ["arch", "config", "config_name", "price"]) if (plan[k] !== undefined) body[k] = plan[k];
  const tp = $("#serve_gpus").value.trim();
  if (tp !== "") body.n_gpus = tp;
  return body;
}

function fitBody() {
  return upload.csv ? { csv: upload.csv, csv_name: upload.csv_name } : null;
}

function toURL(body) {
  const q = new URLSearchParams({ mode: mode() });
  if ($("#serve_gpus").value.trim() !== "") q.set("serve_gpus", $("#serve_gpus").value.trim());
  for (const [k, v] of Object.entries(body)) {
    if (k === "config") q.set(k, btoa(unescape(encodeURIComponent(JSON.stringify(v)))));
    else q.set(k, v);
  }
  history.replaceState(null, "", "?" + q.toString());
}

function fromURL() {
  const q = new URLSearchParams(location.search);
  if (!q.has("mode")) return;
  const m = document.querySelector(`input[name=mode][value="${CSS.escape(q.get("mode"))}"]`);
  if (m) m.checked = true;
  for (const name of [...Object.values(MODES).flat(), ...COMMON]) {
    const input = $("#" + name);
    if (q.has(name)) {
      const v = q.get(name);
      if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === v)) option(input, v);
      input.value = v;  // a name the lists lack goes to the server, which says what it knows
    } else if (input.dataset.default !== undefined) input.value = input.dataset.default;
    else if (COMMON.includes(name) || MODES[mode()].includes(name)) input.value = "";
  }
  $("#sparse").checked = q.get("sparse") === "true";
  $("#serve_gpus").value = q.get("serve_gpus") || "";
  if (q.has("config")) {
    try {
      upload.config = JSON.parse(decodeURIComponent(escape(atob(q.get("config")))));
      upload.config_name = q.get("config_name") || "config.json";
      showUpload("config");
    } catch (err) {
      showError({ error: "the link's config could not be read", field: "config" });
    }
  }
}

async function readFile(kind) {
  const input = $("#" + kind);
  const file = input.files[0];
  if (!file) return;
  const text = await file.text();
  if (kind === "config") {
    try {
      upload.config = JSON.parse(text);
    } catch (err) {
      upload.config = null;
      showError({ error: `${file.name}: not valid JSON (${err.message})`, field: "config" });
      return;
    }
    $("#arch").value = "";
  } else {
    upload.csv = text;
  }
  upload[kind + "_name"] = file.name;
  showUpload(kind);
  update();
}

function showUpload(kind) {
  const p = $(`#${kind}-state`);
  p.hidden = false;
  p.querySelector("span").textContent = `using ${upload[kind + "_name"]}`;
}

function clearUpload(kind) {
  upload[kind] = upload[kind + "_name"] = null;
  $("#" + kind).value = "";
  $(`#${kind}-state`).hidden = true;
  update();
}

// --- talking to the server ----------------------------------------------------------------------
async function update() {
  if (!$("#law").options.length) return;  // not initialised yet
  const plan = planBody();
  toURL(plan);
  const fit = fitBody();
  const infer = inferBody(plan);
  if (controller) controller.abort();
  controller = new AbortController();
  const mine = controller;
  $("#status").textContent = fit ? "computing (a fit to your runs takes a few seconds the first time)" : "";
  document.body.classList.add("busy");
  try {
    const r = await fetch("/api/page", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ plan, ...(fit ? { fit } : {}), ...(infer ? { infer } : {}) }), signal: mine.signal,
    });
    const data = await r.json();
    if (mine !== controller) return;
    if (!r.ok) {
      showError(data);
      document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
      return;
    }
    showError(null);
    render(data);
    $("#status").textContent = "";
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  } catch (err) {
    if (err.name !== "AbortError") showError({ error: `no answer from the server (${err.message})` });
  } finally {
    if (mine === controller) document.body.classList.remove("busy");
  }
}

function showError(e) {
  for (const x of document.querySelectorAll("[aria-invalid=true]")) x.removeAttribute("aria-invalid");
  const box = $("#error");
  if (!e) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = ({ fit: "your runs: ", infer: "serving: " }[e.in] || "") + e.error;
  const id = e.in === "infer" && e.field === "n_gpus" ? "serve_gpus" : e.field;
  const input = id && document.getElementById(id);
  if (input) input.setAttribute("aria-invalid", "true");
  $("#status").textContent = "";
}

async function copyCommand() {
  const text = $("#command").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("#copied").textContent = "copied";
  } catch (err) {
    const range = document.createRange();
    range.selectNodeContents($("#command"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("#copied").textContent = "selected: press Ctrl+C";
  }
}

// --- drawing ------------------------------------------------------------------------------------
function render(data) {
  $("#command").textContent = data.command;
  $("#title").textContent = data.view.title;
  const box = $("#sections");
  box.replaceChildren(...data.view.sections.map(section));
  $("#fit").replaceChildren(...(data.fit ? [section(data.fit.view), el("p", { class: "fitcmd" },
    "as a command: ", el("code", { text: data.fit.command }))] : []));
  const serving = $("#s-serving");
  if (data.infer && serving) serving.append(el("p", { class: "fitcmd" }, "as a command: ", el("code", { text: data.infer.command })));
  chart("isoflop", data.charts.isoflop);
  chart("frontier", data.charts.frontier);
}

function value(x) {
  return el("output", { "data-path": x.path, "data-value": JSON.stringify(x.value), text: x.text });
}

function section(s) {
  const sec = el("section", { id: "s-" + s.id, "aria-labelledby": "h-" + s.id, "data-doc": s.doc || "plan" },
    el("h3", { id: "h-" + s.id, text: s.title }));
  if (s.empty) sec.append(el("p", { class: "empty", text: s.empty }));
  if (s.rows.length) {
    const dl = el("dl");
    for (const r of s.rows) {
      dl.append(el("dt", { text: r.label }),
        el("dd", {}, r.path ? value(r) : el("span", { text: r.text }),
          r.note ? el("small", { text: " " + r.note }) : null));
    }
    sec.append(dl);
  }
  if (s.gauge) sec.append(gauge(s.gauge));
  if (s.bar) sec.append(bar(s.bar));
  if (s.table) sec.append(table(s.table));
  if (s.assumptions.length) {
    sec.append(el("details", { class: "assumptions", open: "" }, el("summary", { text: "assumptions" }),
      el("ul", {}, ...s.assumptions.map((a) => el("li", { text: a })))));
  }
  return sec;
}

function gauge(g) {
  const box = el("div", { class: "gauge", role: "img", "aria-label": g.marks.map((m) => m.label).join("; ") });
  const track = el("div", { class: "track" });
  for (const t of g.ticks) track.append(el("span", { class: "tick", css: { left: `${t.at * 100}%` }, text: t.label }));
  for (const m of g.marks) {
    track.append(el("span", { class: "mark " + m.style, css: { left: `${m.at * 100}%` }, title: m.label }));
  }
  box.append(el("p", { class: "label", text: g.label }), track,
    el("ul", { class: "legend" }, ...g.marks.map((m) => el("li", {}, el("span", { class: "swatch " + m.style }), m.label))));
  return box;
}

function bar(b) {
  const box = el("div", { class: "membar" + (b.fits ? " fits" : " nofit") });
  const track = el("div", { class: "track", role: "img", "aria-label": b.parts.map((p) => `${p.name} ${p.text}`).join(", ") });
  b.parts.forEach((p, i) => track.append(el("span", {
    class: "part p" + i, css: { width: `${p.width * 100}%` }, title: `${p.name}: ${p.text}` })));
  if (b.capacity !== null) track.append(el("span", { class: "capacity", css: { left: `${b.capacity * 100}%` }, title: b.capacity_label }));
  box.append(el("p", { class: "label", text: b.label }), track,
    el("ul", { class: "legend" }, ...b.parts.map((p, i) => el("li", {},
      el("span", { class: "swatch p" + i }), `${p.name} `, value({ path: p.path, value: p.bytes, text: p.text })))),
    b.capacity_label ? el("p", { class: "cap", text: "line: " + b.capacity_label }) : null);
  return box;
}

function table(t) {
  const head = el("tr", {}, ...t.columns.map((c) => el("th", { scope: "col", text: c })));
  const rows = t.rows.map((r) => el("tr", r.plan_law ? { class: "plan" } : {},
    el("th", { scope: "row", text: r.law + (r.plan_law ? " *" : "") }),
    ...r.cells.map((c) => el("td", {}, c.path ? value(c) : c.text))));
  return el("div", { class: "scroll" }, el("table", {},
    el("caption", { text: t.title }), el("thead", {}, head), el("tbody", {}, ...rows)),
    t.caption ? el("p", { class: "caption", text: t.caption }) : null);
}

const W = 640, H = 380, L = 62, R = 14, T = 14, B = 44;
const X = (u) => L + u * (W - L - R);
const Y = (v) => T + (1 - v) * (H - T - B);
const charts = {};

function chart(id, c) {
  const fig = $("#" + id);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": c.title });
  const grid = el("svg:g", { class: "grid" });
  for (const t of c.x.ticks) {
    grid.append(el("svg:line", { x1: X(t.at), x2: X(t.at), y1: Y(0), y2: Y(1) }),
      el("svg:text", { x: X(t.at), y: Y(0) + 16, "text-anchor": "middle", text: t.label }));
  }
  for (const t of c.y.ticks) {
    grid.append(el("svg:line", { x1: X(0), x2: X(1), y1: Y(t.at), y2: Y(t.at) }),
      el("svg:text", { x: X(0) - 6, y: Y(t.at) + 4, "text-anchor": "end", text: t.label }));
  }
  grid.append(el("svg:text", { x: X(0.5), y: H - 6, "text-anchor": "middle", class: "axis", text: c.x.label }),
    el("svg:text", { x: 12, y: Y(0.5), transform: `rotate(-90 12 ${Y(0.5)})`, "text-anchor": "middle", class: "axis", text: c.y.label }));
  svg.append(grid, el("svg:clipPath", { id: id + "-clip" }, el("svg:rect", { x: X(0), y: Y(1), width: X(1) - X(0), height: Y(0) - Y(1) })));
  const plot = el("svg:g", { "clip-path": `url(#${id}-clip)` });
  const hover = el("svg:g", { class: "hover" });
  const readout = el("p", { class: "readout", "aria-live": "polite", text: "hover or use the arrow keys to read values" });
  const steps = [];
  for (const s of c.series) {
    const cls = "s " + s.style + " " + s.kind;
    if (s.kind === "band") {
      const pts = s.points.map((p) => `${X(p[0])},${Y(p[1])}`).concat(s.points.slice().reverse().map((p) => `${X(p[0])},${Y(p[2])}`));
      plot.append(el("svg:polygon", { class: cls, points: pts.join(" ") }));
      continue;
    }
    if (s.kind === "line") plot.append(el("svg:polyline", { class: cls, points: s.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" ") }));
    for (const p of s.points) {
      const r = s.kind === "marker" ? 7 : s.kind === "points" ? 3 : 5;
      const dot = el("svg:circle", { class: s.kind === "line" ? "hit" : cls, cx: X(p[0]), cy: Y(p[1]), r, "data-label": p[2] });
      (s.kind === "line" ? hover : plot).append(dot);
      steps.push(p[2]);
    }
  }
  svg.append(plot, hover);
  svg.addEventListener("mouseover", (e) => { if (e.target.dataset.label) readout.textContent = e.target.dataset.label; });
  const legend = el("ul", { class: "legend" }, ...c.series.filter((s) => s.kind !== "band" && !s.name.endsWith(" optimum"))
    .filter((s, i, all) => all.findIndex((o) => o.name === s.name) === i)
    .map((s) => el("li", {}, el("span", { class: "swatch " + s.style + " " + s.kind }), s.name)));
  fig.replaceChildren(el("figcaption", { text: c.title }), svg, readout, legend, el("p", { class: "note", text: c.note }));
  charts[id] = { steps, at: -1, readout };
}

function stepChart(id, e) {
  const c = charts[id];
  if (!c || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) return;
  e.preventDefault();
  const last = c.steps.length - 1;
  c.at = e.key === "Home" ? 0 : e.key === "End" ? last : Math.min(Math.max(c.at + (e.key === "ArrowRight" ? 1 : -1), 0), last);
  c.readout.textContent = c.steps[c.at];
}

document.addEventListener("DOMContentLoaded", () => init().catch((err) => showError({ error: `cannot start: ${err.message}` })));
