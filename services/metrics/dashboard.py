"""The dashboard page metrics serves at ``/dashboard`` (a Python module, not a data file: the image
installs the package with no package data but the migrations').

A single self-contained page — no external script, font or stylesheet (the venue's network may have
no internet) — that holds no figure of its own: its script asks ``/kpis`` with the token given after
``#token=`` in the page's address (a URL fragment never reaches a server or its logs) and draws the
answers as inline SVG. So the page itself needs no token, and every figure on it is one of /kpis.
"""

from __future__ import annotations

import base64
import hashlib
import re

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>meetdesk · KPIs</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2433; }
  header { background: #1d2433; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header span { opacity: .75; }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
  .tile { border: 1px solid #e1e4ea; border-radius: 4px; padding: 8px 10px; }
  .tile .label { font-size: 12px; color: #5a6275; }
  .tile .value { font-size: 22px; font-weight: 600; }
  .note { color: #5a6275; font-size: 12px; }
  #error { color: #b00020; font-weight: 600; }
  svg { max-width: 100%; height: auto; display: block; }
  svg text { font: 11px system-ui, sans-serif; fill: #1d2433; }
  svg .bar { fill: #3b6fd8; } svg .bar2 { fill: #e08a2c; } svg .axis { stroke: #c9ced8; }
</style>
</head>
<body>
<header><h1>meetdesk · KPIs</h1><span id="as-of"></span></header>
<p id="error" hidden></p>
<main>
  <section class="wide"><h2>Today at a glance</h2><div class="tiles" id="today"></div></section>
  <section class="wide"><h2>Trends over the last 12 weeks</h2><div id="trend"></div></section>
  <section><h2>SLA compliance per week (formal reply, resolution)</h2><div id="sla"></div></section>
  <section><h2>Satisfaction by agent this month (100-point score)</h2><div id="agents"></div></section>
  <section><h2>Complaints by category this month</h2><div id="categories"></div></section>
  <section><h2>Complaints by root cause this month</h2><div id="causes"></div>
    <p class="note">The cause the investigation found, as of the complaint's latest step;
      (unknown): none found yet.</p></section>
  <section><h2>Complaints by service step this month</h2><div id="steps"></div></section>
</main>
<script>
"use strict";
// The page holds no figures of its own: it asks /kpis with the token given after '#token=' in its
// address (a fragment never reaches a server or its logs) and draws what /kpis answers. Every figure
// drawn carries the /kpis query it came from (data-query), its group (data-key) and its path
// (data-path), and the value itself (data-value): what the browser test compares with /kpis.
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const SVG = "http://www.w3.org/2000/svg";

async function kpis(query) {
  const resp = await fetch("kpis?" + query, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
  const hint = resp.status === 401 ? ": open this page as dashboard#token=<MEETDESK_API_TOKEN>" : "";
  if (!resp.ok) throw new Error("/kpis answered " + resp.status + hint);
  return resp.json();
}

function pick(figures, path) {
  return path.split(".").reduce((v, k) => (v === null || v === undefined ? null : v[k]), figures);
}

function show(value, kind) {
  if (value === null || value === undefined) return "–";
  if (kind === "rate") return (value * 100).toFixed(1) + " %";
  if (kind === "seconds") return value < 120 ? value + " s" : (value / 60).toFixed(1) + " min";
  return String(value);
}

// key: the group's key in /kpis' answer (null: the group of unknown value); undefined: the totals
function mark(el, query, key, path, value) {
  el.dataset.query = query; el.dataset.key = key === undefined ? "" : JSON.stringify(key);
  el.dataset.path = path; el.dataset.value = JSON.stringify(value === undefined ? null : value);
  el.classList.add("kpi");
  return el;
}

function tile(parent, label, query, figures, path, kind) {
  const value = pick(figures, path);
  const div = document.createElement("div"); div.className = "tile";
  const l = document.createElement("div"); l.className = "label"; l.textContent = label;
  const v = document.createElement("div"); v.className = "value"; v.textContent = show(value, kind);
  div.append(l, mark(v, query, undefined, path, value));
  parent.append(div);
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// bars: one row per group, one or two series (paths), values scaled to the largest (or to max)
function bars(parent, query, groups, series, kind, max) {
  const rowH = 18 * series.length + 6, width = 560, left = 130, right = 70;
  const values = groups.flatMap(g => series.map(s => pick(g, s.path) || 0));
  const top = max || Math.max(1, ...values);
  const height = Math.max(rowH * groups.length, 20) + 4;
  const svg = el("svg", { width: width, height: height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  if (!groups.length) svg.append(el("text", { x: 0, y: 14 }, "no figures in this period"));
  groups.forEach((g, i) => {
    const y = i * rowH + 2;
    const label = g.key === null ? "(unknown)" : Array.isArray(g.key) ? g.key.join(" · ") : String(g.key);
    svg.append(el("text", { x: 0, y: y + 13 }, label));
    series.forEach((s, j) => {
      const value = pick(g, s.path);
      const w = Math.max(0, ((value || 0) / top) * (width - left - right));
      svg.append(el("rect", { class: j ? "bar2" : "bar", x: left, y: y + j * 18, width: w.toFixed(1), height: 14 }));
      const text = el("text", { x: left + w + 4, y: y + j * 18 + 11 }, show(value, kind));
      svg.append(mark(text, query, g.key, s.path, value));
    });
  });
  parent.append(svg);
}

function legend(parent, series) {
  const p = document.createElement("p"); p.className = "note";
  p.textContent = series.map((s, j) => (j ? "orange: " : "blue: ") + s.label).join(" · ");
  parent.append(p);
}

function addDays(iso, days) {
  const d = new Date(iso + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

async function main() {
  const qToday = "period=today&group_by=day";
  const today = await kpis(qToday);
  document.getElementById("as-of").textContent = `${today.to} (${today.timezone}), as of ${today.as_of}`;
  const t = document.getElementById("today"), f = today.totals;
  tile(t, "Inquiries", qToday, f, "inquiries");
  tile(t, "Complaints registered", qToday, f, "complaints.registered");
  tile(t, "Complaint rate", qToday, f, "complaint_rate", "rate");
  tile(t, "First response, median", qToday, f, "first_response.median_seconds", "seconds");
  tile(t, "Formal-reply SLA compliance", qToday, f, "sla.acknowledge.compliance", "rate");
  tile(t, "Resolution SLA compliance", qToday, f, "sla.resolve.compliance", "rate");
  tile(t, "SLA breaches", qToday, f, "sla_breaches.total");
  tile(t, "Missed-call rate", qToday, f, "phone.missed_call_rate", "rate");
  tile(t, "Bookings requested", qToday, f, "bookings.requested");
  tile(t, "Satisfaction (100)", qToday, f, "satisfaction.average");
  tile(t, "Grade", qToday, f, "satisfaction.grade");
  tile(t, "等級", qToday, f, "satisfaction.grade_zh");

  const qWeeks = `from=${addDays(today.to, -83)}&to=${today.to}&group_by=week`;
  const qAgents = "period=month&group_by=agent", qCategories = "period=month&group_by=category";
  const qCauses = "period=month&group_by=cause", qSteps = "period=month&group_by=service_step";
  const [weeks, agents, categories, causes, steps] = await Promise.all(
    [kpis(qWeeks), kpis(qAgents), kpis(qCategories), kpis(qCauses), kpis(qSteps)]);
  const trend = [
    { label: "inquiries", path: "inquiries" },
    { label: "complaints registered", path: "complaints.registered" },
  ];
  bars(document.getElementById("trend"), qWeeks, weeks.groups, trend);
  legend(document.getElementById("trend"), trend);
  const sla = [
    { label: "formal reply", path: "sla.acknowledge.compliance" },
    { label: "resolution", path: "sla.resolve.compliance" },
  ];
  bars(document.getElementById("sla"), qWeeks, weeks.groups, sla, "rate", 1);
  legend(document.getElementById("sla"), sla);
  bars(document.getElementById("agents"), qAgents, agents.groups.filter(g => g.satisfaction.responses),
       [{ label: "score", path: "satisfaction.average" }], undefined, 100);
  const registered = [{ label: "registered", path: "complaints.registered" }];
  for (const [id, query, report] of [["categories", qCategories, categories], ["causes", qCauses, causes],
                                     ["steps", qSteps, steps]]) {
    bars(document.getElementById(id), query, report.groups.filter(g => g.complaints.registered), registered);
  }
  document.body.dataset.ready = "true";
}

main().catch(exc => {
  const e = document.getElementById("error"); e.hidden = false; e.textContent = String(exc.message || exc);
  document.body.dataset.ready = "error";
});
</script>
</body>
</html>
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


_SCRIPT = re.search(r"<script>(.*?)</script>", PAGE, re.S)
_STYLE = re.search(r"<style>(.*?)</style>", PAGE, re.S)
assert _SCRIPT and _STYLE
# only this page's own script and style run; it may talk to its own origin (/kpis) and nothing else
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src {_sha256(_SCRIPT.group(1))}; style-src {_sha256(_STYLE.group(1))}; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
