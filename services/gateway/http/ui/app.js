// Free Scaling's dashboard: five views over the gateway's /ui/api/ JSON, drawn with plain DOM
// and inline SVG (no framework, nothing fetched from elsewhere). Text from calls (questions,
// model output) is only ever set as text, never parsed as HTML.
"use strict";

const KEY = "freescaling-api-key";
const view = () => document.getElementById("view");

// --- the API key: typed once, kept in this tab (or this device), sent as a header ----------

function storedKey() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || "";
}

function showKeyForm(message) {
  const form = document.getElementById("key-form");
  form.hidden = false;
  if (message) {
    setView([h("p", { class: "notice" }, message)], "key");
  }
  document.getElementById("key-input").focus();
}

function setupKeyForm() {
  const form = document.getElementById("key-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("key-input");
    const remember = document.getElementById("key-remember").checked;
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    (remember ? localStorage : sessionStorage).setItem(KEY, input.value.trim());
    input.value = "";
    form.hidden = true;
    route();
  });
  document.getElementById("key-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    showKeyForm("The key is forgotten. Type one to see the figures.");
  });
  document.getElementById("key-button").addEventListener("click", () => {
    form.hidden = !form.hidden;
  });
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const key = storedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    throw new Unauthorized(body.error ? body.error.message : "an API key is needed");
  }
  if (!response.ok) {
    throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
  }
  return body;
}

// --- DOM and formatting helpers ------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "path", "line", "rect", "circle", "text", "polyline", "title"];
  const node = svg.includes(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    // Through the CSSOM: the page's policy refuses style attributes, not style properties.
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const fmt = {
  int: (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US")),
  usd: (n) => {
    if (n === null || n === undefined) return "–";
    const abs = Math.abs(n);
    const digits = abs === 0 ? 2 : abs < 0.01 ? 6 : abs < 1 ? 4 : 2;
    return `${n < 0 ? "−" : ""}$${abs.toFixed(digits)}`;
  },
  pct: (n) => (n === null || n === undefined ? "–" : `${(100 * n).toFixed(1)}%`),
  ms: (n) => (n === null || n === undefined ? "–" : `${Number(n).toFixed(0)} ms`),
  num: (n, d = 1) => (n === null || n === undefined ? "–" : Number(n).toFixed(d)),
  time: (iso) => (iso ? new Date(iso).toLocaleString() : "–"),
};

function setView(children, name) {
  const main = view();
  // Views leave null where a section does not apply: nothing to show, not the word "null".
  main.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
  main.dataset.view = name;
  main.dataset.ready = "1";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === name.split("/")[0]);
  }
}

function card(label, value, note) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label),
    h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null);
}

function table(headers, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows));
}

function rangePicker(current, onChange) {
  const select = h("select", { "aria-label": "range", onchange: (e) => onChange(e.target.value) },
    ["all", "30d", "7d", "24h", "1h"].map((r) => h("option", { value: r, selected: r === current }, r)));
  return h("label", { class: "range" }, "Range ", select);
}

// --- inline SVG charts ---------------------------------------------------------------------

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04",
  "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488", "#b91c1c"];

// series: [{name, points: [[x (ms), y]]}]
function lineChart(series, { height = 220, yLabel = "", format = (v) => fmt.num(v, 0) } = {}) {
  const width = 720, left = 64, right = 150, top = 12, bottom = 28;
  const all = series.flatMap((s) => s.points);
  if (!all.length) return h("p", { class: "muted" }, "Nothing to draw yet.");
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  if (x0 === x1) x1 = x0 + 1;
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const px = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const py = (y) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
  const svg = h("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": yLabel });
  for (const tick of [y0, (y0 + y1) / 2, y1]) {
    svg.append(h("line", { x1: left, x2: width - right, y1: py(tick), y2: py(tick), class: "grid" }),
      h("text", { x: left - 6, y: py(tick) + 4, class: "axis", "text-anchor": "end" }, format(tick)));
  }
  for (const x of [x0, x1]) {
    svg.append(h("text", { x: px(x), y: height - 8, class: "axis",
      "text-anchor": x === x0 ? "start" : "end" }, new Date(x).toLocaleString()));
  }
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join("");
    svg.append(h("path", { d, stroke: color, fill: "none", "stroke-width": 2 },
      h("title", {}, s.name)));
    svg.append(h("text", { x: width - right + 8, y: top + 14 * (i + 1), fill: color, class: "legend" },
      s.name));
  });
  return svg;
}

