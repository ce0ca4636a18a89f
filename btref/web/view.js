// The swarm view: replays event records (btref.web.events) on a timeline.
// A static page reads them from the <script id="events"> tag; a live page (LIVE) also
// receives them as server-sent events from /events. State at time T is the result of
// applying every record with t <= T in order; going back in time replays from the start.
"use strict";

const COLORS = { empty: [236, 236, 236], have: [34, 150, 110], seed: [52, 96, 160], failed: [200, 40, 40] };
const LABEL_W = 110, CHOKE_W = 170, MAX_CELL = 40;

const view = {
  head: null, records: [], applied: 0, time: 0, playing: false, following: LIVE,
  peers: [], byName: new Map(), columns: 0, total: 0, milestones: [], chart: null, dirty: true,
};

function el(id) { return document.getElementById(id); }

// -- the model: what every peer holds at the current time --------------------------------

function reset() {
  const head = view.head;
  view.columns = head.pieces;
  view.total = head.pieces_total || head.pieces;
  view.applied = 0;
  view.byName = new Map();
  view.ports = new Map();  // a real log names peers by address: listening port -> client name
  view.peers = head.peers.map((p, row) => {
    const peer = { name: p.name, seed: !!p.seed, row, have: new Uint8Array(view.columns), held: 0,
                   present: false, complete: false, unchoked: [], banned: [], failedAt: -1 };
    view.byName.set(p.name, peer);
    return peer;
  });
  view.pieceHeld = new Uint16Array(view.total);  // copies held by peers that started empty
  view.outside = 0;                              // pieces with at least one such copy
  view.leechers = view.peers.filter(p => !p.seed).length;
  view.seeds = view.peers.length - view.leechers;  // no seed row (a real log): no "outside the seed"
  view.bans = [];
  view.completed = 0;
  view.outsideAt = null; view.allCompleteAt = null; view.ticker = [];
  paintAll();
}

function peerFor(name) {
  let peer = view.byName.get(name);
  if (peer === undefined && name !== undefined) {  // a live log names a client the header did not
    peer = { name, seed: false, row: view.peers.length, have: new Uint8Array(view.columns), held: 0,
             present: true, complete: false, unchoked: [], banned: [], failedAt: -1 };
    view.peers.push(peer); view.byName.set(name, peer); view.leechers += 1;
    view.head.peers.push({ name, seed: false });
    resize(); paintAll();
  }
  return peer;
}

function note(text, kind) {
  view.ticker.push({ text, kind });
  if (view.ticker.length > 8) view.ticker.shift();
}

function apply(r) {
  const peer = peerFor(r.client);
  if (peer === undefined) return;
  const t = r.t.toFixed(1);
  switch (r.event) {
    case "arrive": peer.present = true; break;
    case "listening": peer.present = true; view.ports.set(String(r.port), peer.name); break;
    case "leave": peer.present = false; note(`${t} s: ${peer.name} leaves`); break;
    case "piece_verified": {
      peer.present = true;
      const col = r.index;
      if (col >= 0 && col < view.columns && peer.have[col] < 255) { peer.have[col] += 1; peer.held += 1; paint(peer, col); }
      const piece = r.piece === undefined ? r.index : r.piece;
      if (!peer.seed && piece >= 0 && piece < view.total) {
        if (view.pieceHeld[piece] === 0) view.outside += 1;
        view.pieceHeld[piece] += 1;
        if (view.outside === view.total && view.outsideAt === null && view.seeds > 0) {
          view.outsideAt = r.t;
          note(`${t} s: every piece exists outside the seed`, "milestone");
        }
      }
      break;
    }
    case "piece_failed": peer.failedAt = r.t; note(`${t} s: ${peer.name}: piece ${r.index} failed its hash check`, "failed"); break;
    case "complete":
      if (!peer.complete && !peer.seed) {
        peer.complete = true; view.completed += 1;
        note(`${t} s: ${peer.name} complete`);
        if (view.completed === view.leechers && view.allCompleteAt === null) view.allCompleteAt = r.t;
      }
      break;
    case "rechoke": peer.unchoked = (r.unchoked || []).slice(); break;
    case "unchoke": for (const u of r.unchoked || []) if (!peer.unchoked.includes(u)) peer.unchoked.push(u); break;
    case "peer_banned":
      peer.banned.push(String(r.peer));
      view.bans.push(`${peer.name} bans ${nameOf(r.peer)} at ${t} s`);
      note(`${t} s: ${peer.name} bans ${nameOf(r.peer)} (${r.reason})`, "ban"); break;
    default: break;
  }
}

