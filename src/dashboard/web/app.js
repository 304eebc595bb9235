// The dashboard's page: Preact + htm (no build step needed to read it; esbuild bundles it into
// dist/dashboard/assets/app.js). It listens to /api/events (server-sent events; EventSource
// reconnects by itself) and sends actions with the token typed into the page, after a confirm().
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';

const html = htm.bind(h);
const COLOURS = ['blue', 'green'];
/** Seconds of traffic kept on the page (the server keeps as many: its first message fills them). */
const SERIES_SECONDS = 300;
const STROKE = { blue: '#2563eb', green: '#16a34a' };

function Badge({ colour, big }) {
  return html`<span class=${`badge ${colour ?? 'none'}${big ? ' big' : ''}`} data-colour=${colour ?? ''}
    >${colour ?? 'none'}</span
  >`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

function Active({ view }) {
  const r = view.release;
  return html`<section>
    <h2>Active colour</h2>
    <div data-testid="active"><${Badge} colour=${view.active} big /></div>
    ${
      r
        ? html`<table data-testid="release">
          <tr><th>release</th><td><code>${r.id}</code></td></tr>
          ${r.commit ? html`<tr><th>commit</th><td><code>${r.commit}${r.dirty ? ' (dirty)' : ''}</code></td></tr>` : ''}
          ${r.deployedAt ? html`<tr><th>live since</th><td>${when(r.deployedAt)} (${r.deployedWith})</td></tr>` : ''}
          ${r.deployedBy ? html`<tr><th>by</th><td>${r.deployedBy}</td></tr>` : ''}
        </table>`
        : html`<p class="muted">no release</p>`
    }
  </section>`;
}

/**
 * live, or what runs: state.json records only committed facts, so a colour a deploy is starting
 * still reads "stopped" there.
 */
function colourLabel(name, c, active) {
  if (name === active) return 'live';
  const up = c.services.filter((s) => s.running).length;
  if (up === 0) return c.state;
  return up === c.services.length ? 'running, not live' : `${up} of ${c.services.length} running`;
}

function Colour({ name, c, active, health }) {
  return html`<section data-testid=${`colour-${name}`}>
    <h2><${Badge} colour=${name} /> ${colourLabel(name, c, active)}</h2>
    <div>
      release <code>${c.release ?? '-'}</code>
      ${c.running && c.running !== c.release ? html` (runs <code>${c.running}</code>)` : ''}
    </div>
    <table>
      <tr><th>service</th><th>state</th><th>pid / port</th><th>restarts</th></tr>
      ${c.services.map(
        (s) => html`<tr>
          <td>${s.service}</td>
          <td>
            ${s.running ? 'running' : 'stopped'}${s.healthy === false ? ' (unhealthy)' : ''}
            ${s.detail ? html` <span class="muted">${s.detail}</span>` : ''}
          </td>
          <td>${s.pid ?? ''}${s.port ? ` / ${s.port}` : ''}</td>
          <td>${s.restarts ?? 0}</td>
        </tr>`,
      )}
    </table>
    <${Health} h=${health} running=${c.services.some((s) => s.running)} />
  </section>`;
}

const two = (n) => String(n).padStart(2, '0');
/** A tick on the time axis: hh:mm:ss, local time. */
const clock = (t) => {
  const d = new Date(t * 1000);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
};
/** Whole seconds only on the time axis (uPlot would tick sub-seconds on a short deploy). */
const TIME_AXIS = {
  size: 30,
  space: 70,
  incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300],
  values: (_u, ts) => ts.map(clock),
};
const secs = (ms) => (ms / 1000).toFixed(1);
const pct = (f) => (f === undefined || f === null ? '-' : `${(f * 100).toFixed(f < 0.1 ? 2 : 1)}%`);
const ms = (n) => (n === undefined || n === null ? '-' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`);

/**
 * One small uPlot chart: a metric per colour over the last minutes. The canvas is uPlot's; the
 * last values and their time (ms) also go into data attributes (the browser test reads them) and
 * the legend.
 */
function UChart({ title, points, pick, fmt, testid }) {
  const el = useRef(null);
  const plot = useRef(null);
  const data = [points.map((p) => p.t / 1000), ...COLOURS.map((c) => points.map((p) => pick(p.colours[c]) ?? null))];
  useEffect(() => {
    plot.current = new uPlot(
      {
        title,
        width: 300,
        height: 130,
        // The legend only names the colours (no values under a cursor).
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max, min + 1e-9, fmt.min ?? 1)] } },
        axes: [TIME_AXIS, { size: 52 }],
        series: [
          {},
          ...COLOURS.map((c) => ({ label: c, stroke: STROKE[c], width: 2, value: (_u, v) => fmt.value(v) })),
        ],
      },
      data,
      el.current,
    );
    return () => plot.current.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  }, [points]);
  const last = points.at(-1);
  const attrs = Object.fromEntries([
    ['data-last-t', String(last?.t ?? '')],
    ...COLOURS.map((c) => [`data-last-${c}`, String(last ? (pick(last.colours[c]) ?? '') : '')]),
  ]);
  return html`<div class="uchart" data-testid=${testid} ...${attrs} ref=${el}></div>`;
}

const METRICS = [
  { id: 'rps', title: 'requests/s', pick: (c) => c.rps, fmt: { value: (v) => (v === null ? '-' : v.toFixed(1)) } },
  {
    id: 'errors',
    title: 'error rate',
    pick: (c) => (c.rps ? c.errorRate * 100 : c.rps === 0 ? 0 : undefined),
    fmt: { value: (v) => (v === null ? '-' : `${v.toFixed(2)}%`), min: 1 },
  },
  { id: 'p50', title: 'p50 latency', pick: (c) => c.p50Ms, fmt: { value: (v) => ms(v) } },
  { id: 'p99', title: 'p99 latency', pick: (c) => c.p99Ms, fmt: { value: (v) => ms(v) } },
  {
    id: 'inflight',
    title: 'in flight',
    pick: (c) => c.inFlight,
    fmt: { value: (v) => (v === null ? '-' : String(v)) },
  },
];

/** The deploy's live watch as the dashboard computes it (the same judge over the same window). */
function Watch({ watch }) {
  if (!watch) return '';
  const v = watch.verdict;
  const t = watch.thresholds;
  const limit = (x) => (x?.ms !== undefined ? ms(x.ms) : x?.factor ? `${x.factor}x the old colour's` : '-');
  return html`<div class="watch" data-testid="watch" data-verdict=${v.state}>
    <b>live watch</b>: ${watch.step}
    <table>
      <tr><th></th><th>requests</th><th>error rate</th><th>p99</th></tr>
      <tr><td><${Badge} colour=${watch.target} /> new</td><td>${v.target.requests}</td>
        <td>${pct(v.target.errorRate)}</td><td>${ms(v.target.p99Ms)}</td></tr>
      <tr><td><${Badge} colour=${watch.from} /> old</td><td>${v.baseline?.requests ?? '-'}</td>
        <td>${pct(v.baseline?.errorRate)}</td><td>${ms(v.baseline?.p99Ms)}</td></tr>
      <tr class="muted"><td>limits</td><td>at least ${t.minRequests}</td>
        <td>${t.errorRate !== undefined ? `+${pct(t.errorRate)}` : '-'}</td><td>${limit(t.p99)}</td></tr>
    </table>
    <div class=${v.state === 'fail' ? 'error' : v.state === 'ok' ? 'ok' : 'muted'}>
      ${v.state}${v.reasons.length ? `: ${v.reasons.join('; ')}` : ''}
    </div>
  </div>`;
}

