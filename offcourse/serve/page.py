"""The race-control pages: plain HTML, SVG and JavaScript, served by the server itself (no CDN).

``/live``: the route with its checkpoints, every runner's last position (coloured by phase), and the
alert feed (who, where, how far off, since when, resolved or not, acknowledged or not, with an
*Ack* button), kept current by Server-Sent Events. ``/runner/DEVICE``: one runner's track over the
route, their excursions in red, and their events.

The pages hold no data: the script fetches the JSON API (:mod:`offcourse.serve.app`) with the
session cookie, and writes every name with ``textContent``, never as HTML. The Content Security
Policy allows scripts, styles and connections to this server only.
"""

from __future__ import annotations

import html

__all__ = ["CSS", "JS", "live_page", "runner_page"]

CSS = """
body{font:14px/1.35 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:6px 12px;background:#263238;color:#fff;display:flex;gap:16px;align-items:baseline}
header h1{font-size:16px;margin:0}#status{font-size:12px;opacity:.8}
main{display:flex;gap:8px;padding:8px;height:calc(100vh - 50px);box-sizing:border-box}
#mapbox{flex:3;background:#fff;border:1px solid #ccc;min-width:300px}
#side{flex:2;overflow:auto;min-width:320px}
svg{width:100%;height:100%}
.route{fill:none;stroke:#1565c0;stroke-width:3;vector-effect:non-scaling-stroke;stroke-linejoin:round}
.track{fill:none;stroke:#555;stroke-width:2;vector-effect:non-scaling-stroke}
.excursion{fill:none;stroke:#d32f2f;stroke-width:3;vector-effect:non-scaling-stroke}
.cp{fill:#fff;stroke:#1565c0;stroke-width:2;vector-effect:non-scaling-stroke}
.cpl{font-size:11px;fill:#1565c0}
.runner{stroke:#fff;stroke-width:1;vector-effect:non-scaling-stroke}
.on{fill:#2e7d32}.suspect{fill:#f9a825}.off{fill:#d32f2f}.waiting{fill:#9e9e9e}.finished{fill:#1565c0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #ddd;padding:3px 5px;text-align:left;font-size:13px}
tr.open td{background:#ffebee}tr.open.acked td{background:#fff8e1}
button{font-size:12px}a{color:#1565c0}header a{color:#fff}
"""