function seek(time) {
  if (time < view.time) reset();
  view.time = time;
  while (view.applied < view.records.length && view.records[view.applied].t <= time) {
    apply(view.records[view.applied]);
    view.applied += 1;
  }
  view.dirty = true;
}

function duration() {
  return view.records.length ? view.records[view.records.length - 1].t : 0;
}

// -- the piece map: one pixel per cell in an offscreen image, scaled up -------------------

let image = null, imageCtx = null, pixels = null;

function resize() {
  const rows = Math.max(view.peers.length, 1), cols = Math.max(view.columns, 1);
  // Cells as wide as the box allows (fractions of a pixel are fine: the image is scaled).
  const room = Math.max(300, el("mapbox").clientWidth - LABEL_W - CHOKE_W - 4);
  const cell = Math.max(1, Math.min(MAX_CELL, room / cols));
  const rowH = Math.max(3, Math.min(MAX_CELL, Math.floor(640 / rows), cell * 2));
  view.cell = cell; view.rowH = rowH;
  const map = el("map");
  map.width = Math.ceil(LABEL_W + cols * cell + CHOKE_W);
  map.height = rows * rowH + 24;
  image = document.createElement("canvas");
  image.width = cols; image.height = rows;
  imageCtx = image.getContext("2d");
  pixels = imageCtx.createImageData(cols, rows);
}

function paint(peer, col) {
  const base = (peer.row * view.columns + col) * 4;
  const c = peer.have[col] ? (peer.seed ? COLORS.seed : COLORS.have) : COLORS.empty;
  pixels.data[base] = c[0]; pixels.data[base + 1] = c[1]; pixels.data[base + 2] = c[2]; pixels.data[base + 3] = 255;
}

function paintAll() {
  if (pixels === null || pixels.width !== Math.max(view.columns, 1) || pixels.height !== Math.max(view.peers.length, 1)) resize();
  for (const peer of view.peers) {
    if (peer.seed) peer.have.fill(1);
    for (let col = 0; col < view.columns; col++) paint(peer, col);
  }
}

function nameOf(text) {
  // A simulator names peers; a real log gives addresses like "('127.0.0.1', 6881)".
  if (view.byName.has(text)) return text;
  const port = /[:,]\s*(\d+)\)?\s*$/.exec(String(text));
  return port === null ? String(text) : (view.ports.get(port[1]) || `:${port[1]}`);
}

function cellX(col) { return LABEL_W + col * view.cell + view.cell / 2; }
function rowY(row) { return 20 + row * view.rowH + view.rowH / 2; }