function Traffic({ view, points, watch }) {
  const p = view.proxy;
  const t = view.traffic;
  const shown = t.perColour ? METRICS : METRICS.filter((m) => m.id === 'inflight');
  return html`<section class="wide" data-testid="traffic">
    <h2>Proxy and traffic</h2>
    <div>
      proxy (${p.kind})
      ${
        p.running
          ? html`<span class="ok">running</span>, sends traffic to <${Badge} colour=${p.active} />`
          : html`<span class="error">not running</span>`
      }
      on <code>${p.listen}</code>
    </div>
    ${
      p.canary
        ? html`<div data-testid="split">
          split: ${p.canary.percent}% of clients on <${Badge} colour=${p.canary.colour} />
        </div>`
        : ''
    }
    <div data-testid="maintenance">
      maintenance: ${p.maintenance ? html`<b>ON</b> since ${when(p.maintenance.since)}` : 'off'}
    </div>
    <${OpenNow} p=${p} />
    ${t.perColour ? '' : html`<p class="muted" data-testid="counting-off">No per-colour rates: ${t.note}.</p>`}
    <${Watch} watch=${watch} />
    <div class="charts">
      ${shown.map(
        (m) => html`<${UChart} key=${m.id} testid=${`chart-${m.id}`} title=${m.title} points=${points}
          pick=${m.pick} fmt=${m.fmt} />`,
      )}
    </div>
    <div class="muted">
      per colour, one point a second, the last ${SERIES_SECONDS / 60} minutes the dashboard has run
    </div>
  </section>`;
}