function bars(items, { format = fmt.int } = {}) {
  // items: [{label, value}]
  const max = Math.max(1, ...items.map((i) => i.value));
  return h("div", { class: "bars" }, items.map((i) =>
    h("div", { class: "bar-row" }, h("span", { class: "bar-label" }, i.label),
      h("span", { class: "bar", style: `width:${(100 * i.value) / max}%` }),
      h("span", { class: "bar-value" }, format(i.value)))));
}

function heat(value, invert = false) {
  // 0..1 -> red..green (inverted: green..red)
  if (value === null || value === undefined || Number.isNaN(value)) return "#e5e7eb";
  const v = Math.max(0, Math.min(1, invert ? 1 - value : value));
  return `hsl(${Math.round(120 * v)}, 70%, ${Math.round(85 - 25 * v)}%)`;
}

// --- views ---------------------------------------------------------------------------------

const state = { range: "all", calls: { tokens: [""], model: "", kind: "" } };

async function overview() {
  const data = await api(`/ui/api/overview?range=${state.range}`);
  const s = data.totals;
  const buckets = data.buckets.map((b) => ({ ...b, t: Date.parse(b.start) }));
  const saved = data.saved_usd;
  const baseline = data.baseline;
  // Tokens spent at no price on either side: the registry prices these models at $0 (NIM's
  // free tier does), so there is no money to save, and the card says why rather than $0.00.
  const unpriced = s.tokens > 0 && s.cost_usd === 0 && baseline.cost_usd === 0
    ? "; the registry prices these models at $0 (as NIM's free tier): set their input_cost_per_mtok and output_cost_per_mtok to see money saved"
    : "";
  const savedNote = baseline.model
    ? `against always asking ${baseline.model} (best profiled, ${fmt.pct(baseline.accuracy)}), ${fmt.usd(baseline.cost_usd)}${unpriced}`
    : baseline.note;
  const accuracy = data.feedback.accuracy;
  const errorsByCause = data.errors.map((e) =>
    h("tr", {}, h("td", {}, e.model || "(whole call)"), h("td", {}, e.cause),
      h("td", { class: "num" }, fmt.int(e.count)), h("td", {}, fmt.time(e.last_at))));
  const byModel = Object.entries(s.calls_by_model).map(([label, calls]) => ({ label, value: calls }));
  return [
    h("div", { class: "toolbar" }, h("h1", {}, "Overview"),
      rangePicker(state.range, (r) => { state.range = r; route(); })),
    h("div", { class: "cards" },
      card("Calls", fmt.int(s.calls), `${fmt.int(s.routed_calls)} routed`),
      card("Tokens", fmt.int(s.tokens)),
      card("Cost", fmt.usd(s.cost_usd)),
      card(saved !== null && saved < 0 ? "Extra cost" : "Saved",
        saved === null ? "–" : fmt.usd(Math.abs(saved)), savedNote),
      card("Accuracy", accuracy === null ? "–" : fmt.pct(accuracy),
        `${fmt.int(data.feedback.calls)} calls with feedback`),
      card("Latency p50 / p95", `${fmt.ms(s.p50_latency_ms)} / ${fmt.ms(s.p95_latency_ms)}`),
      card("Cache hits", fmt.int(s.cache.hits),
        `hit rate ${fmt.pct(s.cache.hit_rate)}, saved ${fmt.usd(s.cache.saved_cost_usd)}`)),
    h("section", {}, h("h2", {}, "Calls over time"),
      lineChart([
        { name: "calls", points: buckets.map((b) => [b.t, b.calls]) },
        { name: "failed", points: buckets.map((b) => [b.t, b.errors]), color: "#dc2626" },
      ], { yLabel: "calls" })),
    h("section", {}, h("h2", {}, "Cost against the best single model"),
      lineChart([
        { name: "cost", points: buckets.map((b) => [b.t, b.cost_usd]) },
        { name: baseline.model ? `${baseline.model} alone` : "no baseline",
          points: buckets.map((b) => [b.t, b.baseline_cost_usd]), color: "#9ca3af" },
      ], { yLabel: "US dollars", format: fmt.usd })),
    h("section", {}, h("h2", {}, "Tokens over time"),
      lineChart([{ name: "tokens", points: buckets.map((b) => [b.t, b.tokens]) }],
        { yLabel: "tokens" })),
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, "Calls by model"),
        byModel.length ? bars(byModel) : h("p", { class: "muted" }, "No calls yet.")),
      h("section", {}, h("h2", {}, "Failures by cause"),
        errorsByCause.length
          ? table(["model", "cause", "count", "latest"], errorsByCause, { id: "errors" })
          : h("p", { class: "muted" }, "No failures in this range."))),
  ];
}