function drawMap() {
  const map = el("map"), g = map.getContext("2d");
  const cols = view.columns, cell = view.cell, rowH = view.rowH, small = cell >= 14 && rowH >= 14;
  g.clearRect(0, 0, map.width, map.height);
  imageCtx.putImageData(pixels, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(image, LABEL_W, 20, cols * cell, view.peers.length * rowH);
  g.font = `${Math.min(13, Math.max(8, rowH - 2))}px system-ui, sans-serif`;
  g.textBaseline = "middle";
  const labelEvery = Math.ceil(10 / rowH);
  for (const peer of view.peers) {
    const y = rowY(peer.row);
    if (peer.row % labelEvery === 0 || small) {
      g.fillStyle = peer.present || peer.seed ? (peer.banned.length ? "#b00" : "#222") : "#aaa";
      const mark = peer.complete ? " \u2713" : "";
      g.fillText(peer.name + (peer.seed ? " (seed)" : "") + mark, 4, y);
      g.fillStyle = "#555";
      const who = peer.unchoked.length > 6 ? `unchokes ${peer.unchoked.length}` : (peer.unchoked.length ? `unchokes ${peer.unchoked.map(nameOf).join(" ")}` : "");
      g.fillText(who, LABEL_W + cols * cell + 6, y);
    }
    if (small) {  // a few pieces: grid and piece numbers, readable from the back of the room
      for (let col = 0; col < cols; col++) {
        g.strokeStyle = "#fff"; g.strokeRect(LABEL_W + col * cell, 20 + peer.row * rowH, cell, rowH);
        g.fillStyle = peer.have[col] ? "#fff" : "#999";
        g.textAlign = "center"; g.fillText(String(col), cellX(col), y); g.textAlign = "left";
      }
    }
    if (peer.failedAt >= 0 && view.time - peer.failedAt < trail()) {
      g.strokeStyle = "#c00"; g.lineWidth = 2;
      g.strokeRect(LABEL_W, 20 + peer.row * rowH, cols * cell, rowH); g.lineWidth = 1;
    }
  }
  if (small || cols <= 50) {
    g.fillStyle = "#666"; g.textAlign = "center";
    for (let col = 0; col < cols; col++) g.fillText(String(col), cellX(col), 10);
    g.textAlign = "left";
  }
  drawTransfers(g);
}

function trail() { return Math.max(1, duration() / 60); }

function drawTransfers(g) {
  // The pieces that crossed a connection in the last trail() seconds, newest drawn last.
  const since = view.time - trail();
  let drawn = 0;
  g.lineWidth = view.cell >= 14 ? 2.5 : 1;
  for (let i = view.applied - 1; i >= 0 && drawn < 400; i--) {
    const r = view.records[i];
    if (r.t < since) break;
    if (r.event !== "transfer") continue;
    const from = view.byName.get(r.peer), to = view.byName.get(r.client);
    if (from === undefined || to === undefined) continue;
    const alpha = 0.25 + 0.75 * (r.t - since) / trail();
    g.strokeStyle = `rgba(230, 120, 0, ${alpha.toFixed(2)})`;
    const x = cellX(r.index), y0 = rowY(from.row), y1 = rowY(to.row);
    g.beginPath(); g.moveTo(x - view.cell / 3, y0);
    g.quadraticCurveTo(x - view.cell, (y0 + y1) / 2, x, y1); g.stroke();
    g.beginPath(); g.arc(x, y1, Math.max(2, view.cell / 6), 0, 2 * Math.PI);
    g.fillStyle = g.strokeStyle; g.fill();
    drawn += 1;
  }
  g.lineWidth = 1;
}

// -- the charts: one pass over the records, sampled on a grid of times ---------------------

function computeCharts() {
  const steps = 200, end = Math.max(duration(), 1e-6), seeds = view.head.peers.filter(p => p.seed).map(p => p.name);
  const held = new Map(), copies = new Uint32Array(view.total);
  const rarest = [], cdf = [];
  let next = 0, done = 0;
  const seedRows = new Set(seeds);
  const present = new Set(seeds);  // a seed counts from the start (a real log has no "arrive")
  const sample = time => {
    let min = Infinity;
    for (let i = 0; i < view.total; i++) if (copies[i] < min) min = copies[i];
    rarest.push([time, (min === Infinity ? 0 : min) + [...present].filter(n => seedRows.has(n)).length]);
    cdf.push([time, view.leechers ? done / view.leechers : 0]);
  };
  for (const r of view.records) {
    while (r.t > next * end / steps && next <= steps) { sample(next * end / steps); next += 1; }
    if (r.event === "arrive") present.add(r.client);
    else if (r.event === "leave") {
      present.delete(r.client);
      for (const p of held.get(r.client) || []) copies[p] -= 1;
      held.delete(r.client);
    } else if (r.event === "piece_verified" && !seedRows.has(r.client)) {
      const p = r.piece === undefined ? r.index : r.piece;
      if (p >= 0 && p < view.total) {
        if (!held.has(r.client)) held.set(r.client, []);
        held.get(r.client).push(p); copies[p] += 1;
      }
    } else if (r.event === "complete" && !seedRows.has(r.client)) done += 1;
  }
  while (next <= steps) { sample(next * end / steps); next += 1; }
  view.chart = { rarest, cdf, end };
}

function drawChart(id, series, top, label) {
  const c = el(id), g = c.getContext("2d"), w = c.width, h = c.height, pad = 18;
  g.clearRect(0, 0, w, h);
  if (!series.length) return;
  const end = view.chart.end, yMax = Math.max(top, 1);
  const X = t => pad + (w - pad - 4) * t / end, Y = v => h - pad - (h - pad - 6) * v / yMax;
  g.strokeStyle = "#bbb"; g.beginPath(); g.moveTo(pad, 4); g.lineTo(pad, h - pad); g.lineTo(w - 4, h - pad); g.stroke();
  g.fillStyle = "#666"; g.font = "10px system-ui, sans-serif";
  g.fillText(label(yMax), 2, 10); g.fillText("0", 6, h - pad);
  g.fillText(`${end.toFixed(1)} s`, w - 40, h - 4);
  g.strokeStyle = "#2a7"; g.lineWidth = 1.5; g.beginPath();
  series.forEach(([t, v], i) => (i ? g.lineTo(X(t), Y(v)) : g.moveTo(X(t), Y(v))));
  g.stroke(); g.lineWidth = 1;
  g.strokeStyle = "#e70"; g.beginPath(); g.moveTo(X(Math.min(view.time, end)), 4); g.lineTo(X(Math.min(view.time, end)), h - pad); g.stroke();
}

// -- the page ------------------------------------------------------------------------------

function render() {
  if (view.head === null) return;
  drawMap();
  const end = duration();
  el("clock").textContent = `t = ${view.time.toFixed(1)} s / ${end.toFixed(1)} s`;
  if (!view.dragging) el("slider").value = end ? Math.round(1000 * Math.min(view.time, end) / end) : 0;
  let status = `${view.completed}/${view.leechers} peers complete`;
  if (view.leechers && view.completed === view.leechers) status = "all peers complete";
  el("status").textContent = LIVE ? `live: ${status} (${view.records.length} events)` : status;
  const ms = [];
  if (view.outsideAt !== null) ms.push(`every piece exists outside the seed at ${view.outsideAt.toFixed(1)} s: the seed could leave`);
  if (view.allCompleteAt !== null) ms.push(`all peers complete at ${view.allCompleteAt.toFixed(1)} s`);
  ms.push(...view.bans.slice(0, 10));
  el("milestones").replaceChildren(...ms.map(text => Object.assign(document.createElement("li"), { textContent: text })));
  el("ticker").replaceChildren(...view.ticker.slice().reverse().map(n =>
    Object.assign(document.createElement("li"), { textContent: n.text, className: n.kind || "" })));
  if (view.chart === null) computeCharts();
  const top = Math.max(1, ...view.chart.rarest.map(p => p[1]));
  drawChart("rarest", view.chart.rarest, top, m => String(m));
  drawChart("cdf", view.chart.cdf, 1, () => "100%");
}

function load(records) {
  view.head = records[0];
  view.records = records.slice(1);
  el("title").textContent = view.head.title || "btref swarm";
  el("sampled").textContent = view.head.sampled ? `Sampled to stay smooth: ${view.head.sampled}.` : "";
  resize(); reset(); view.time = -1; seek(0); view.chart = null;
}

let last = null;
const frameTimes = [];  // milliseconds of work per drawn frame (records applied + drawing), the last 600
window.btrefFrames = frameTimes;  // read by the tests and by bench/screenshots.py

function frame(now) {
  const start = performance.now();
  if (view.playing && last !== null) {
    const rate = Number(el("speed").value) * Math.max(0.5, duration() / 20);
    const end = duration();
    seek(Math.min(end, view.time + rate * (now - last) / 1000));
    if (view.time >= end) { view.playing = false; el("play").textContent = "play"; }
  }
  last = now;
  if (view.dirty) {
    render();
    view.dirty = false;
    frameTimes.push(performance.now() - start);
    if (frameTimes.length > 600) frameTimes.shift();
  }
  requestAnimationFrame(frame);
}

function follow() {
  if (view.following) seek(duration());
  view.chart = null; view.dirty = true;
}

function start() {
  const embedded = JSON.parse(el("events").textContent);
  if (embedded.length) load(embedded);
  el("play").addEventListener("click", () => {
    if (view.head === null) return;
    if (!view.playing && view.time >= duration()) seek(0);
    view.playing = !view.playing; view.following = false;
    el("play").textContent = view.playing ? "pause" : "play";
  });
  el("end").addEventListener("click", () => { if (view.head !== null) { view.following = LIVE; seek(duration()); } });
  el("slider").addEventListener("input", e => {
    view.following = false; view.playing = false; el("play").textContent = "play";
    seek(duration() * Number(e.target.value) / 1000);
  });
  el("speed").addEventListener("change", () => { view.dirty = true; });
  if (LIVE) {
    const source = new EventSource("events");
    let pending = [];
    source.onmessage = e => {
      const r = JSON.parse(e.data);
      if (r.event === "swarm") { load([r, ...pending]); pending = []; follow(); return; }
      if (view.head === null) { pending.push(r); return; }
      view.records.push(r);
      follow();
    };
    source.onerror = () => { source.close(); el("status").textContent += " (the run has ended)"; };
  }
  requestAnimationFrame(frame);
}

start();