/** What is open through the proxy now, per colour: requests (SSE among them) and WebSockets. */
function OpenNow({ p }) {
  if (!p.inFlight) return '';
  const line = (c) =>
    `${c}: ${p.inFlight[c]} request(s)${p.streams?.[c] ? ` (${p.streams[c]} SSE)` : ''}, ` +
    `${p.websockets?.[c] ?? 0} WebSocket(s)`;
  return html`<div data-testid="open" class="muted">open now: ${COLOURS.map(line).join('; ')}</div>`;
}

function Health({ h, running }) {
  const why = running ? 'not checked yet (every 10 s)' : 'not checked (nothing running)';
  if (!h) return html`<p class="muted">health: ${why}</p>`;
  return html`<div data-testid="health">
    <div>health <span class=${h.ok ? 'ok' : 'error'}>${h.ok ? 'passes' : 'FAILS'}</span>
      <span class="muted">at ${new Date(h.at).toLocaleTimeString()}</span></div>
    ${h.error ? html`<div class="error">${h.error}</div>` : ''}
    <ul class="levels">
      ${h.levels.map((l) => {
        const cls = l.skipped ? 'muted' : l.ok ? 'ok' : 'error';
        return html`<li data-level=${l.level} data-ok=${String(l.ok)} class=${cls}>
          ${l.skipped ? '–' : l.ok ? '✓' : '✗'} ${l.level} ${l.name}
          <span class="muted">${l.detail ? `: ${l.detail}` : ''}</span>
        </li>`;
      })}
    </ul>
  </div>`;
}

function Operation({ op, ended }) {
  if (!op)
    return html`<section class="wide" data-testid="operation">
      <h2>Operation</h2>
      <p class="muted">none running</p>
    </section>`;
  return html`<section class="wide" data-testid="operation">
    <h2>${ended ? 'Last operation' : 'Operation in progress'}</h2>
    <div>
      <b>${op.type}</b> ${op.from ?? '-'} → ${op.to ?? '-'}
      ${op.release ? html`release <code>${op.release}</code>` : ''}
      ${op.alive || ended ? '' : html`<span class="error">interrupted: run switchyard recover</span>`}
      ${ended ? html`<span class="muted">(finished)</span>` : ''}
    </div>
    <ol class="steps">
      ${op.steps.map(
        (s) => html`<li class=${`s-${s.status}`} data-step=${s.index} data-status=${s.status}>${s.title}</li>`,
      )}
    </ol>
    ${op.failed ? html`<div class="error">${op.failed}</div>` : ''}
  </section>`;
}

/**
 * The last deploy's request timeline (written by the deploy itself, src/run/timeline.ts): what each
 * colour answered, second by second, with a numbered line where each step began.
 */
