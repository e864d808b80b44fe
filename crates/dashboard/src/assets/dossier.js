// Dossier's dashboard: progressive enhancement of server-rendered pages. Without it every page
// still reads; with it, times show in the viewer's zone, tables sort, filter and page, live
// panels update from the server's event stream, and forms talk to the JSON API.
"use strict";

function localiseTimes(root) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) { t.textContent = d.toLocaleString(); t.title = t.getAttribute("datetime"); }
  }
}

// What a cell sorts by: its data-sort, else the instant of its time (whatever the viewer's
// locale shows), else its text.
function cellValue(row, i) {
  const cell = row.cells[i];
  if (!cell) return "";
  const explicit = cell.dataset.sort ?? cell.querySelector("[data-sort]")?.dataset.sort;
  if (explicit !== undefined) return explicit;
  const time = cell.querySelector("time[datetime]");
  const instant = time ? Date.parse(time.getAttribute("datetime")) : NaN;
  return isNaN(instant) ? cell.textContent.trim() : String(instant);
}

// Severities sort by rank, not alphabetically.
const SEVERITY_RANK = { critical: 5, high: 4, medium: 3, moderate: 3, low: 2, negligible: 1, info: 1, none: 0, unknown: 0 };

function compare(a, b) {
  const x = Number(a), y = Number(b);
  if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) return x - y;
  const ra = SEVERITY_RANK[a.toLowerCase()], rb = SEVERITY_RANK[b.toLowerCase()];
  if (ra !== undefined && rb !== undefined) return ra - rb;
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
}