async function models() {
  const data = await api("/ui/api/models");
  const rows = data.ratings.map((r) =>
    h("tr", { "data-model": r.model },
      h("td", { class: "num" }, r.rank),
      h("td", {}, h("a", { href: `#/calls?model=${encodeURIComponent(r.model)}` }, r.model)),
      h("td", { class: "num rating", "data-rating": r.rating }, fmt.num(r.rating, 1)),
      h("td", { class: "num" }, fmt.int(r.calls)),
      h("td", { class: "num" }, fmt.int(r.answered)),
      h("td", { class: "num" }, fmt.pct(r.agreement_rate)),
      h("td", { class: "num" }, fmt.int(r.cancelled)),
      h("td", { class: "num" }, fmt.int(r.failed)),
      h("td", { class: "num" }, fmt.int(r.feedback_count)),
      h("td", {}, h("span", { class: `state state-${r.state.replace(/ /g, "-")}`,
        title: r.recent_failures.join("; ") }, r.state)),
      h("td", {}, r.tier || "–"),
      h("td", { class: "num" }, r.input_cost_per_mtok === null ? "–"
        : `${fmt.usd(r.input_cost_per_mtok)} / ${fmt.usd(r.output_cost_per_mtok)}`)));
  const unrated = data.unrated.map((m) =>
    h("tr", {}, h("td", {}, m.model), h("td", {}, h("span", { class: `state state-${m.state.replace(/ /g, "-")}` }, m.state)),
      h("td", {}, m.tier), h("td", { class: "num" },
        `${fmt.usd(m.input_cost_per_mtok)} / ${fmt.usd(m.output_cost_per_mtok)}`)));
  const history = data.history.filter((s) => s.points.some((p) => p[1] !== 1500))
    .map((s) => ({ name: s.model, points: s.points.map(([t, r]) => [Date.parse(t), r]) }));
  return [
    h("h1", {}, "Models"),
    h("section", {}, h("h2", {}, "ELO ranking"),
      rows.length ? table(["#", "model", "ELO", "calls", "answered", "agreement", "cancelled",
        "errors", "feedback", "state", "tier", "price in / out per Mtok"], rows,
        { id: "ranking" }) : h("p", { class: "muted" }, "No model has voted yet.")),
    h("section", {}, h("h2", {}, "Rating history"),
      lineChart(history, { yLabel: "ELO", format: (v) => fmt.num(v, 0) })),
    unrated.length ? h("section", {}, h("h2", {}, "In the registry, not rated yet"),
      table(["model", "state", "tier", "price in / out per Mtok"], unrated)) : null,
  ];
}

