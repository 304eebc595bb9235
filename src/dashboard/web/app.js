// The dashboard's page: Preact + htm (no build step needed to read it; esbuild bundles it into
// dist/dashboard/assets/app.js). It listens to /api/events (server-sent events; EventSource
// reconnects by itself) and sends actions with the token typed into the page, after a confirm().
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const COLOURS = ['blue', 'green'];
const CHART_POINTS = 120;

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

function Colour({ name, c, active }) {
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
  </section>`;
}

function Chart({ points }) {
  const max = Math.max(1, ...points.flatMap((p) => COLOURS.map((c) => p[c])));
  const line = (c) =>
    points
      .map(
        (p, i) => `${((i / Math.max(1, CHART_POINTS - 1)) * 300).toFixed(1)},${(100 - (p[c] / max) * 95).toFixed(1)}`,
      )
      .join(' ');
  return html`<svg class="chart" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="traffic">
    ${COLOURS.map((c) => html`<polyline class=${c} points=${line(c)} />`)}
  </svg>`;
}

function Traffic({ view, points, unit }) {
  const p = view.proxy;
  const t = view.traffic;
  return html`<section data-testid="traffic">
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
    ${p.inFlight ? html`<div>in flight: ${COLOURS.map((c) => html`${c} ${p.inFlight[c]} `)}</div>` : ''}
    ${
      t.counting && t.colours
        ? html`<table>
          <tr><th></th><th>requests</th><th>errors</th><th>p50</th><th>p99</th></tr>
          ${COLOURS.map(
            (c) => html`<tr><td><${Badge} colour=${c} /></td><td>${t.colours[c].requests}</td>
              <td>${(t.colours[c].errorRate * 100).toFixed(1)}%</td>
              <td>${t.colours[c].p50Ms ?? '-'} ms</td><td>${t.colours[c].p99Ms ?? '-'} ms</td></tr>`,
          )}
        </table>`
        : html`<p class="muted" data-testid="counting-off">No per-colour counts: ${t.note}.</p>`
    }
    <div class="muted">${unit} per colour, last ${CHART_POINTS} s</div>
    <${Chart} points=${points} />
  </section>`;
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

function History({ records }) {
  return html`<section class="wide" data-testid="history">
    <h2>History</h2>
    <table>
      <tr><th>time</th><th>type</th><th>move</th><th>release</th><th>result</th><th>who</th></tr>
      ${records.map(
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

async function post(action, token, body) {
  const res = await fetch(`/api/actions/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data };
}

function Actions({ view }) {
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
          ? { ok: true, text: `${action}: done` }
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
  const last = useRef(null);
  const unit = useRef('in-flight requests');
  useEffect(() => {
    const es = new EventSource('/api/events');
    es.onopen = () => setConnected(true);
    es.onerror = () => setConnected(false);
    es.addEventListener('view', (ev) => {
      const v = JSON.parse(ev.data);
      if (!v) return;
      setView(v);
      setProblem(null);
      // Requests per second from the proxy's counters while it counts, else in-flight requests.
      const t = v.traffic;
      let sample;
      if (t.counting && t.colours) {
        const prev = last.current;
        const dt = prev ? (Date.parse(v.at) - prev.at) / 1000 : 0;
        sample = Object.fromEntries(
          COLOURS.map((c) => [c, prev && dt > 0 ? Math.max(0, (t.colours[c].requests - prev[c]) / dt) : 0]),
        );
        last.current = { at: Date.parse(v.at), ...Object.fromEntries(COLOURS.map((c) => [c, t.colours[c].requests])) };
        unit.current = 'requests/s';
      } else {
        last.current = null;
        sample = Object.fromEntries(COLOURS.map((c) => [c, v.proxy.inFlight?.[c] ?? 0]));
        unit.current = 'in-flight requests';
      }
      setPoints((ps) => [...ps, sample].slice(-CHART_POINTS));
    });
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
      <${Actions} view=${view} />
      ${COLOURS.map((c) => html`<${Colour} name=${c} c=${view.colours[c]} active=${view.active} />`)}
      <${Traffic} view=${view} points=${points} unit=${unit.current} />
      <${Operation} op=${op.op} ended=${op.ended} />
      <${History} records=${view.history} />
    </main>`;
}

const root = document.getElementById('app');
// Preact renders beside what is there: drop the loading line first.
root.textContent = '';
render(html`<${App} />`, root);