// A table with class "data": sortable headers, a filter box, pages of 25 rows.
function enhanceTable(table) {
  const body = table.tBodies[0];
  if (!body) return;
  const pageSize = Number(table.dataset.page || 25);
  let page = 0;
  const rows = () => Array.from(body.rows).filter((r) => !r.classList.contains("filtered") && !r.classList.contains("detail"));
  const pager = document.createElement("div");
  pager.className = "pager";
  const prev = Object.assign(document.createElement("button"), { type: "button", textContent: "Previous" });
  const next = Object.assign(document.createElement("button"), { type: "button", textContent: "Next" });
  const info = Object.assign(document.createElement("span"), { className: "count" });
  info.setAttribute("aria-live", "polite");
  pager.append(prev, next, info);
  // The server's words about rows it did not send (how many in all, how to see them, the
  // next page) join this one pager.
  const total = Number(table.dataset.total || 0);
  const extra = document.createElement("span");
  if (table.dataset.hint) extra.textContent = table.dataset.hint;
  if (table.dataset.next) {
    const link = Object.assign(document.createElement("a"), { href: table.dataset.next, textContent: "Next rows →" });
    extra.append(extra.textContent ? " " : "", link);
  }
  if (extra.childNodes.length) pager.append(extra);
  document.querySelector(`p.pager-static[data-for="${table.id}"]`)?.remove();
  table.after(pager);
  function show() {
    const visible = rows();
    const pages = Math.max(1, Math.ceil(visible.length / pageSize));
    page = Math.min(page, pages - 1);
    for (const r of body.rows) r.hidden = true;
    visible.forEach((r, i) => { r.hidden = Math.floor(i / pageSize) !== page; });
    // An opened entry stays under its row, and hides with it.
    for (const d of body.querySelectorAll("tr.detail")) d.hidden = d.previousElementSibling?.hidden ?? true;
    const all = body.rows.length - body.querySelectorAll("tr.detail").length;
    const of = total > all ? ` (the first ${all} of ${total})` : "";
    const filtered = visible.length < all ? ` matching the filter, of ${all}` : "";
    if (!visible.length) info.textContent = "no row matches the filter";
    else if (pages === 1) info.textContent = `${visible.length} ${visible.length === 1 ? "row" : "rows"}${filtered}${of}`;
    else info.textContent = `rows ${page * pageSize + 1}–${Math.min(visible.length, (page + 1) * pageSize)} of ${visible.length}${filtered}${of}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    // Page buttons only when there are pages to turn.
    prev.hidden = next.hidden = pages === 1;
  }
  prev.onclick = () => { page--; show(); };
  next.onclick = () => { page++; show(); };
  Array.from(table.tHead?.rows[0]?.cells || []).forEach((th, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = th.textContent;
    th.textContent = "";
    th.append(b);
    b.onclick = () => {
      collapse(body);
      const asc = th.getAttribute("aria-sort") !== "ascending";
      for (const other of th.parentNode.cells) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      const sorted = Array.from(body.rows).sort((r1, r2) => compare(cellValue(r1, i), cellValue(r2, i)) * (asc ? 1 : -1));
      body.append(...sorted);
      page = 0;
      show();
    };
  });
  const filter = document.querySelector(`input[data-filter="${table.id}"]`);
  if (filter) {
    filter.addEventListener("input", () => {
      collapse(body);
      const q = filter.value.toLowerCase();
      for (const r of body.rows) r.classList.toggle("filtered", q !== "" && !r.textContent.toLowerCase().includes(q));
      page = 0;
      show();
    });
  }
  table.refresh = show;
  show();
}

function collapse(body) {
  body.querySelectorAll("tr.detail").forEach((d) => d.remove());
  body.querySelectorAll("button.expand[aria-expanded=true]").forEach((b) => b.setAttribute("aria-expanded", "false"));
}

// An entry's "JSON" button opens, under its row, the event as stored and its place in the log.
async function toggleEntry(button) {
  const row = button.closest("tr");
  const next = row.nextElementSibling;
  if (next && next.classList.contains("detail")) {
    next.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const detail = document.createElement("tr");
  detail.className = "detail";
  const cell = detail.insertCell();
  cell.colSpan = row.cells.length;
  cell.textContent = "Loading…";
  row.after(detail);
  button.setAttribute("aria-expanded", "true");
  try {
    const r = await fetch(`/api/v1/events/${button.dataset.seq}?proof=true`);
    const e = await r.json();
    if (!r.ok) throw new Error(e.error || `HTTP ${r.status}`);
    const p = e.proof;
    cell.innerHTML = `<p>Leaf ${p.seq} of the tree of ${p.tree_size} entries under the signed checkpoint; leaf hash <code>${escapeHtml(p.leaf_hash)}</code>; inclusion proof of ${p.hashes.length} hashes. <a href="/ui/events?seq=${p.seq}">The entry's page</a> · <a href="/api/v1/events/${p.seq}?proof=true">as JSON</a></p><pre><code></code></pre>`;
    cell.querySelector("pre code").textContent = JSON.stringify(e.event, null, 2);
  } catch (err) {
    cell.innerHTML = `<p class="error"></p>`;
    cell.firstChild.textContent = err.message;
  }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// A live table: rows for events arriving on /api/v1/stream, newest first. `stopped`: the server
// said it was stopping, and this stream looks for it again.
function liveEvents(table, stopped = false) {
  const status = document.getElementById(table.dataset.status);
  const params = table.dataset.live || "";
  const source = new EventSource("/api/v1/stream" + params);
  const say = (text, live) => { if (status) { status.textContent = text; status.classList.toggle("off", !live); } };
  source.onopen = () => { stopped = false; say("● live", true); };
  // A stream cut short is retried by the browser; one it gave up (refused) is not.
  source.onerror = () => say(stopped ? "○ disconnected: the server stopped" : source.readyState === EventSource.CLOSED ? "○ disconnected" : "○ reconnecting", false);
  // The server says when it stops: the page shows it is disconnected until it is back.
  source.addEventListener("closing", () => {
    source.close();
    say("○ disconnected: the server stopped", false);
    setTimeout(() => liveEvents(table, true), 5000);
  });
  source.addEventListener("event", (m) => {
    const e = JSON.parse(m.data);
    const tr = document.createElement("tr");
    tr.innerHTML = `<td data-sort="${e.seq}"><a href="/ui/events?seq=${e.seq}">${e.seq}</a> <button type="button" class="expand" data-seq="${e.seq}" aria-expanded="false" aria-label="JSON of entry ${e.seq}">JSON</button></td>` +
      `<td><time datetime="${escapeHtml(e.timestamp)}">${escapeHtml(e.timestamp)}</time></td>` +
      `<td class="mono">${escapeHtml(e.type)}</td><td class="mono">${escapeHtml(e.subject)}</td><td class="mono">${escapeHtml(e.source)}</td>`;
    localiseTimes(tr);
    const body = table.tBodies[0];
    body.prepend(tr);
    const empty = document.getElementById(table.dataset.empty);
    if (empty) empty.hidden = true;
    table.hidden = false;
    const counter = document.getElementById("event-count");
    if (counter) counter.textContent = String(Number(counter.textContent.replace(/\D/g, "")) + 1);
    if (table.refresh) table.refresh();
    scheduleRefresh();
  });
}

// Panels marked data-refresh follow new events: at most every two seconds the page is asked
// for again and those panels replaced (the server renders it in about a millisecond).
let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer || !document.querySelector("[data-refresh]")) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    try {
      const r = await fetch(location.href);
      if (!r.ok) return;
      const fresh = new DOMParser().parseFromString(await r.text(), "text/html");
      for (const old of document.querySelectorAll("[data-refresh]")) {
        const replacement = fresh.getElementById(old.id);
        if (!replacement || old.contains(document.activeElement)) continue;
        old.innerHTML = replacement.innerHTML;
        localiseTimes(old);
        old.querySelectorAll("table.data").forEach(enhanceTable);
      }
    } catch (e) {
      // A refresh missed is made up by the next event.
    }
  }, 2000);
}