async function capabilities() {
  const data = await api("/ui/api/capabilities");
  if (!data.available) {
    return [h("h1", {}, "Capability map"), h("p", { class: "notice" }, data.note),
      h("p", { class: "muted" }, "Profile models on a validation set to fill it: ",
        h("code", {}, "freescaling profile --models a b c"))];
  }
  const map = data.map;
  const taskTypes = [...new Set(map.models.flatMap((m) => m.task_types.map((t) => t.task_type)))].sort();
  const heatRows = map.models.map((m) => {
    const by = Object.fromEntries(m.task_types.map((t) => [t.task_type, t]));
    return h("tr", {}, h("th", {}, m.model),
      h("td", { class: "cell", style: `background:${heat(m.accuracy)}` }, fmt.pct(m.accuracy)),
      taskTypes.map((t) => by[t]
        ? h("td", { class: "cell", style: `background:${heat(by[t].accuracy)}`,
          title: `${by[t].correct} of ${by[t].n}` }, fmt.pct(by[t].accuracy))
        : h("td", { class: "cell empty" }, "–")));
  });
  const clusterIds = [...new Set(map.models.flatMap((m) => m.clusters.map((c) => c.cluster_id)))].sort((a, b) => a - b);
  const clusterRows = map.models.map((m) => {
    const by = Object.fromEntries(m.clusters.map((c) => [c.cluster_id, c]));
    return h("tr", {}, h("th", {}, m.model), clusterIds.map((c) => {
      const cl = by[c];
      return cl && Number(cl.n) > 0
        ? h("td", { class: "cell", style: `background:${heat(1 - cl.psi)}`,
          title: `${cl.errors} wrong of ${cl.n}` }, fmt.pct(1 - cl.psi))
        : h("td", { class: "cell empty" }, "–");
    }));
  });
  const names = map.models.map((m) => m.model);
  const corr = {};
  for (const c of map.correlations) {
    corr[`${c.model_a}|${c.model_b}`] = c;
    corr[`${c.model_b}|${c.model_a}`] = c;
  }
  const corrRows = names.map((a) => h("tr", {}, h("th", {}, a), names.map((b) => {
    if (a === b) return h("td", { class: "cell empty" }, "");
    const c = corr[`${a}|${b}`];
    // Unset where undefined (no variance on the shared items): shown as n/a.
    const phi = c && c.correlation !== undefined ? c.correlation : null;
    return h("td", { class: "cell", style: `background:${heat(phi === null ? null : (phi + 1) / 2, true)}` },
      phi === null ? "n/a" : fmt.num(phi, 2));
  })));
  const panel = data.suggested;
  return [
    h("h1", {}, "Capability map"),
    h("p", { class: "muted" }, `Cluster set ${map.cluster_set_id}; routing estimator `,
      h("strong", {}, map.estimator && map.estimator.method ? map.estimator.method : "–")),
    h("section", {}, h("h2", {}, "Accuracy by model and task type"),
      table(["model", "overall", ...taskTypes], heatRows, { id: "heatmap", class: "matrix" })),
    clusterIds.length ? h("section", {}, h("h2", {}, "Accuracy by cluster (smoothed)"),
      table(["model", ...clusterIds.map((c) => `#${c}`)], clusterRows, { class: "matrix" })) : null,
    h("section", {}, h("h2", {}, "Pairwise error correlation"),
      h("p", { class: "muted" }, "Models that err together add little to one panel (phi; red is high)."),
      table(["", ...names], corrRows, { id: "correlation", class: "matrix" })),
    h("section", { id: "suggested" }, h("h2", {}, "Suggested panel"),
      panel.available
        ? [h("p", {}, h("strong", {}, panel.models.join(", ")),
          ` — right on ${fmt.pct(panel.panel_accuracy)} of ${panel.items} items, against ${fmt.pct(panel.best_single_accuracy)} for ${panel.best_single_model} alone; mean error correlation ${fmt.num(panel.mean_error_correlation, 2)}.`),
        h("p", { class: "muted" }, panel.reason)]
        : h("p", { class: "notice" }, panel.note)),
  ];
}