JS = r"""
'use strict';
const $ = (s) => document.querySelector(s);
const NS = 'http://www.w3.org/2000/svg';
const el = (tag, attrs, text) => {
  const e = tag.startsWith('svg:') ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const api = async (path, init) => {
  const r = await fetch(path, Object.assign({credentials: 'same-origin'}, init || {}));
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
};
const clock = (t) => t == null ? '' : new Date(t * 1000).toISOString().slice(11, 19);
const metres = (m) => m == null ? '' : Math.round(m) + ' m';
const km = (m) => m == null ? '' : (m / 1000).toFixed(1);
const who = (r) => [r.bib ? '#' + r.bib : '', r.name || r.device].filter(Boolean).join(' ');
let scale = 1;
function frame(svg, xy) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of xy) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, -y); y1 = Math.max(y1, -y); }
  const pad = Math.max(x1 - x0, y1 - y0, 100) * 0.05;
  svg.setAttribute('viewBox', [x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad].join(' '));
  scale = Math.max(x1 - x0, y1 - y0, 100) / 600;
}
const pts = (xy) => xy.map(([x, y]) => x + ',' + (-y)).join(' ');
function drawRoute(svg, route) {
  frame(svg, route.xy);
  svg.append(el('svg:polyline', {class: 'route', points: pts(route.xy)}));
  for (const c of route.checkpoints) {
    if (c.xy[0] == null) continue;
    const g = el('svg:g', {class: 'checkpoint'});
    g.append(el('svg:circle', {class: 'cp', cx: c.xy[0], cy: -c.xy[1], r: 4 * scale}));
    g.append(el('svg:text', {class: 'cpl', x: c.xy[0] + 6 * scale, y: -c.xy[1], 'font-size': 11 * scale}, c.name));
    svg.append(g);
  }
}
function status(text) { $('#status').textContent = text; }

// -- the live page ----------------------------------------------------------------------------------
const runners = new Map();
const alerts = new Map();
function drawRunner(r) {
  if (r.x == null) return;
  let c = document.getElementById('r-' + r.device);
  if (!c) {
    c = el('svg:circle', {id: 'r-' + r.device, 'data-device': r.device, r: 5 * scale});
    c.append(el('svg:title'));
    c.addEventListener('click', () => { location.href = '/runner/' + encodeURIComponent(r.device); });
    $('#runners').append(c);
  }
  c.setAttribute('cx', r.x); c.setAttribute('cy', -r.y);
  c.setAttribute('class', 'runner ' + r.phase);
  c.firstChild.textContent = who(r) + ' · km ' + km(r.route_m) + ' · ' + r.phase;
}
function alertRow(a) {
  const tr = el('tr', {'data-id': a.id, 'data-kind': a.kind});
  const d = a.data || {};
  const r = runners.get(a.device) || {};
  const now = a.resolved_s == null && r.phase === 'off' ? r.offset_m || 0 : 0;
  const off = a.kind === 'off_course' ? Math.round(Math.max(d.offset_m || 0, now)) + ' m' : '';
  const since = d.exit_epoch_s || d.start_epoch_s || a.epoch_s;
  const where = d.exit_route_m ?? d.from_route_m;
  const link = el('a', {href: '/runner/' + encodeURIComponent(a.device)}, who(a));
  const cells = [clock(a.epoch_s), null, a.kind.replace(/_/g, ' '), where == null ? '' : 'km ' + km(where), off,
                 clock(since), a.resolved_s == null ? 'open' : 'back ' + clock(a.resolved_s)];
  for (const c of cells) {
    const td = el('td', {}, c == null ? undefined : c);
    if (c == null) td.append(link);
    tr.append(td);
  }
  const td = el('td', {class: 'ack'});
  if (a.acked_s == null) {
    const b = el('button', {type: 'button'}, 'Ack');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try { await api('/api/alerts/' + a.id + '/ack', {method: 'POST', headers: {'X-Offcourse': '1'}}); }
      catch (e) { b.disabled = false; status(String(e)); }
    });
    td.append(b);
  } else td.textContent = 'acked ' + clock(a.acked_s);
  tr.append(td);
  tr.className = (a.resolved_s == null ? 'open' : 'resolved') + (a.acked_s == null ? '' : ' acked');
  return tr;
}
function showAlert(a) {
  alerts.set(a.id, a);
  const old = document.querySelector('#alerts tbody tr[data-id="' + a.id + '"]');
  const row = alertRow(a);
  if (old) old.replaceWith(row); else $('#alerts tbody').prepend(row);
  $('#count').textContent = [...alerts.values()].filter((x) => x.resolved_s == null).length + ' open';
}
async function live() {
  const svg = $('#map');
  drawRoute(svg, await api('/api/route'));
  svg.append(el('svg:g', {id: 'runners'}));
  const load = async () => {
    for (const r of await api('/api/runners')) { runners.set(r.device, r); drawRunner(r); }
    const list = await api('/api/alerts');
    list.reverse();
    for (const a of list) showAlert(a);
  };
  await load();
  const es = new EventSource('/api/stream');
  es.addEventListener('open', () => status('live · ' + runners.size + ' runners'));
  es.addEventListener('error', () => status('reconnecting…'));
  es.addEventListener('runners', (m) => {
    for (const r of JSON.parse(m.data)) { runners.set(r.device, r); drawRunner(r); }
    status('live · ' + runners.size + ' runners · ' + clock(Date.now() / 1000));
  });
  es.addEventListener('alert', (m) => { const a = JSON.parse(m.data); if (a.alert) showAlert(a); });
  es.addEventListener('resolved', (m) => {
    const x = JSON.parse(m.data);
    for (const a of alerts.values()) {
      if (a.device !== x.device || a.kind !== x.kind || a.resolved_s != null) continue;
      a.resolved_s = x.resolved_s;
      showAlert(a);
    }
  });
  es.addEventListener('ack', (m) => {
    const x = JSON.parse(m.data);
    const a = alerts.get(x.id);
    if (a) { a.acked_s = x.acked_s; showAlert(a); }
  });
}

// -- a runner's page --------------------------------------------------------------------------------
async function runner(device) {
  const svg = $('#map');
  const route = await api('/api/route');
  const t = await api('/api/runners/' + encodeURIComponent(device));
  drawRoute(svg, route);
  $('h1').textContent = who(t);
  if (t.xy.length) svg.append(el('svg:polyline', {class: 'track', points: pts(t.xy)}));
  const spans = [];
  const open = {};
  for (const e of [...t.events].reverse()) {
    const d = e.data || {};
    if (e.kind === 'off_course') open.off = d.exit_epoch_s;
    if (e.kind === 'back_on_course') { spans.push([d.exit_epoch_s, d.rejoin_epoch_s]); delete open.off; }
    const tr = el('tr', {'data-kind': e.kind});
    for (const c of [clock(e.epoch_s), e.kind.replace(/_/g, ' '), km(d.exit_route_m ?? d.from_route_m ?? d.route_m),
                     metres(d.max_offset_m ?? d.offset_m),
                     metres(d.extra_distance_m),
                     d.time_lost_s != null ? Math.round(d.time_lost_s) + ' s' : '']) tr.append(el('td', {}, c));
    $('#events tbody').append(tr);
  }
  if (open.off != null) spans.push([open.off, Infinity]);
  for (const [a, b] of spans) {
    const xy = t.xy.filter((_, i) => t.epoch_s[i] >= a && t.epoch_s[i] <= b);
    if (xy.length > 1) svg.append(el('svg:polyline', {class: 'excursion', points: pts(xy)}));
  }
  status(t.xy.length + ' fixes · ' + spans.length + ' excursions');
}
document.addEventListener('DOMContentLoaded', () => {
  const device = document.body.dataset.device;
  (device ? runner(device) : live()).catch((e) => status('error: ' + e.message));
});
"""

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/offcourse.css">
<script src="/static/offcourse.js" defer></script>
</head>"""


def live_page(title: str) -> str:
    """The race-control page (its data comes from the API)."""
    t = html.escape(title)
    return (
        _HEAD.format(title=t)
        + f"""<body><header><h1>{t}</h1><span id="status">loading…</span><span id="count"></span></header>
<main><div id="mapbox"><svg id="map" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet"></svg></div>
<div id="side"><table id="alerts"><thead><tr><th>time</th><th>runner</th><th>alert</th><th>where</th><th>off</th>
<th>since</th><th>state</th><th>ack</th></tr></thead><tbody></tbody></table></div></main></body></html>
"""
    )


def runner_page(device: str) -> str:
    """One runner's page: track, excursions, events."""
    d = html.escape(device, quote=True)
    return (
        _HEAD.format(title=f"offcourse: {d}")
        + f"""<body data-device="{d}"><header><h1>{d}</h1><span id="status">loading…</span>
<a href="/live">race control</a></header>
<main><div id="mapbox"><svg id="map" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet"></svg></div>
<div id="side"><table id="events"><thead><tr><th>time</th><th>event</th><th>km</th><th>off</th><th>extra</th>
<th>lost</th></tr></thead><tbody></tbody></table></div></main></body></html>
"""
    )
