// hypermesh admin page: renders /v1/tree, refreshes on /v1/events, no build step.
"use strict";
const token = new URLSearchParams(location.search).get("token") ?? "";
const auth = token ? { Authorization: `Bearer ${token}` } : {};
const COLORS = { Running: "#2e8b57", Initializing: "#c99a06", Stopping: "#c99a06", Failed: "#c0392b", Stopped: "#7f8c8d", Other: "#95a5a6" };
const history = []; // [{ at, counts }], the last five minutes
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
const kind = (status) => String(status ?? "Other").split("(")[0];
const mib = (b) => `${(b / 1048576).toFixed(0)}M`;
function dur(ms) {
  const s = Math.floor(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor(s / 60) % 60}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

function renderProc(p) {
  const props = p.properties;
  const k = p.nodeType === "error" ? "error" : kind(props.status);
  const m = props.pid === undefined ? "" : `pid ${props.pid} · up ${dur(props.uptimeMs)} · ${mib(props.rssBytes)} · ${props.cpuPercent}% cpu`;
  const actors = p.children.filter((a) => a.nodeType === "actor" && a.properties.type !== "client");
  const card = el("div", { class: `proc s-${k}`, "data-proc-id": p.identity, "data-status": k, title: p.identity },
    el("div", { class: "name" }, `${props.name ?? p.identity} `, el("span", { class: `badge s-${k}` }, String(props.status ?? props.message ?? k))),
    el("div", { class: "m" }, m || (props.restarts ? `restarted ${props.restarts}×` : "")),
    el("div", { class: "actors" }, actors.map((a) => `${a.properties.type ?? "actor"}:${a.properties.messagesProcessed ?? "-"}`).join(" ")));
  return card;
}

function render(tree) {
  const fleet = $("fleet");
  const counts = {};
  const hosts = tree.children.map((h) => {
    const procs = h.children.filter((p) => p.nodeType === "proc" || p.nodeType === "error");
    for (const p of procs) {
      const k = kind(p.properties.status);
      const key = k in COLORS ? k : "Other";
      counts[key] = (counts[key] ?? 0) + 1;
    }
    const title = h.nodeType === "error" ? `${h.identity}: unreachable (${h.properties.message})` : `${h.properties.addr} · ${h.properties.state} · ${procs.length} procs`;
    return el("div", { class: `host${h.nodeType === "error" ? " s-error" : ""}`, "data-host": h.identity },
      el("h3", {}, title), el("div", { class: "procs" }, ...procs.map(renderProc)));
  });
  fleet.replaceChildren(...hosts);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  $("summary").textContent = `${tree.children.length} hosts · ${total} procs · ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(" · ")}`;
  history.push({ at: Date.now(), counts });
  while (history.length && history[0].at < Date.now() - 300_000) history.shift();
  drawChart();
}

function drawChart() {
  const svg = $("chart");
  const keys = Object.keys(COLORS);
  const max = Math.max(1, ...history.map((h) => Object.values(h.counts).reduce((a, b) => a + b, 0)));
  const w = 300 / Math.max(history.length, 1);
  const bars = [];
  history.forEach((h, i) => {
    let y = 120;
    for (const k of keys) {
      const n = h.counts[k] ?? 0;
      if (!n) continue;
      const height = (n / max) * 116;
      y -= height;
      bars.push(`<rect x="${(i * w).toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(w - 0.5, 0.5).toFixed(2)}" height="${height.toFixed(2)}" fill="${COLORS[k]}"/>`);
    }
  });
  svg.innerHTML = bars.join("");
  $("legend").innerHTML = keys.map((k) => `<span style="color:${COLORS[k]}">■ ${k}</span>`).join("");
}

function addFailure(event) {
  if (document.querySelector(`[data-failure-id="${event.id}"]`)) return;
  const item = el("li", { "data-failure-id": String(event.id), "data-identity": event.identity },
    el("b", {}, event.identity), ` ${event.status}`, el("br"),
    `${new Date(event.at).toLocaleTimeString()} · ${event.reason ?? ""}`);
  if (event.stderrTail?.length) item.append(el("pre", {}, event.stderrTail.join("\n")));
  $("failures").prepend(item);
}

let pending;
async function refresh() {
  try {
    const res = await fetch("v1/tree", { headers: auth });
    if (res.status === 401) { $("summary").textContent = "401: open this page with ?token=<mesh secret>"; return; }
    render(await res.json());
  } catch (error) {
    $("summary").textContent = `cannot reach the admin: ${error}`;
  }
}
function soon() {
  clearTimeout(pending);
  pending = setTimeout(refresh, 100);
}

const events = new EventSource(`v1/events${token ? `?token=${encodeURIComponent(token)}` : ""}`);
events.onopen = () => $("live").classList.add("on");
events.onerror = () => $("live").classList.remove("on");
events.addEventListener("status", soon);
events.addEventListener("reset", soon);
events.addEventListener("failure", (e) => { addFailure(JSON.parse(e.data)); soon(); });
refresh();
setInterval(refresh, 5000);