function callsQuery() {
  const c = state.calls;
  const params = new URLSearchParams();
  if (c.model) params.set("model", c.model);
  if (c.kind) params.set("kind", c.kind);
  const token = c.tokens[c.tokens.length - 1];
  if (token) params.set("page_token", token);
  params.set("page_size", "25");
  return params.toString();
}

async function calls(params) {
  if (params.has("model")) {
    state.calls = { tokens: [""], model: params.get("model"), kind: "" };
  }
  const data = await api(`/ui/api/calls?${callsQuery()}`);
  const c = state.calls;
  const rows = data.calls.map((x) =>
    h("tr", { "data-call": x.call_id },
      h("td", {}, h("a", { href: `#/call/${encodeURIComponent(x.call_id)}` }, fmt.time(x.created_at))),
      h("td", {}, x.kind), h("td", { class: "text" }, x.question),
      h("td", { class: "text" }, x.error ? h("span", { class: "state state-failing" }, x.error) : x.answer),
      h("td", {}, x.models.join(", ")),
      h("td", { class: "num" }, x.confidence === null ? "–" : fmt.pct(x.confidence)),
      h("td", { class: "num" }, fmt.usd(x.cost_usd)), h("td", { class: "num" }, fmt.ms(x.latency_ms))));
  const model = h("input", { name: "model", value: c.model, placeholder: "any model" });
  const kind = h("select", { name: "kind" }, ["", "scale", "generate", "chat"].map((k) =>
    h("option", { value: k, selected: k === c.kind }, k || "any kind")));
  const filter = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    state.calls = { tokens: [""], model: model.value.trim(), kind: kind.value };
    if (location.hash.includes("?")) location.hash = "#/calls"; else route();
  } }, h("label", {}, "Model ", model), h("label", {}, "Kind ", kind), h("button", { type: "submit" }, "Filter"));
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", id: "newer", disabled: c.tokens.length < 2,
      onclick: () => { c.tokens.pop(); route(); } }, "← Newer"),
    h("span", { class: "muted" }, `page ${c.tokens.length}`),
    h("button", { type: "button", id: "older", disabled: !data.next_page_token,
      onclick: () => { c.tokens.push(data.next_page_token); route(); } }, "Older →"));
  return [h("h1", {}, "Calls"), filter,
    rows.length ? table(["when", "kind", "question", "answer", "models", "confidence", "cost", "latency"], rows, { id: "calls" })
      : h("p", { class: "muted" }, "No calls match."), pager];
}

function feedbackPanel(rec, summary) {
  const result = h("div", { id: "feedback-result", class: "muted" });
  async function send(payload) {
    result.textContent = "Sending…";
    try {
      const reply = await api("/v1/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ call_id: rec.call_id, source: "dashboard", ...payload }),
      });
      const moved = reply.changes.map((c) => `${c.model} ${fmt.num(c.before, 1)} → ${fmt.num(c.after, 1)}`);
      result.className = "ok";
      result.textContent = reply.duplicate ? "Already recorded: nothing moved."
        : `Recorded (${reply.verdict}${reply.label ? `: ${reply.label}` : ""}). ${moved.length ? `ELO: ${moved.join(", ")}` : "No rating moved."}`;
    } catch (error) {
      if (error instanceof Unauthorized) { showKeyForm(error.message); return; }
      result.className = "notice";
      result.textContent = error.message;
    }
  }
  const label = h("input", { id: "override-label", list: "patterns", placeholder: "the right answer" });
  const patterns = h("datalist", { id: "patterns" }, summary.patterns.map((p) => h("option", { value: p })));
  const hasShadow = rec.shadow && rec.shadow.model;
  return h("section", { id: "feedback" }, h("h2", {}, "Feedback"),
    h("div", { class: "buttons" },
      h("button", { type: "button", id: "fb-confirm", title: "the answer was right", onclick: () => send({ reaction: "👍" }) }, "👍 right"),
      hasShadow ? h("button", { type: "button", id: "fb-panel", title: "the panel was right, the shadow wrong", onclick: () => send({ reaction: "🅰️" }) }, "🅰️ panel") : null,
      hasShadow ? h("button", { type: "button", id: "fb-shadow", title: "the shadow was right, the panel wrong", onclick: () => send({ reaction: "🅱️" }) }, "🅱️ shadow") : null),
    h("form", { class: "override", onsubmit: (e) => { e.preventDefault(); if (label.value.trim()) send({ verdict: "override", label: label.value.trim() }); } },
      h("label", {}, "Override with ", label, patterns), h("button", { type: "submit", id: "fb-override" }, "Override")),
    result);
}