// Forms with data-api post their fields as JSON to the API and reload on success.
function apiForm(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = form.querySelector(".result");
    const body = {};
    for (const [k, v] of new FormData(form)) {
      if (v === "") continue;
      if (form.querySelector(`[name="${k}"]`)?.dataset.list !== undefined) {
        body[k] = v.split(",").map((x) => x.trim()).filter((x) => x);
      } else if (k === "expires") {
        body[k] = new Date(v).toISOString().replace(/\.\d{3}Z$/, "Z");
      } else {
        body[k] = v;
      }
    }
    try {
      const headers = { "Content-Type": "application/json" };
      const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
      if (csrf) headers["X-CSRF-Token"] = csrf;
      const r = await fetch(form.dataset.api, { method: "POST", headers, body: JSON.stringify(body) });
      const answer = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(answer.error || `HTTP ${r.status}`);
      location.reload();
    } catch (e) {
      if (out) { out.textContent = e.message; out.className = "result error"; out.focus(); }
    }
  });
}

// Forms with data-vex record a VEX statement: an OpenVEX document about the chosen product,
// sent as a document about it (so it is evidence like any other VEX), authored by who is
// signed in.
function vexForm(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = form.querySelector(".result");
    const field = (name) => (new FormData(form).get(name) || "").toString().trim();
    const product = field("product");
    const statement = { vulnerability: { name: form.dataset.vex }, products: [{ "@id": product }], status: field("status") };
    if (field("justification")) statement.justification = field("justification");
    if (field("comment")) statement[field("status") === "not_affected" ? "impact_statement" : "status_notes"] = field("comment");
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const id = `urn:dossier:vex:${form.dataset.vex}:${Date.now()}`;
    const doc = { "@context": "https://openvex.dev/ns/v0.2.0", "@id": id, author: form.dataset.author || "dossier", timestamp: now, version: 1, statements: [statement] };
    try {
      const headers = { "Content-Type": "application/vnd.openvex+json" };
      const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
      if (csrf) headers["X-CSRF-Token"] = csrf;
      const r = await fetch(`/api/v1/documents?artifact=${encodeURIComponent(product)}`, { method: "POST", headers, body: JSON.stringify(doc) });
      const answer = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(answer.error || `HTTP ${r.status}`);
      location.reload();
    } catch (e) {
      if (out) { out.textContent = e.message; out.className = "result error"; out.focus(); }
    }
  });
}

