// hypermesh admin page: renders /v1/tree, follows /v1/events live. Plain JS, no build step.
// The mesh secret comes in the URL fragment (#token=…, never sent to the server, kept out of
// logs) or, as a fallback, in ?token=; it travels as `Authorization: Bearer` on every request,
// the event stream included (a fetch-read stream, since EventSource cannot send headers).
"use strict";

// Read by hand: URLSearchParams would turn a base64 "+" into a space.
const param = (text) => decodeURIComponent(/(?:^|[?#&])token=([^&]*)/.exec(text)?.[1] ?? "");
const token = param(location.hash) || param(location.search);
const auth = token ? { authorization: `Bearer ${token}` } : {};
/** Status kinds in stacking order (bottom first), with their colours. */
const KINDS = {
  Running: "#2e8b57",
  Initializing: "#d4a106",
  Stopping: "#e67e22",
  Stopped: "#7f8c8d",
  Timeout: "#8e44ad",
  Failed: "#c0392b",
  Other: "#b0b7bf",
};
const WINDOW_MS = 10 * 60_000; // the chart's longest span
const history = []; // [{ at, counts }]
const failures = new Map(); // identity → { identity, name, status, reason, stderrTail, at }
const collapsed = new Set(); // host ids the user folded
const expanded = new Set(); // proc ids the user unfolded
const recent = new Map(); // identity → { status, at }: events newer than the last tree
const hostAddrs = new Map(); // host identity → addr, remembered for when it turns unreachable
// A node's short name: a proc's name, a host's address, else the id without its address part.
const label = (identity, props) =>
  props?.name ?? props?.addr ?? hostAddrs.get(identity) ?? identity.replace(/^[^,]*,/, "");
let tree = null;
const openedAt = Date.now();

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === "on") node.addEventListener("click", v);
    else if (v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}
const kindOf = (status) => {
  const k = String(status ?? "").split(/[(:]/)[0];
  return k === "Unreachable" ? "Failed" : k in KINDS ? k : "Other";
};
const reasonOf = (status) => /^\w+\((.*)\)$/s.exec(String(status))?.[1] ?? "";
function mib(b) {
  if (b === undefined) return "";
  const m = b / 1048576;
  return m >= 1000 ? `${(m / 1024).toFixed(2)}G` : `${m.toFixed(m < 10 ? 1 : 0)}M`;
}
const pct = (c) => c === undefined ? "" : `${Number(c).toFixed(1)}%`;
function dur(ms) {
  if (ms === undefined) return "";
  const s = Math.floor(ms / 1000);
  if (s >= 86400) return `${Math.floor(s / 86400)}d${Math.floor(s / 3600) % 24}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h${Math.floor(s / 60) % 60}m`;
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}
const clock = (at) => new Date(at).toLocaleTimeString([], { hour12: false });

function noteFailure(source, identity, name, status, reason, stderrTail, at) {
  const old = failures.get(identity);
  if (old?.status === status) {
    if (stderrTail?.length && !old.stderrTail?.length) old.stderrTail = stderrTail;
    if (source === "event" && old.source !== "event") Object.assign(old, { source, at, reason });
    return;
  }
  failures.set(identity, { source, identity, name, status, reason, stderrTail, at });
}

function procRow(p) {
  const props = p.properties;
  const status = String(props.status ?? props.message ?? "Unknown");
  const kind = p.nodeType === "error" ? "Failed" : kindOf(status);
  const failed = kind === "Failed" || kind === "Timeout";
  const actors = p.children.filter((a) => a.nodeType === "actor");
  const open = expanded.has(p.identity);
  const toggle = () => {
    open ? expanded.delete(p.identity) : expanded.add(p.identity);
    render();
  };
  const cells = failed ? [el("span", { class: "reason", title: status }, reasonOf(status))] : [
    el("span", { class: "num", title: "pid" }, props.pid ?? ""),
    el("span", { class: "num", title: "uptime" }, dur(props.uptimeMs)),
    el("span", { class: "num", title: "resident memory" }, mib(props.rssBytes)),
    el("span", { class: "num", title: "CPU" }, pct(props.cpuPercent)),
    el("span", { class: "num", title: "actors" }, actors.length ? `${actors.length} act` : ""),
  ];
  const row = el(
    "div",
    { class: `row${failed ? " bad" : ""}`, on: toggle, title: p.identity },
    el("span", { class: `dot k-${kind}` }),
    el(
      "span",
      { class: "name" },
      props.name ?? p.identity,
      props.restarts ? ` ↻${props.restarts}` : "",
    ),
    el("span", { class: `badge k-${kind}`, title: status }, kind === "Other" ? status : kind),
    cells,
  );
  const detail = !open ? null : el(
    "div",
    { class: "detail" },
    el("div", { class: "id" }, p.identity, failed ? ` · ${status}` : ""),
    actors.length === 0 ? null : el(
      "table",
      {},
      el("tr", {}, ...["actor", "type", "status", "msgs", "mailbox"].map((h) => el("th", {}, h))),
      actors.map((a) =>
        el(
          "tr",
          {},
          el("td", {}, a.identity.split(",").pop()),
          el("td", {}, a.properties.type ?? ""),
          el("td", { class: `k-${kindOf(a.properties.status)}` }, a.properties.status ?? ""),
          el("td", { class: "num" }, a.properties.messagesProcessed ?? ""),
          el("td", { class: "num" }, a.properties.mailboxDepth ?? ""),
        )
      ),
    ),
    props.stderrTail?.length ? el("pre", {}, props.stderrTail.join("\n")) : null,
  );
  return el(
    "div",
    { class: `proc${open ? " open" : ""}`, "data-proc-id": p.identity, "data-status": kind },
    row,
    detail,
  );
}

function hostBox(h, counts) {
  const id = h.identity;
  if (h.nodeType === "error") {
    return el(
      "div",
      { class: "host bad", "data-host": id, "data-status": "Unreachable" },
      el(
        "div",
        { class: "hhead", title: id },
        el("b", {}, label(id)),
        ` unreachable: ${h.properties.message ?? ""}`,
      ),
    );
  }
  const procs = h.children.filter((p) => p.nodeType === "proc" || p.nodeType === "error");
  const mine = {};
  for (const p of procs) {
    const k = p.nodeType === "error" ? "Failed" : kindOf(p.properties.status);
    mine[k] = (mine[k] ?? 0) + 1;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  const fold = () => {
    collapsed.has(id) ? collapsed.delete(id) : collapsed.add(id);
    render();
  };
  const isOpen = !collapsed.has(id);
  return el(
    "div",
    { class: `host${mine.Failed || mine.Timeout ? " bad" : ""}`, "data-host": id },
    el(
      "div",
      { class: "hhead", on: fold, title: id },
      el("span", { class: "caret" }, isOpen ? "▾" : "▸"),
      el("b", {}, h.properties.addr ?? id),
      ` ${h.properties.state ?? ""} · ${procs.length} procs `,
      chips(mine),
    ),
    isOpen ? el("div", { class: "procs" }, procs.map(procRow)) : null,
  );
}

function chips(counts) {
  return Object.keys(KINDS).filter((k) => counts[k]).map((k) =>
    el("span", { class: `chip k-${k}` }, `${k} ${counts[k]}`)
  );
}

function render() {
  if (tree === null) return;
  const counts = {};
  $("fleet").replaceChildren(...tree.children.map((h) => hostBox(h, counts)));
  const down = tree.children.filter((h) => h.nodeType === "error").length;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  $("summary").replaceChildren(
    `${tree.children.length} hosts${down ? ` (${down} unreachable)` : ""} · ${total} procs `,
    ...chips(counts),
  );
  const last = history.at(-1);
  if (
    !last || Date.now() - last.at > 1000 || JSON.stringify(last.counts) !== JSON.stringify(counts)
  ) {
    history.push({ at: Date.now(), counts });
  }
  while (history.length > 2 && history[1].at < Date.now() - WINDOW_MS) history.shift();
  drawChart();
  drawFailures();
}

function drawChart() {
  const now = Date.now();
  // From the first sample (at least 30 s, at most WINDOW_MS) up to now.
  const span = Math.min(WINDOW_MS, Math.max(30_000, now - (history[0]?.at ?? now)));
  const start = now - span;
  const x = (at) => ((Math.max(at, start) - start) / span) * 300;
  const max = Math.max(
    1,
    ...history.map((h) => Object.values(h.counts).reduce((a, b) => a + b, 0)),
  );
  const rects = [];
  history.forEach((h, i) => {
    const x0 = x(h.at);
    const x1 = x(history[i + 1]?.at ?? now);
    if (x1 - x0 < 0.01) return;
    let y = 100;
    for (const k of Object.keys(KINDS)) {
      const n = h.counts[k] ?? 0;
      if (!n) continue;
      const height = (n / max) * 96;
      y -= height;
      rects.push(
        `<rect x="${x0.toFixed(2)}" y="${y.toFixed(2)}" width="${(x1 - x0 + 0.3).toFixed(2)}" ` +
          `height="${height.toFixed(2)}" fill="${KINDS[k]}"/>`,
      );
    }
  });
  $("chart").innerHTML = rects.join("");
  $("chartspan").textContent = span < 90_000
    ? `${Math.round(span / 1000)} s`
    : `${Math.round(span / 60_000)} min`;
  $("chartmax").textContent = `${max} procs`;
  $("legend").replaceChildren(
    ...Object.keys(KINDS).map((k) => el("span", {}, el("i", { class: `dot k-${k}` }), k)),
  );
}

function drawFailures() {
  const list = [...failures.values()].sort((a, b) => b.at - a.at).slice(0, 50);
  $("nfail").textContent = list.length ? `(${list.length})` : "";
  $("failures").replaceChildren(
    ...list.map((f) =>
      el(
        "li",
        { "data-identity": f.identity, "data-status": f.status, "data-source": f.source },
        el("div", {}, el("b", {}, f.name), ` ${clock(f.at)}`),
        el("div", { class: "reason" }, f.reason || f.status),
        f.stderrTail?.length ? el("pre", {}, f.stderrTail.slice(-8).join("\n")) : null,
      )
    ),
  );
  if (!list.length) $("failures").append(el("li", { class: "none" }, "none"));
}

/** Applies events newer than the tree (`fetchedAt`), and records the tree's failures. */
function absorb(t, fetchedAt) {
  for (const [id, e] of recent) if (e.at < fetchedAt - 30_000) recent.delete(id);
  const visit = (node, depth) => {
    const e = recent.get(node.identity);
    if (e && e.at > fetchedAt && node.nodeType === "proc") node.properties.status = e.status;
    const hostDown = node.nodeType === "error" && depth === 1;
    if (node.nodeType === "host") hostAddrs.set(node.identity, node.properties.addr);
    const status = hostDown ? "Unreachable" : String(node.properties.status ?? "");
    const kind = kindOf(status);
    if ((node.nodeType === "proc" || hostDown) && (kind === "Failed" || kind === "Timeout")) {
      const p = node.properties;
      const reason = hostDown ? p.message : reasonOf(status);
      noteFailure(
        "tree",
        node.identity,
        label(node.identity, p),
        status,
        reason,
        p.stderrTail,
        Date.now(),
      );
    }
    for (const c of node.children) visit(c, depth + 1);
  };
  visit(t, 0);
}

let inflight = null;
let again = false;
async function refresh() {
  if (inflight) {
    again = true;
    return inflight;
  }
  const startedAt = Date.now();
  inflight = (async () => {
    try {
      const res = await fetch("v1/tree", { headers: auth, cache: "no-store" });
      if (res.status === 401) return unauthorized();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const t = await res.json();
      absorb(t, startedAt);
      tree = t;
      render();
    } catch (error) {
      $("summary").textContent = `cannot reach the admin server: ${error.message ?? error}`;
    }
  })();
  await inflight;
  inflight = null;
  if (again) {
    again = false;
    refresh();
  }
}

function unauthorized() {
  $("summary").textContent = "401: open this page as …/#token=<mesh secret>";
  $("live").classList.remove("on");
}

/** Applies one `/v1/events` event to the shown tree at once; a refetch brings the figures. */
function onEvent(type, e) {
  if (type === "reset") return refresh();
  // Live events outrank an older tree; the replayed backlog (from before the page opened) does not.
  if (e.at >= openedAt - 2000) recent.set(e.identity, { status: e.status, at: Date.now() });
  if (type === "failure") {
    const node = findNode(e.identity);
    const name = label(e.identity, node?.properties);
    noteFailure("event", e.identity, name, e.status, e.reason ?? "", e.stderrTail, e.at);
  }
  const node = findNode(e.identity);
  if (node && e.nodeType === "proc") node.properties.status = e.status;
  if (node && e.nodeType === "error") {
    Object.assign(node, { nodeType: "error", properties: { message: e.reason }, children: [] });
  }
  render();
  clearTimeout(onEvent.timer);
  onEvent.timer = setTimeout(refresh, 150);
}
function findNode(identity) {
  const stack = tree ? [tree] : [];
  while (stack.length) {
    const n = stack.pop();
    if (n.identity === identity) return n;
    stack.push(...n.children);
  }
  return null;
}

let lastEventId = 0;
let retryMs = 1000;
function dispatch(block) {
  let type = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const c = line.indexOf(":");
    const field = c < 0 ? line : line.slice(0, c);
    const value = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data += data ? `\n${value}` : value;
    else if (field === "id") lastEventId = Number(value) || lastEventId;
    else if (field === "retry") retryMs = Number(value) || retryMs;
  }
  if (!data) return;
  document.body.dataset.events = String(Number(document.body.dataset.events ?? 0) + 1);
  onEvent(type, JSON.parse(data));
}

/** Reads `/v1/events` forever, resuming with `Last-Event-ID` (from 0) after a drop. */
async function follow() {
  for (;;) {
    try {
      // From 0 at first: the server replays what it retained, so failures from before the page
      // opened come with their time, reason and stderr tail.
      const headers = {
        ...auth,
        accept: "text/event-stream",
        "last-event-id": String(lastEventId),
      };
      const res = await fetch("v1/events", { headers, cache: "no-store" });
      if (res.status === 401) return unauthorized();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      $("live").classList.add("on");
      refresh();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // dropped: retry below
    }
    $("live").classList.remove("on");
    await new Promise((r) => setTimeout(r, retryMs));
  }
}

refresh();
follow();
setInterval(refresh, 5000);
setInterval(() => tree && drawChart(), 2000);