function voteRow(v, role) {
  const usage = v.usage || {};
  const status = v.error ? `failed: ${v.error}` : v.cancelled ? "cancelled" : v.abstained ? "abstained" : "";
  // Records from before votes were weighed carry no weight and no reason: "–", not 0.
  const weighed = Boolean(v.weight || v.weight_reason);
  // The accuracy the vote was weighed at (the rule bounds it; the reason gives the profile's).
  const why = [v.accuracy ? `weighed at accuracy ${fmt.pct(v.accuracy)}` : "", v.weight_reason || ""]
    .filter(Boolean).join("; ");
  return h("tr", { "data-vote": v.model },
    h("td", {}, v.model, role === "shadow" ? " (shadow)" : "", v.substituted_for ? ` (for ${v.substituted_for})` : ""),
    h("td", {}, v.parsed_answer || h("span", { class: "muted" }, status || "–")),
    h("td", { class: "num weight" }, weighed ? fmt.num(v.weight, 2) : "–"),
    h("td", { class: "text weight-reason" }, why || h("span", { class: "muted" }, "–")),
    h("td", { class: "num" }, fmt.ms(1000 * (v.latency_s || 0))),
    h("td", { class: "num" }, fmt.usd(usage.cost_usd || 0)),
    h("td", { class: "text" }, h("details", {}, h("summary", {}, (v.raw_output || "").slice(0, 80) || "(no text)"),
      h("pre", {}, v.raw_output || ""), v.reasoning ? h("pre", { class: "muted" }, v.reasoning) : null)));
}

function cascadeSteps(steps) {
  // Each step of the cascade: the votes it counted, what it decided, why it went on or
  // stopped, and the evidence that chose each model it added.
  const outcome = (o) => String(o || "").replace("SCALE_OUTCOME_", "").toLowerCase() || "–";
  const rows = steps.map((st, i) => h("tr", { "data-step": i + 1 },
    h("td", { class: "num" }, i + 1),
    h("td", {}, (st.models || []).join(", ")),
    h("td", {}, st.answer || h("span", { class: "muted" }, "–")),
    h("td", {}, outcome(st.outcome)),
    h("td", { class: "num" }, fmt.pct(st.confidence || 0)),
    h("td", { class: "text" }, st.reason || "–"),
    h("td", { class: "text" }, (st.added || []).length
      ? h("ul", { class: "evidence" }, st.added.map((c) => h("li", { "data-added": c.model },
        h("b", {}, c.model), `: ${c.evidence || "–"} `,
        h("span", { class: "muted" }, `(expected accuracy ${fmt.pct(c.expected_accuracy || 0)}, `
          + `error correlation ${fmt.num(c.error_correlation || 0, 2)}, cost ${fmt.num(c.cost || 0, 3)})`))))
      : h("span", { class: "muted" }, "none: earlier votes carried"))));
  return table(["step", "votes counted", "answer", "outcome", "confidence", "why it went on or stopped",
    "models added, and the evidence"], rows, { id: "cascade" });
}

