// mlcrond status page: polls the JSON API (docs/api.md) and draws today's tiers, the recent
// runs with their logs, and the models with a chart of the metric per version. Plain DOM and
// inline SVG, no framework: every text from the API goes through textContent, never innerHTML.
'use strict';

(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const TOKEN_KEY = 'mlcron.api.token';
  const params = new URLSearchParams(window.location.search);
  // ?refresh=N seconds between polls; 0 turns polling off. Default 5 s.
  const refreshParam = Number(params.get('refresh'));
  const refreshMs = params.has('refresh') && Number.isFinite(refreshParam) && refreshParam >= 0
    ? refreshParam * 1000 : 5000;

  const state = { selectedRun: null, lastGood: null, timer: null };

  // ---- DOM helpers: build nodes with text, so API strings are never parsed as markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const c of children) node.append(c instanceof Node ? c : String(c ?? ''));
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else node.setAttribute(k, String(v));
    }
  }
  function tooltip(node, text) {
    node.append(svg('title', {}, text));
    return node;
  }
  const $ = (id) => document.getElementById(id);

  // ---- Times. The API writes ISO-8601 in the config's zone ("2026-11-23T09:50:00+01:00"),
  // so the wall-clock date and time of day are read straight from the string: the browser's
  // own zone never enters.
  const dateOf = (iso) => (iso ? iso.slice(0, 10) : null);
  function minutesOf(iso) {
    const m = /T(\d\d):(\d\d):(\d\d(?:\.\d+)?)/.exec(iso || '');
    return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) / 60 : null;
  }
  function shortTime(iso, today) {
    if (!iso) return '—';
    const t = iso.slice(11, 19);
    return dateOf(iso) === today ? t : `${dateOf(iso)} ${t.slice(0, 5)}`;
  }
  function seconds(s) {
    if (s === null || s === undefined) return '—';
    if (Math.abs(s) < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    if (Math.abs(s) < 3600) return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} m`;
  }
  const hhmm = (min) => {
    const m = Math.round(min);
    return `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };

  // ---- API access. GETs on loopback need no token; a 401 asks the operator for one, kept in
  // sessionStorage and sent as a Bearer header, never in the URL.
  class AuthError extends Error {}
  async function api(path, asText) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(path, { headers, cache: 'no-store' });
    if (res.status === 401) throw new AuthError(`${path}: the daemon wants its API token`);
    if (!res.ok) {
      let msg = res.statusText;
      try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
      const err = new Error(`${path}: HTTP ${res.status}: ${msg}`);
      err.status = res.status;
      throw err;
    }
    return asText ? res.text() : res.json();
  }

  // ---- Timeline: one row per job, grouped by tier, over the part of today that has events.
  function renderTimeline(status, runs) {
    const today = dateOf(status.now);
    $('today').textContent = `${today} (${status.tz})`;
    const nowMin = minutesOf(status.now);
    const todays = runs.filter((r) => dateOf(r.scheduled) === today || dateOf(r.started) === today);
    const rows = [];
    for (const tier of status.tiers) {
      rows.push({ tier });
      for (const job of tier.jobs) {
        rows.push({ job, runs: todays.filter((r) => r.job === job.name) });
      }
    }
    // Window: every event of today plus now, padded by 30 min, at least 2 h wide.
    const times = [nowMin];
    for (const r of todays) {
      for (const t of [r.scheduled, r.started, r.ended]) if (dateOf(t) === today) times.push(minutesOf(t));
    }
    for (const t of status.tiers) for (const j of t.jobs) if (dateOf(j.next) === today) times.push(minutesOf(j.next));
    const known = times.filter((t) => typeof t === 'number' && Number.isFinite(t));
    if (known.length === 0) known.push(0, 1440);
    let lo = Math.max(0, Math.floor((Math.min(...known) - 30) / 60) * 60);
    let hi = Math.min(1440, Math.ceil((Math.max(...known) + 30) / 60) * 60);
    if (hi - lo < 120) { hi = Math.min(1440, lo + 120); lo = Math.max(0, hi - 120); }

    const labelW = 170, width = Math.max(720, $('timeline').clientWidth || 960), plotW = width - labelW - 16, rowH = 22, top = 24;
    const height = top + rows.length * rowH + 8;
    const x = (min) => labelW + ((Math.min(Math.max(min, lo), hi) - lo) / (hi - lo)) * plotW;
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
      'aria-label': `today's tiers from ${hhmm(lo)} to ${hhmm(hi)}` });
    const axis = svg('g', { class: 'axis' });
    const step = hi - lo <= 180 ? 15 : hi - lo <= 720 ? 60 : 180;
    for (let m = lo; m <= hi; m += step) {
      axis.append(svg('line', { class: 'grid', x1: x(m), x2: x(m), y1: top - 4, y2: height - 4 }));
      if (m % 60 === 0 || step < 60) axis.append(svg('text', { x: x(m), y: 14, 'text-anchor': 'middle' }, hhmm(m)));
    }
    root.append(axis);
    rows.forEach((row, i) => {
      const y = top + i * rowH + rowH / 2;
      if (row.tier) {
        root.append(svg('rect', { class: 'tier-band', x: 0, y: y - rowH / 2, width, height: rowH }));
        const number = row.tier.tier !== undefined && row.tier.tier !== null ? `${row.tier.tier} · ` : '';
        root.append(svg('text', { class: 'tier-label', x: 4, y: y + 4, 'data-tier': row.tier.name },
          `tier ${number}${row.tier.name}`));
        return;
      }
      const job = row.job;
      root.append(svg('text', { class: `job-label${job.paused ? ' paused' : ''}`, x: 16, y: y + 4,
        'data-job': job.name }, job.paused ? `${job.name} (paused)` : job.name));
      for (const r of row.runs) drawRun(root, r, x, y, today, nowMin);
      if (dateOf(job.next) === today) {
        const nx = x(minutesOf(job.next));
        root.append(tooltip(svg('path', { class: 'mark-next', d: diamond(nx, y, 5) }),
          `${job.name}: next at ${job.next.slice(11, 19)}${job.schedule ? ` (${job.schedule})` : ''}`));
      }
    });
    if (nowMin >= lo && nowMin <= hi) {
      root.append(tooltip(svg('line', { class: 'now-line', x1: x(nowMin), x2: x(nowMin), y1: top - 4, y2: height - 4 }),
        `now ${status.now.slice(11, 19)}`));
    }
    $('timeline').replaceChildren(root);
  }
  const diamond = (cx, cy, r) => `M${cx} ${cy - r} L${cx + r} ${cy} L${cx} ${cy + r} L${cx - r} ${cy} Z`;

  function drawRun(root, r, x, y, today, nowMin) {
    const cls = `status-${r.status}`;
    const sched = dateOf(r.scheduled) === today ? minutesOf(r.scheduled) : null;
    const start = r.started && dateOf(r.started) === today ? minutesOf(r.started) : null;
    const end = r.ended ? (dateOf(r.ended) === today ? minutesOf(r.ended) : 1440) : (r.status === 'running' ? nowMin : null);
    const what = `${r.job} run ${r.id} (${r.trigger}, attempt ${r.attempt}): ${r.status}`;
    const detail = [`scheduled ${shortTime(r.scheduled, today)}`];
    if (r.started) detail.push(`started ${shortTime(r.started, today)}`);
    if (r.lateness_s !== null && r.lateness_s !== undefined) detail.push(`late ${seconds(r.lateness_s)}`);
    if (r.duration_s !== null && r.duration_s !== undefined) detail.push(`took ${seconds(r.duration_s)}`);
    if (r.reason) detail.push(r.reason);
    const tip = `${what}\n${detail.join(', ')}`;
    const g = tooltip(svg('g', { class: 'run', 'data-run': r.id, 'data-status': r.status }), tip);
    if (start !== null && end !== null && x(end) - x(start) >= 1) {
      g.append(svg('rect', { class: `run-bar ${cls}`, x: x(start), y: y - 4, width: x(end) - x(start), height: 8 }));
    }
    if (sched !== null && start !== null && x(start) - x(sched) >= 2) {
      g.append(svg('line', { class: 'late-line', x1: x(sched), x2: x(start), y1: y, y2: y }));
    }
    if (sched !== null) g.append(svg('line', { class: 'mark-scheduled', x1: x(sched), x2: x(sched), y1: y - 8, y2: y + 8 }));
    if (start !== null) g.append(svg('circle', { class: cls, cx: x(start), cy: y, r: 5 }));
    if (start !== null && r.lateness_s >= 60) {
      g.append(svg('text', { class: 'late-label', x: x(start) + 8, y: y + 4 }, `+${seconds(r.lateness_s)}`));
    }
    else if (sched !== null) g.append(svg('circle', { class: cls, cx: x(sched), cy: y, r: 3 }));
    g.addEventListener('click', () => showLog(r.id));
    root.append(g);
  }

  // ---- Recent runs, newest first; a click shows the end of that run's log.
  function renderRuns(runs, today) {
    const body = $('runs-table').tBodies[0];
    const rows = runs.slice(0, 30).map((r) => {
      const tr = el('tr', { 'data-run': r.id, 'data-status': r.status },
        el('td', { class: 'num' }, r.id),
        el('td', {}, r.job),
        el('td', {}, r.trigger),
        el('td', { title: r.scheduled }, shortTime(r.scheduled, today)),
        el('td', { title: r.started || '' }, shortTime(r.started, today)),
        el('td', { class: 'num' }, seconds(r.duration_s)),
        el('td', { class: 'num' }, seconds(r.lateness_s)),
        el('td', {}, el('span', { class: `badge status-${r.status}` }, r.status)),
        el('td', { class: 'num' }, r.signal ? `sig ${r.signal}` : (r.exit_code ?? '—')),
        el('td', { class: 'reason' }, r.reason || ''));
      if (r.id === state.selectedRun) tr.classList.add('selected');
      tr.addEventListener('click', () => showLog(r.id));
      return tr;
    });
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 10, class: 'empty' }, 'no runs yet')));
    body.replaceChildren(...rows);
  }

  async function showLog(id) {
    state.selectedRun = id;
    for (const tr of $('runs-table').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.run === String(id));
    $('log-panel').hidden = false;
    $('log-run').textContent = String(id);
    const pre = $('log-text');
    try {
      const text = await api(`/runs/${encodeURIComponent(id)}/log?tail_bytes=65536`, true);
      if (state.selectedRun !== id) return;
      pre.textContent = text.length ? text : '(the log is empty)';
      pre.dataset.run = String(id);
      pre.scrollTop = pre.scrollHeight;
    } catch (e) {
      if (state.selectedRun !== id) return;
      pre.textContent = e.status === 404 ? `run ${id} has no captured log` : e.message;
      pre.dataset.run = String(id);
      if (e instanceof AuthError) askToken();
    }
  }

  // ---- Models: the production version of each (model, segment) and its metric per version.
  function renderModels(production, versionsByKey, today) {
    const body = $('models-table').tBodies[0];
    const rows = production.map((m) => el('tr', { 'data-model': m.model, 'data-segment': m.segment ?? '' },
      el('td', {}, m.model),
      el('td', {}, m.segment ?? '—'),
      el('td', { class: 'version' }, `v${m.version}`),
      el('td', {}, m.kind),
      el('td', {}, el('span', { class: `badge status-${m.status}` }, m.status)),
      el('td', {}, m.metric ?? '—'),
      el('td', { class: 'num' }, m.value === null || m.value === undefined ? '—' : m.value.toFixed(4)),
      el('td', { class: 'num' }, m.trees ?? '—'),
      el('td', { class: 'num' }, m.rows ?? '—'),
      el('td', { title: m.created_at }, shortTime(m.created_at, today))));
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 10, class: 'empty' }, 'no production model yet')));
    body.replaceChildren(...rows);
    $('model-charts').replaceChildren(...production.map((m) => metricChart(m, versionsByKey.get(modelKey(m)) || [])));
  }
  const modelKey = (m) => `${m.model}\u0000${m.segment ?? ''}`;

  function metricChart(prod, versions) {
    const title = `${prod.model}${prod.segment ? ` [${prod.segment}]` : ''}: ${prod.metric ?? 'metric'} per version`;
    const box = el('div', { class: 'chart', 'data-model': prod.model, 'data-segment': prod.segment ?? '' }, el('h3', {}, title));
    const pts = versions.filter((v) => typeof v.value === 'number').sort((a, b) => a.version - b.version);
    if (pts.length === 0) {
      box.append(el('div', { class: 'empty' }, 'no version has a stored metric'));
      return box;
    }
    const w = 340, h = 150, l = 60, r = 14, t = 16, b = 26;
    let vmin = Math.min(...pts.map((p) => p.value)), vmax = Math.max(...pts.map((p) => p.value));
    const pad = (vmax - vmin) * 0.1 || Math.abs(vmax) * 0.05 || 0.01;
    vmin -= pad; vmax += pad;
    const x = (i) => (pts.length === 1 ? l + (w - l - r) / 2 : l + (i / (pts.length - 1)) * (w - l - r));
    const y = (v) => t + (1 - (v - vmin) / (vmax - vmin)) * (h - t - b);
    const root = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: 'img', 'aria-label': title });
    const axis = svg('g', { class: 'axis' });
    for (const v of [vmin + pad, vmax - pad]) {
      axis.append(svg('line', { class: 'grid', x1: l, x2: w - r, y1: y(v), y2: y(v) }));
      axis.append(svg('text', { x: l - 10, y: y(v) + 4, 'text-anchor': 'end' }, v.toPrecision(4)));
    }
    // Every version under its point while they fit, else the first and the last.
    const every = Math.max(1, Math.ceil(pts.length / 8));
    pts.forEach((p, i) => {
      if (i % every === 0 || i === pts.length - 1) {
        axis.append(svg('text', { x: x(i), y: h - 6, 'text-anchor': 'middle' }, `v${p.version}`));
      }
    });
    root.append(axis);
    root.append(svg('polyline', { class: 'metric-line', points: pts.map((p, i) => `${x(i)},${y(p.value)}`).join(' ') }));
    pts.forEach((p, i) => {
      const cx = x(i), cy = y(p.value);
      const rejected = p.status === 'rejected' ? ' status-rejected-pt' : '';
      const mark = p.kind === 'full'
        ? svg('rect', { class: `kind-full${rejected}`, x: cx - 4, y: cy - 4, width: 8, height: 8 })
        : svg('circle', { class: `kind-incremental${rejected}`, cx, cy, r: 4 });
      const g = tooltip(svg('g', { class: 'version', 'data-version': p.version, 'data-kind': p.kind }),
        `v${p.version} ${p.kind}, ${p.status}: ${p.metric ?? 'metric'} ${p.value.toFixed(4)}` +
        `${p.trees != null ? `, ${p.trees} trees` : ''}${p.rows != null ? ` on ${p.rows} rows` : ''}` +
        `${p.reason ? `\n${p.reason}` : ''}`);
      g.append(mark);
      if (p.version === prod.version) {
        g.append(svg('circle', { class: 'prod-ring', cx, cy, r: 8 }));
        g.append(svg('text', { class: 'prod-label', x: cx, y: cy - 11, 'text-anchor': 'middle' }, `v${p.version}`));
      }
      root.append(g);
    });
    box.append(root);
    return box;
  }

  // ---- The poll loop: one refresh at a time, then wait refreshMs. Old data stays on screen
  // when the daemon is unreachable, under a banner that says since when.
  async function refresh() {
    try {
      const [status, runsDoc, prodDoc] = await Promise.all([
        api('/status'), api('/runs?limit=200'), api('/models/production')]);
      const versions = await Promise.all(prodDoc.models.map((m) => {
        const q = new URLSearchParams({ model: m.model, limit: '50' });
        if (m.segment !== null && m.segment !== undefined) q.set('segment', m.segment);
        return api(`/models/versions?${q}`).then((d) => [modelKey(m), d.versions]);
      }));
      const today = dateOf(status.now);
      const queued = Array.isArray(status.waiting) ? status.waiting.length : status.waiting;
      const waiting = typeof queued === 'number' && queued > 0 ? ` · ${queued} waiting` : '';
      $('daemon-info').textContent = `mlcrond ${status.version} · ${status.config} · ` +
        `${status.running.length} running${waiting}`;
      renderTimeline(status, runsDoc.runs);
      renderRuns(runsDoc.runs, today);
      renderModels(prodDoc.models, new Map(versions), today);
      if (state.selectedRun !== null && runsDoc.runs.some((r) => r.id === state.selectedRun && r.status === 'running')) {
        showLog(state.selectedRun);
      }
      state.lastGood = status.now;
      $('error-banner').hidden = true;
      $('token-form').hidden = true;
      const lu = $('last-updated');
      lu.textContent = `last updated ${status.now.slice(11, 19)}` + (refreshMs ? ` · every ${refreshMs / 1000} s` : '');
      lu.classList.remove('stale');
      document.body.dataset.state = 'ready';
    } catch (e) {
      if (e instanceof AuthError) askToken();
      const banner = $('error-banner');
      if (e instanceof AuthError) banner.textContent = 'mlcrond wants its API token: paste it below.';
      else if (e instanceof TypeError) banner.textContent = `Cannot reach mlcrond (${e.message}).`;
      else banner.textContent = `mlcrond answered with an error: ${e.message}`;
      if (state.lastGood) banner.textContent += ` Showing data from ${state.lastGood.slice(11, 19)}.`;
      banner.hidden = false;
      $('last-updated').classList.add('stale');
      if (document.body.dataset.state !== 'ready') document.body.dataset.state = 'error';
    }
    if (refreshMs > 0) state.timer = setTimeout(refresh, refreshMs);
  }

  function askToken() {
    $('token-form').hidden = false;
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('token-input').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      $('token-input').value = '';
      clearTimeout(state.timer);
      refresh();
    });
    $('log-close').addEventListener('click', () => {
      state.selectedRun = null;
      $('log-panel').hidden = true;
      for (const tr of $('runs-table').tBodies[0].rows) tr.classList.remove('selected');
    });
    refresh();
  });
})();