function LastDeploy({ timeline }) {
  const el = useRef(null);
  useEffect(() => {
    if (!timeline || !el.current) return;
    const pts = timeline.points;
    const starts = timeline.steps.map((s) => Date.parse(s.startedAt) / 1000);
    const marks = {
      hooks: {
        draw: [
          (u) => {
            const { ctx } = u;
            ctx.save();
            ctx.strokeStyle = '#9ca3af';
            ctx.fillStyle = '#4b5563';
            ctx.font = `${11 * devicePixelRatio}px sans-serif`;
            starts.forEach((x, i) => {
              const px = u.valToPos(x, 'x', true);
              if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return;
              ctx.beginPath();
              ctx.moveTo(px, u.bbox.top);
              ctx.lineTo(px, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillText(String(i + 1), px + 2, u.bbox.top + 12 * devicePixelRatio);
            });
            ctx.restore();
          },
        ],
      },
    };
    const plot = new uPlot(
      {
        title: 'requests per second, errors dashed',
        width: 640,
        height: 180,
        plugins: [marks],
        legend: { show: true, live: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [TIME_AXIS, { size: 52 }],
        series: [
          {},
          ...COLOURS.map((c) => ({ label: c, stroke: STROKE[c], width: 2 })),
          ...COLOURS.map((c) => ({ label: `${c} errors`, stroke: STROKE[c], width: 1, dash: [4, 4] })),
        ],
      },
      [
        pts.map((p) => p.t / 1000),
        ...COLOURS.map((c) => pts.map((p) => p[c].requests)),
        ...COLOURS.map((c) => pts.map((p) => p[c].errors)),
      ],
      el.current,
    );
    return () => plot.destroy();
  }, [timeline]);
  if (!timeline)
    return html`<section class="wide" data-testid="timeline">
      <h2>Last deploy</h2>
      <p class="muted">no deploy recorded yet (each deploy writes its request timeline when it ends)</p>
    </section>`;
  const t0 = Date.parse(timeline.startedAt);
  const total = (c, k) => timeline.points.reduce((a, p) => a + p[c][k], 0);
  return html`<section class="wide" data-testid="timeline" data-operation=${timeline.operation}>
    <h2>Last deploy</h2>
    <div>
      ${timeline.from ?? '-'} → ${timeline.to ?? '-'}
      ${timeline.release ? html`release <code>${timeline.release}</code>` : ''}
      <span class=${timeline.result === 'success' ? 'ok' : 'error'}>${timeline.result}</span>
      <span class="muted">${when(timeline.startedAt)}, ${secs(Date.parse(timeline.endedAt) - t0)} s</span>
    </div>
    ${timeline.error ? html`<div class="error">${timeline.error}</div>` : ''}
    <div data-testid="timeline-totals">
      ${COLOURS.map(
        (c) => html`<span data-total=${c} data-requests=${total(c, 'requests')} data-errors=${total(c, 'errors')}>
          <${Badge} colour=${c} /> ${total(c, 'requests')} requests, ${total(c, 'errors')} errors
        </span> `,
      )}
    </div>
    <div class="uchart" ref=${el}></div>
    <ol class="steps">
      ${timeline.steps.map(
        (s) => html`<li class=${`s-${s.status}`}>
          ${s.title} <span class="muted">+${secs(Date.parse(s.startedAt) - t0)} s</span>
        </li>`,
      )}
    </ol>
  </section>`;
}

const RESULT_FILTERS = ['all', 'success', 'failed'];

/** History, newest first, filtered on the page: by type, by result, and by any text in the record. */
function History({ records }) {
  const [type, setType] = useState('all');
  const [result, setResult] = useState('all');
  const [text, setText] = useState('');
  const types = ['all', ...new Set(records.map((r) => r.type))];
  const needle = text.trim().toLowerCase();
  const shown = records.filter(
    (r) =>
      (type === 'all' || r.type === type) &&
      (result === 'all' || (result === 'success' ? r.result === 'success' : r.result !== 'success')) &&
      (!needle || JSON.stringify(r).toLowerCase().includes(needle)),
  );
  return html`<section class="wide" data-testid="history">
    <h2>History</h2>
    <div class="filters">
      <select data-testid="history-type" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
        ${types.map((t) => html`<option value=${t}>${t === 'all' ? 'every type' : t}</option>`)}
      </select>
      <select data-testid="history-result" value=${result} onChange=${(e) => setResult(e.currentTarget.value)}>
        ${RESULT_FILTERS.map((t) => html`<option value=${t}>${t === 'all' ? 'every result' : t}</option>`)}
      </select>
      <input data-testid="history-text" placeholder="release, who, reason..." value=${text}
        onInput=${(e) => setText(e.currentTarget.value)} />
      <span class="muted">${shown.length} of ${records.length}</span>
    </div>
    <table>
      <tr><th>time</th><th>type</th><th>move</th><th>release</th><th>result</th><th>who</th></tr>
      ${shown.map(
        (r) => html`<tr data-type=${r.type} data-origin=${r.origin ?? ''}>
          <td>${when(r.time)}</td><td>${r.type}</td><td>${r.from ?? '-'} → ${r.to ?? '-'}</td>
          <td><code>${r.release ?? ''}</code></td>
          <td class=${r.result === 'success' ? 'ok' : 'error'}>${r.result}${r.reason ? `: ${r.reason}` : ''}</td>
          <td>${r.who}${r.origin ? ` (${r.origin})` : ''}</td>
        </tr>`,
      )}
    </table>
  </section>`;
}

function size(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function Backups({ backups }) {
  return html`<section data-testid="backups">
    <h2>Backups</h2>
    ${
      backups === null
        ? html`<p class="muted">no database backup is configured (backup.kind: none)</p>`
        : backups.length === 0
          ? html`<p class="muted">none yet (switchyard backup takes one)</p>`
          : html`<table>
            <tr><th>time</th><th>size</th><th>why</th><th>verified</th></tr>
            ${backups.map(
              (b) => html`<tr data-backup=${b.name} title=${b.name}>
                <td>${when(b.at)}</td><td>${size(b.bytes)}</td><td>${b.why}</td><td>${b.verified}</td>
              </tr>`,
            )}
          </table>`
    }
  </section>`;
}

async function post(action, token, body) {
  const res = await fetch(`/api/actions/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data };
}

/** Actions: each asks for confirmation, then sends the token. `canary`: the step a running deploy waits in. */
function Actions({ view, canary }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const other = view.active === 'blue' ? 'green' : view.active === 'green' ? 'blue' : null;
  const run = async (action, body, question) => {
    if (!window.confirm(question)) return;
    setBusy(true);
    setResult(null);
    try {
      const r = await post(action, token, body);
      setResult(
        r.data.ok
          ? { ok: true, text: `${action}: done${r.data.result?.message ? ` (${r.data.result.message})` : ''}` }
          : { ok: false, text: `${action} refused (${r.status}): ${r.data.error?.message ?? r.data.error ?? ''}` },
      );
    } catch (e) {
      setResult({ ok: false, text: `${action}: ${e.message}` });
    } finally {
      setBusy(false);
    }
  };
  const m = view.proxy.maintenance;
  return html`<section data-testid="actions">
    <h2>Actions</h2>
    <label>Token (printed by <code>switchyard dashboard</code>)
      <input type="password" autocomplete="off" data-testid="token" value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)} />
    </label>
    <div class="actions">
      <button data-testid="rollback" disabled=${busy || !token}
        onClick=${() => run('rollback', {}, `Roll back: move all traffic from ${view.active} to ${other}?`)}>
        Rollback
      </button>
      <button data-testid="switch" disabled=${busy || !token || !other}
        onClick=${() => run('switch', { colour: other }, `Switch all traffic to ${other}?`)}>
        Switch to ${other ?? '-'}
      </button>
      ${
        canary
          ? html`<button data-testid="promote" disabled=${busy || !token}
              onClick=${() => run('promote', {}, `Promote the canary: end the ${canary.percent}% step now and go on?`)}>
              Promote ${canary.percent}% step
            </button>
            <button data-testid="abort" class="danger" disabled=${busy || !token}
              onClick=${() => run('abort', {}, 'Abort the canary: all clients back on the live colour, deploy fails?')}>
              Abort canary
            </button>`
          : ''
      }
      <button data-testid="maintenance-toggle" disabled=${busy || !token}
        onClick=${() => run('maintenance', { on: !m }, `Turn maintenance ${m ? 'off' : 'on'}?`)}>
        Maintenance ${m ? 'off' : 'on'}
      </button>
    </div>
    ${busy ? html`<p class="muted">working...</p>` : ''}
    ${result ? html`<p data-testid="action-result" class=${result.ok ? 'ok' : 'error'}>${result.text}</p>` : ''}
    ${!token ? html`<p class="muted">Without the token the page is read-only.</p>` : ''}
    ${view.lock ? html`<p data-testid="lock" class="error">${view.lock.description}</p>` : ''}
  </section>`;
}

function App() {
  const [view, setView] = useState(null);
  const [op, setOp] = useState({ op: null, ended: false });
  const [connected, setConnected] = useState(false);
  const [problem, setProblem] = useState(null);
  const [points, setPoints] = useState([]);
  const [watch, setWatch] = useState(null);
  const [health, setHealth] = useState(null);
  const [timeline, setTimeline] = useState(null);
  useEffect(() => {
    const es = new EventSource('/api/events');
    es.onopen = () => setConnected(true);
    es.onerror = () => setConnected(false);
    es.addEventListener('view', (ev) => {
      const v = JSON.parse(ev.data);
      if (!v) return;
      setView(v);
      setProblem(null);
    });
    // The server's series (its first message after a (re)connect), then one point a second.
    es.addEventListener('series', (ev) => setPoints(JSON.parse(ev.data)));
    es.addEventListener('traffic', (ev) => {
      const { point, watch: w } = JSON.parse(ev.data);
      setPoints((ps) => [...ps, point].filter((x) => x.t > point.t - SERIES_SECONDS * 1000));
      setWatch(w);
    });
    es.addEventListener('health', (ev) => setHealth(JSON.parse(ev.data)));
    es.addEventListener('timeline', (ev) => setTimeline(JSON.parse(ev.data)));
    es.addEventListener('operation', (ev) => {
      const o = JSON.parse(ev.data);
      // The journal goes when the operation ends: keep showing its steps, marked finished.
      setOp((cur) => (o ? { op: o, ended: false } : { op: cur.op, ended: !!cur.op }));
    });
    es.addEventListener('problem', (ev) => setProblem(JSON.parse(ev.data).message));
    return () => es.close();
  }, []);
  const header = html`<header>
    <h1>switchyard${view ? html` · ${view.app}` : ''}</h1>
    <span class=${`conn ${connected ? 'live' : 'down'}`} data-testid="connection"
      >${connected ? 'live' : 'reconnecting...'}</span
    >
  </header>`;
  if (!view) return html`${header}<main><p class="muted">waiting for the first view...</p></main>`;
  return html`${header}
    <main>
      ${problem ? html`<section class="wide error">${problem}</section>` : ''}
      ${
        view.problems.length
          ? html`<section class="wide" data-testid="problems">
              <h2>Problems</h2>
              ${view.problems.map(
                (p) => html`<div class="error">${p.what} <span class="muted">fix: ${p.fix}</span></div>`,
              )}
            </section>`
          : ''
      }
      <${Active} view=${view} />
      <${Actions} view=${view} canary=${op.op && !op.ended && op.op.alive ? (op.op.canary ?? null) : null} />
      ${COLOURS.map(
        (c) => html`<${Colour} name=${c} c=${view.colours[c]} active=${view.active} health=${health?.[c] ?? null} />`,
      )}
      <${Traffic} view=${view} points=${points} watch=${watch} />
      <${Operation} op=${op.op} ended=${op.ended} />
      <${LastDeploy} timeline=${timeline} />
      <${Backups} backups=${view.backups} />
      <${History} records=${view.history} />
    </main>`;
}

const root = document.getElementById('app');
// Preact renders beside what is there: drop the loading line first.
root.textContent = '';
render(html`<${App} />`, root);