async function call(id) {
  const data = await api(`/ui/api/calls/${encodeURIComponent(id)}`);
  const rec = data.record, s = data.summary;
  const routing = rec.routing || {};
  const cls = routing.classification || {};
  const candidates = (routing.candidates || []).map((c) =>
    h("tr", {}, Object.entries(c).map(([k, v]) => h("td", { title: k }, typeof v === "number" ? fmt.num(v, 3) : String(v)))));
  const votes = [...(rec.votes || []).map((v) => voteRow(v, "panel")),
    ...(rec.shadow && rec.shadow.model ? [voteRow(rec.shadow, "shadow")] : [])];
  const outputs = (rec.outputs || []).map((o, i) => h("tr", {}, h("td", {}, o.model),
    h("td", { class: "num" }, (rec.judge_votes || [])[i] ?? 0), h("td", { class: "text" }, h("pre", {}, o.output || o.error || ""))));
  return [
    h("p", {}, h("a", { href: "#/calls" }, "← Calls")),
    h("h1", {}, `Call ${rec.call_id}`),
    h("div", { class: "cards" },
      card("Kind", s.kind), card("Answer", s.answer || (s.error ? "failed" : "–")),
      card("Confidence", s.confidence === null ? "–" : fmt.pct(s.confidence)),
      card("Cost", fmt.usd(s.cost_usd), `${fmt.int(s.tokens)} tokens`), card("Latency", fmt.ms(s.latency_ms)),
      card("Path", s.cascade_path || s.routing_method || "–")),
    h("section", {}, h("h2", {}, "Question"), h("pre", { class: "question" }, rec.question || ""),
      s.patterns.length ? h("p", { class: "muted" }, `Answers allowed: ${s.patterns.join(", ")}`) : null,
      s.error ? h("p", { class: "notice" }, s.error) : null),
    h("section", { id: "route" }, h("h2", {}, "Route"),
      h("dl", {}, h("dt", {}, "method"), h("dd", {}, s.routing_method || "–"),
        h("dt", {}, "model"), h("dd", {}, routing.model || rec.model || "–"),
        h("dt", {}, "why"), h("dd", {}, routing.reason || "–"),
        h("dt", {}, "cascade"), h("dd", {}, rec.cascade_path || "–"),
        h("dt", {}, "classification"), h("dd", {}, cls.task_type_1
          ? `${cls.task_type_1}, tier ${String(cls.tier || "").replace("TIER_", "").toLowerCase()}, complexity ${fmt.num(cls.prompt_complexity_score, 2)}${cls.cluster_id !== undefined ? `, cluster ${cls.cluster_id}` : ""}` : "–")),
      candidates.length ? table(Object.keys(routing.candidates[0]), candidates) : null),
    (rec.cascade_steps || []).length ? h("section", {}, h("h2", {}, "Cascade steps"),
      cascadeSteps(rec.cascade_steps)) : null,
    votes.length ? h("section", {}, h("h2", {}, "Votes"),
      table(["model", "parsed answer", "weight", "why this weight", "latency", "cost", "raw text"], votes,
        { id: "votes" })) : null,
    outputs.length ? h("section", {}, h("h2", {}, "Outputs"), table(["model", "judge votes", "output"], outputs)) : null,
    !votes.length && !outputs.length && rec.answer ? h("section", {}, h("h2", {}, "Answer"), h("pre", {}, rec.answer)) : null,
    feedbackPanel(rec, s),
  ];
}