// The lineage picture: its buttons zoom it and centre it again, dragging moves it, the wheel
// with Ctrl zooms where it points, and opening a group redraws it in place (the link works
// without the script too, as a page of its own).
function lineagePicture(view) {
  const svg = view.querySelector("svg.lineage");
  if (!svg) return;
  const numbers = (s) => s.split(/[\s,]+/).map(Number);
  let box = numbers(svg.getAttribute("viewBox"));
  const show = (b) => { box = b; svg.setAttribute("viewBox", b.map((n) => Math.round(n * 10) / 10).join(" ")); };
  // A box of the element's proportions around `b`, so that the picture keeps its size.
  const framed = (b) => {
    const ratio = svg.clientWidth / Math.max(1, svg.clientHeight);
    let [x, y, w, h] = b;
    if (w / h < ratio) { const w2 = h * ratio; x -= (w2 - w) / 2; w = w2; } else { const h2 = w / ratio; y -= (h2 - h) / 2; h = h2; }
    return [x, y, w, h];
  };
  const zoom = (k, cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2) => {
    const w = Math.min(Math.max(box[2] * k, 120), 40000), f = w / box[2];
    show([cx - (cx - box[0]) * f, cy - (cy - box[1]) * f, box[2] * f, box[3] * f]);
  };
  // The first view: the server's, or on a narrow screen one that keeps the labels readable
  // (0.7 px a unit), centred on the artifact.
  const home = () => {
    if (svg.clientWidth >= 600 || !svg.dataset.focus) return numbers(svg.dataset.home);
    const [cx, cy] = numbers(svg.dataset.focus), w = svg.clientWidth / 0.7, h = svg.clientHeight / 0.7;
    return [cx - w / 2, cy - h / 2, w, h];
  };
  const actions = {
    in: () => zoom(1 / 1.25), out: () => zoom(1.25),
    home: () => show(home()), fit: () => show(framed(numbers(svg.dataset.full))),
  };
  if (svg.clientWidth < 600) show(home());
  const bar = view.querySelector(".zoom");
  if (bar) {
    bar.hidden = false;
    bar.querySelectorAll("button[data-zoom]").forEach((b) => { b.onclick = () => actions[b.dataset.zoom](); });
  }
  const point = (ev) => {
    const r = svg.getBoundingClientRect(), scale = Math.max(box[2] / r.width, box[3] / r.height);
    return [box[0] + box[2] / 2 + (ev.clientX - r.left - r.width / 2) * scale, box[1] + box[3] / 2 + (ev.clientY - r.top - r.height / 2) * scale, scale];
  };
  svg.addEventListener("wheel", (ev) => {
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    const [x, y] = point(ev);
    zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, x, y);
  }, { passive: false });
  let drag = null, moved = false;
  svg.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, box: box.slice(), scale: point(ev)[2] }; moved = false; });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!moved && Math.hypot(dx, dy) < 4) return;
    if (!moved) { moved = true; svg.setPointerCapture(ev.pointerId); svg.classList.add("dragging"); }
    show([drag.box[0] - dx * drag.scale, drag.box[1] - dy * drag.scale, drag.box[2], drag.box[3]]);
  });
  const end = () => { drag = null; svg.classList.remove("dragging"); };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  // A drag is not a click on the node it ends on.
  svg.addEventListener("click", (ev) => { if (moved) { ev.preventDefault(); ev.stopPropagation(); moved = false; } }, true);
  svg.addEventListener("click", async (ev) => {
    const group = ev.target.closest("a[data-expand]");
    if (!group || ev.defaultPrevented) return;
    ev.preventDefault();
    const href = group.getAttribute("href");
    try {
      const r = await fetch(href);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const fresh = new DOMParser().parseFromString(await r.text(), "text/html").getElementById("lineage-view");
      if (!fresh) throw new Error("no picture");
      view.replaceWith(fresh);
      history.replaceState(null, "", href);
      lineagePicture(fresh);
      fresh.querySelector("svg.lineage")?.focus?.();
    } catch (e) {
      location.href = href;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localiseTimes(document);
  document.querySelectorAll(".lineage-view").forEach(lineagePicture);
  document.querySelectorAll("table.data").forEach(enhanceTable);
  document.querySelectorAll("table[data-live]").forEach(liveEvents);
  document.querySelectorAll("form[data-api]").forEach(apiForm);
  document.querySelectorAll("form[data-vex]").forEach(vexForm);
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.expand");
    if (b) toggleEntry(b);
  });
});