function reliability(bins) {
  const size = 320, pad = 40;
  const p = (v) => pad + v * (size - 2 * pad);
  const q = (v) => size - pad - v * (size - 2 * pad);
  const svg = h("svg", { viewBox: `0 0 ${size} ${size}`, class: "chart square", role: "img",
    "aria-label": "reliability diagram" });
  svg.append(h("line", { x1: p(0), y1: q(0), x2: p(1), y2: q(1), class: "diagonal" }));
  for (const t of [0, 0.5, 1]) {
    svg.append(h("text", { x: p(t), y: size - pad + 16, class: "axis", "text-anchor": "middle" }, fmt.pct(t)),
      h("text", { x: pad - 6, y: q(t) + 4, class: "axis", "text-anchor": "end" }, fmt.pct(t)));
  }
  for (const b of bins) {
    if (!Number(b.calls)) continue;
    const w = (b.high - b.low) * (size - 2 * pad);
    svg.append(h("rect", { x: p(b.low) + 1, y: q(b.accuracy), width: Math.max(1, w - 2),
      height: q(0) - q(b.accuracy), class: "bin" }, h("title", {}, `${b.calls} calls: accuracy ${fmt.pct(b.accuracy)}, mean confidence ${fmt.pct(b.mean_confidence)}`)));
    svg.append(h("circle", { cx: p(b.mean_confidence), cy: q(b.accuracy), r: 3, class: "dot" }));
  }
  svg.append(h("text", { x: size / 2, y: size - 6, class: "axis", "text-anchor": "middle" }, "confidence"));
  return svg;
}

// A diagram over fewer calls than this says more about chance than about calibration.
const ENOUGH_FOR_CALIBRATION = 20;

async function calibration() {
  const data = await api(`/ui/api/calibration?range=${state.range}`);
  const n = Number(data.calls);
  const rows = data.bins.filter((b) => Number(b.calls)).map((b) => h("tr", {},
    h("td", {}, `${fmt.pct(b.low)}–${fmt.pct(b.high)}`), h("td", { class: "num" }, fmt.int(b.calls)),
    h("td", { class: "num" }, fmt.pct(b.mean_confidence)), h("td", { class: "num" }, fmt.pct(b.accuracy))));
  return [
    h("div", { class: "toolbar" }, h("h1", {}, "Calibration"),
      rangePicker(state.range, (r) => { state.range = r; route(); })),
    h("p", {}, `Confidence against accuracy over ${fmt.int(n)} voted calls with feedback. `,
      "On the diagonal, a call said to be 80% sure is right 80% of the time."),
    n < ENOUGH_FOR_CALIBRATION
      ? h("p", { class: "notice", id: "not-enough" }, `Not enough calls with feedback yet (${n} of the ${ENOUGH_FOR_CALIBRATION} a diagram needs): react to calls on their pages.`)
      : null,
    n ? h("div", { class: "columns" }, reliability(data.bins),
      h("div", {}, card("Expected calibration error", fmt.pct(data.expected_calibration_error)),
        table(["confidence", "calls", "mean confidence", "accuracy"], rows, { id: "bins" }))) : null,
  ];
}

// --- routing -------------------------------------------------------------------------------

const VIEWS = { overview, models, capabilities, calls, calibration };

async function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  const [path, query] = hash.split("?");
  const [name, ...rest] = path.split("/");
  const main = view();
  main.dataset.ready = "";
  try {
    let children;
    if (name === "call" && rest.length) {
      children = await call(decodeURIComponent(rest.join("/")));
    } else {
      children = await (VIEWS[name] || overview)(new URLSearchParams(query || ""));
    }
    document.title = `Free Scaling · ${name}`;
    setView(children, VIEWS[name] || name === "call" ? name : "overview");
  } catch (error) {
    if (error instanceof Unauthorized) {
      showKeyForm(`${error.message}. Type the API key to see the figures.`);
      return;
    }
    setView([h("p", { class: "notice" }, `Could not load this view: ${error.message}`)], name);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupKeyForm();
  window.addEventListener("hashchange", route);
  if (document.body.dataset.keyRequired === "true" && !storedKey()) {
    showKeyForm("This gateway asks for an API key: type it above to see the figures.");
    return;
  }
  route();
});
