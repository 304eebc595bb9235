#!/usr/bin/env node
// Renders the benchmark tables of docs/benchmarks.md from bench/results.json (written by
// `npm run bench`), so every figure in them comes from one run. Prints them; with --write, replaces
// each table between its <!-- name --> and <!-- /name --> markers in docs/benchmarks.md.
// Usage: node bench/table.mjs [--write] [--results bench/results.json]
import fs from 'node:fs';
import path from 'node:path';
import { args, opt, root } from './lib/options.mjs';

const r = JSON.parse(fs.readFileSync(path.resolve(opt('results', path.join(root, 'bench', 'results.json'))), 'utf8'));
const num = (x) => (x >= 20 ? Math.round(x) : Math.round(x * 10) / 10);
const n = (x) => (x === undefined || x === null ? '?' : Number(x).toLocaleString('en-US'));
const ms = (x) => (x === undefined || x === null ? '?' : x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${num(x)} ms`);
const pair = (a, b) =>
  a === undefined || b === undefined ? '?' : a < 1000 && b < 1000 ? `${num(a)} / ${num(b)} ms` : `${ms(a)} / ${ms(b)}`;
const ratio = (x) => `${Number(Number(x).toFixed(2))}x`;
const failedOf = (failed, sent) => `${n(failed)} of ${n(sent)}`;
const row = (cells) => `| ${cells.join(' | ')} |`;
// Figures merged from a benchmark run on its own (`--merge`) after the full run: each table says so.
const aloneNote = (keys) => {
  const ks = keys.filter((k) => r.rerunAlone?.[k]);
  if (!ks.length) return '';
  const what = ks.map(
    (k) =>
      `\`${k}\` (${r.rerunAlone[k].slice(0, 16).replace('T', ' ')} UTC, ` +
      `1-minute load average before: ${r.machine?.loadAvg1mBefore?.[k] ?? '?'})`,
  );
  return `\n\nRe-measured alone after the full \`npm run bench\` run (\`--merge\`): ${what.join(', ')}.`;
};

const tables = {};
const pc = r.proxiesCompare;
const sw = r.switching;
const swN = r.switchingNginx;
const soak = r.soak;
const tl = r.timeline;
const tlN = r.timelineNginx;
const ns = r.nginxSwitching;

{
  const lines = [
    row(['figure (one `npm run bench` run)', 'direct app', 'built-in proxy', 'nginx (host mode)']),
    row(['---', '---', '---', '---']),
  ];
  if (pc) {
    lines.push(
      row([
        `throughput, ${pc.connections} keep-alive connections (req/s, median of ${pc.rounds} rounds; vs direct)`,
        n(pc.direct.reqPerSec),
        `${n(pc.builtin.reqPerSec)} (${ratio(pc.builtin.vsDirect.throughput)})`,
        `${n(pc.nginx.reqPerSec)} (${ratio(pc.nginx.vsDirect.throughput)})`,
      ]),
    );
    lines.push(
      row([
        'latency p50 / p99 (same runs)',
        pair(pc.direct.p50ms, pc.direct.p99ms),
        pair(pc.builtin.p50ms, pc.builtin.p99ms),
        pair(pc.nginx.p50ms, pc.nginx.p99ms),
      ]),
    );
  }
  if (soak)
    lines.push(
      row([
        `switch at the proxy: the switch call, under load ` +
          `(p50 / p99 of ${soak.builtin?.switches ?? soak.nginx?.switches}); ` +
          `every request started after it returned reached the new colour`,
        '–',
        soak.builtin ? pair(soak.builtin.switchToMs.p50, soak.builtin.switchToMs.p99) : '?',
        soak.nginx ? pair(soak.nginx.switchToMs.p50, soak.nginx.switchToMs.p99) : '?',
      ]),
    );
  if (sw || swN) {
    lines.push(
      row([
        'switch end to end: `switchyard switch` started -> first response from the new colour, under load (p50 / max)',
        '–',
        sw ? pair(sw.switch.firstResponseMs.p50, sw.switch.firstResponseMs.max) : '?',
        swN ? pair(swN.switch.firstResponseMs.p50, swN.switch.firstResponseMs.max) : '?',
      ]),
    );
    lines.push(
      row([
        '`rollback --force`, previous colour still running: traffic back (p50, idle / under load)',
        '–',
        sw ? pair(sw.rollbackForce.withoutLoad.trafficBackMs.p50, sw.rollbackForce.trafficBackMs.p50) : '?',
        swN ? pair(swN.rollbackForce.withoutLoad.trafficBackMs.p50, swN.rollbackForce.trafficBackMs.p50) : '?',
      ]),
    );
    lines.push(
      row([
        '`rollback --force` wall time, including draining and stopping the failed colour (p50, idle / under load)',
        '–',
        sw ? pair(sw.rollbackForce.withoutLoad.wallMs.p50, sw.rollbackForce.wallMs.p50) : '?',
        swN ? pair(swN.rollbackForce.withoutLoad.wallMs.p50, swN.rollbackForce.wallMs.p50) : '?',
      ]),
    );
    lines.push(
      row([
        `failed requests, ${sw?.rounds ?? swN?.rounds} \`switch\` commands + ` +
          `${sw?.rollbackForce.runs ?? swN?.rollbackForce.runs} deploy/rollback rounds under keep-alive load`,
        '–',
        sw ? failedOf(sw.loadDuringSwitches.failed, sw.loadDuringSwitches.sent) : '?',
        swN ? failedOf(swN.loadDuringSwitches.failed, swN.loadDuringSwitches.sent) : '?',
      ]),
    );
  }
  if (soak)
    lines.push(
      row([
        `failed requests, ${soak.builtin?.switches ?? soak.nginx?.switches} switches back and forth (soak)`,
        '–',
        soak.builtin ? failedOf(soak.builtin.failed, soak.builtin.requests) : '?',
        soak.nginx ? failedOf(soak.nginx.failed, soak.nginx.requests) : '?',
      ]),
    );
  if (tl || tlN)
    lines.push(
      row([
        'failed requests, `deploy --auto-switch` then `rollback --force` of examples/app (timeline)',
        '–',
        tl ? failedOf(tl.failed, tl.requests) : '?',
        tlN ? failedOf(tlN.failed, tlN.requests) : '?',
      ]),
    );
  tables['bench-table'] = lines.join('\n');
  tables['bench-table'] += aloneNote(['switching', 'proxiesCompare']);
  if (ns?.reload) {
    tables['bench-table'] +=
      `\n\nFor comparison, switching nginx the usual way (rewrite the upstream, \`nginx -s reload\`; not used) ` +
      `failed ${failedOf(ns.reload.failed, ns.reload.requests)} requests over ` +
      `${ns.switches} reloads in the same run, ` +
      `and took ${ms(ns.reload.switchLatencyMs.p50)} (p50) to reach the new colour ` +
      `against ${ms(ns.flag.switchLatencyMs.p50)} for switchyard's flag file (\`bench/nginx-switch.mjs\`).`;
  }
}

if (soak) {
  const lines = [
    row([
      'soak (`bench/soak.mjs`)',
      'switches',
      'requests',
      'failed',
      'misrouted',
      'RSS MB: idle before / start / end / max / idle after',
      'open fds: idle before / start / end / max / idle after',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---']),
  ];
  const f = (o) => [o.idleBefore, o.start, o.end, o.max, o.idleAfter].join(' / ');
  if (soak.builtin)
    lines.push(
      row([
        'built-in proxy daemon',
        n(soak.builtin.switches),
        n(soak.builtin.requests),
        n(soak.builtin.failed),
        `${n(soak.builtin.misrouted)} of ${n(soak.builtin.checkedColour)}`,
        f(soak.builtin.rssMb),
        f(soak.builtin.fds),
      ]),
    );
  if (soak.nginx)
    lines.push(
      row([
        'nginx, master + workers',
        n(soak.nginx.switches),
        n(soak.nginx.requests),
        n(soak.nginx.failed),
        `${n(soak.nginx.misrouted)} of ${n(soak.nginx.checkedColour)}`,
        f(soak.nginx.rssMb),
        f(soak.nginx.fds),
      ]),
    );
  tables['soak-table'] = lines.join('\n');
}

if (tl || tlN) {
  const lines = [
    row([
      'timeline (`bench/timeline.mjs`)',
      'requests',
      'failed',
      'empty 100 ms bars',
      'longest pause between request starts',
      'deploy wall',
      'rollback wall',
      'switch step (deploy / rollback)',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---', '---']),
  ];
  for (const [name, t] of [
    ['built-in proxy', tl],
    ['nginx', tlN],
  ]) {
    if (!t) continue;
    lines.push(
      row([
        name,
        n(t.requests),
        n(t.failed),
        n(t.emptyBins),
        ms(t.longestPauseBetweenRequestStartsMs),
        ms(t.deploy.wallMs),
        ms(t.rollback.wallMs),
        `${t.deploy.switchStepMs.detail} / ${t.rollback.switchStepMs.detail}`,
      ]),
    );
  }
  tables['timeline-table'] = lines.join('\n');
}

if (r.proxyThroughput) {
  const p = r.proxyThroughput;
  const w = p.workers;
  const range = (x) => (x?.range ? ` (rounds: ${x.range.throughput.map(ratio).join(' to ')})` : '');
  tables['proxy-table'] = [
    row(['', 'req/s', 'p50', 'p99']),
    row(['---', '---', '---', '---']),
    row(['direct', n(p.direct.reqPerSec), ms(p.direct.p50ms), ms(p.direct.p99ms)]),
    row([
      'built-in proxy, one process (the default)',
      `${n(p.proxied.reqPerSec)} (${ratio(p.throughputRatio)})`,
      ms(p.proxied.p50ms),
      `${ms(p.proxied.p99ms)} (${ratio(p.p99Ratio)})`,
    ]),
    ...(w
      ? [
          row([
            `built-in proxy, \`proxy.workers: ${w.count}\``,
            `${n(w.reqPerSec)} (${ratio(w.throughputRatio)})`,
            ms(w.p50ms),
            `${ms(w.p99ms)} (${ratio(w.p99Ratio)})`,
          ]),
        ]
      : []),
  ].join('\n');
  // The issue's targets for the built-in proxy, against this run.
  const met = (ok) => (ok ? 'met' : 'NOT met');
  const judge = (x) =>
    `throughput at least 0.3x direct: ${ratio(x.throughputRatio)}${range(x)}, ${met(x.throughputRatio >= 0.3)}; ` +
    `p99 under 3x direct's: ${ratio(x.p99Ratio)}, ${met(x.p99Ratio < 3)}`;
  const how = p.rounds
    ? `Medians of ${p.rounds} alternating rounds (each path's median run above; ` +
      `the ratios are the medians of each round's own ratios), measured with ${p.tool}.`
    : `Measured with ${p.tool ?? 'autocannon'}.`;
  tables['proxy-table'] +=
    `\n\nTargets, one process: ${judge(p)}.${w ? ` With \`proxy.workers: ${w.count}\`: ${judge(w)}.` : ''} ${how}`;
  tables['proxy-table'] += aloneNote(['proxyThroughput']);
}

if (pc) {
  const v = (x) => `${ratio(x.throughput)}, p99 ${ratio(x.p99)}`;
  tables['compare-table'] = [
    row(['', 'req/s', 'p50', 'p99', 'vs direct']),
    row(['---', '---', '---', '---', '---']),
    row(['direct', n(pc.direct.reqPerSec), ms(pc.direct.p50ms), ms(pc.direct.p99ms), '']),
    row([
      'built-in proxy',
      n(pc.builtin.reqPerSec),
      ms(pc.builtin.p50ms),
      ms(pc.builtin.p99ms),
      v(pc.builtin.vsDirect),
    ]),
    row([
      `nginx (${pc.nginxWorkers === 'auto' ? `${pc.cpus} workers` : `${pc.nginxWorkers} workers`})`,
      n(pc.nginx.reqPerSec),
      ms(pc.nginx.p50ms),
      ms(pc.nginx.p99ms),
      v(pc.nginx.vsDirect),
    ]),
    ...(pc.bareForwarder
      ? [
          row([
            'reference: bare undici forwarder (the built-in design, no features)',
            n(pc.bareForwarder.reqPerSec),
            ms(pc.bareForwarder.p50ms),
            ms(pc.bareForwarder.p99ms),
            v(pc.bareForwarder.vsDirect),
          ]),
        ]
      : []),
  ].join('\n');
  tables['compare-table'] += aloneNote(['proxiesCompare']);
}

if (r.deploySplit) {
  const d = r.deploySplit;
  const cols = ['build', 'start', 'health', 'smoke', 'switchVerify', 'drainStop', 'other', 'wall'];
  const lines = [
    row(['', 'build', 'start', 'health', 'smoke', 'switch + verify', 'drain + stop', 'CLI and the rest', 'wall']),
    row(cols.map(() => '---').concat('---')),
  ];
  for (const [k, label] of [
    ['processBuiltin', 'processes + built-in proxy (fixture app)'],
    ['dockerNginx', 'docker + nginx (example images)'],
  ]) {
    if (d[k]) lines.push(row([label, ...cols.map((c) => ms(d[k].p50Ms[c]))]));
  }
  tables['split-table'] = lines.join('\n');
  tables['split-table'] += aloneNote(['deploySplit']);
}

{
  const wc = r.watchCost;
  const rl = r.rollbackLatency;
  const rlN = r.rollbackLatencyNginx;
  const lines = [
    row(['live watch (`bench/watch-cost.mjs`, `bench/rollback-latency.mjs`)', 'built-in proxy', 'nginx (host mode)']),
    row(['---', '---', '---']),
  ];
  if (wc) {
    const thr = (x) =>
      x.reqPerSec.always !== undefined
        ? `${n(x.reqPerSec.always)} (always counting)`
        : `${n(x.reqPerSec.watchOff)} / ${n(x.reqPerSec.watchOn)} ` +
          `(${x.costPct >= 0 ? '-' : '+'}${Math.abs(x.costPct)}%)`;
    const ng = wc.nginx;
    lines.push(
      row([
        `throughput with the watch off / on, ${wc.connections} keep-alive connections ` +
          `(req/s, median of ${wc.rounds} rounds, alternating for nginx; change when on)`,
        thr(wc),
        ng ? thr(ng) : '–',
      ]),
    );
    lines.push(
      row([
        'requests counted while on / answered while on (built-in: in every round)',
        `${n(wc.countedWhileOn)} / ${n(wc.sentWhileOn)}`,
        ng ? `${n(ng.countedWhileOn)} / ${n(ng.sentWhileOn)}` : '–',
      ]),
    );
    if (wc.countingNsPerRequest !== undefined)
      lines.push(
        row([
          'the counting path alone (2 clock reads + histogram), per request; share of one request at that throughput',
          `${wc.countingNsPerRequest} ns (${wc.countingSharePct}%)`,
          'one `-f` test + one unbuffered log line',
        ]),
      );
  }
  for (const [k, label] of [
    [
      'afterSwitchMedian',
      'a release failing 20%, plain switch: first 500 -> every request back on the old colour ' +
        '(median; of which the switch back)',
    ],
    ['canary50Median', 'the same in a 50% canary step'],
  ]) {
    const cell = (x) => (x?.[k] ? `${ms(x[k].errorsToBackMs)} (${ms(x[k].rollbackMs)})` : '?');
    if (rl || rlN) lines.push(row([label, cell(rl), cell(rlN)]));
  }
  if (rl || rlN)
    lines.push(
      row([
        'transport failures during those rollbacks',
        rl ? n(rl.transportFailures) : '?',
        rlN ? n(rlN.transportFailures) : '?',
      ]),
    );
  if (wc || rl || rlN)
    tables['watch-table'] = lines.join('\n') + aloneNote(['watchCost', 'rollbackLatency', 'rollbackLatencyNginx']);
}

{
  // Prometheus metrics (bench/metrics-cost.mjs): the daemon with proxy.metrics off and on, alternating rounds.
  const mc = r.metricsCost;
  if (mc) {
    const pct = (x) => `${x >= 0 ? '-' : '+'}${Math.abs(x)}%`;
    const lines = [
      row([
        `Prometheus metrics (\`bench/metrics-cost.mjs\`, ${mc.tool}, median of ${mc.rounds} alternating rounds)`,
        `built-in proxy daemon${mc.workers > 1 ? `, \`proxy.workers: ${mc.workers}\`` : ''}`,
      ]),
      row(['---', '---']),
      row([
        'throughput with `proxy.metrics` off / on (req/s, medians; change when on: of the medians, ' +
          "and the median of each round's own change)",
        `${n(mc.reqPerSec.metricsOff)} / ${n(mc.reqPerSec.metricsOn)} (${pct(mc.costPct)}; ${pct(mc.costPctPaired)})`,
      ]),
      row([
        'every round, req/s off / on',
        mc.rounds_rps.off.map((x, k) => `${n(x)} / ${n(mc.rounds_rps.on[k])}`).join(', '),
      ]),
      row(['p99 off / on', pair(mc.p99ms.metricsOff, mc.p99ms.metricsOn)]),
      ...(mc.cpuUsPerRequest
        ? [
            row([
              "the daemon's CPU time per request, off / on (median of the rounds; change when on)",
              `${mc.cpuUsPerRequest.metricsOff} / ${mc.cpuUsPerRequest.metricsOn} µs (${pct(-mc.cpuCostPct)})`,
            ]),
          ]
        : []),
      row([
        'requests counted on `/metrics` / answered to wrk, while on',
        `${n(mc.countedWhileOn)} / ${n(mc.sentWhileOn)}`,
      ]),
      row([
        'the recording path alone (2 clock reads, a count, a duration bucket), per request; ' +
          'share of one request at that throughput',
        `${mc.recordingNsPerRequest} ns (${mc.recordingSharePct}%)`,
      ]),
      row(['one scrape of `/metrics` (median / max of 20)', pair(mc.scrapeMs.median, mc.scrapeMs.max)]),
    ];
    tables['metrics-table'] = lines.join('\n') + aloneNote(['metricsCost']);
  }
}

{
  // Backup and restore of the generated database (bench/backup.mjs), and what the backup costs a
  // whole deploy of a project backing up such a database (bench/deploy-split.mjs, process100k).
  const b = r.backup;
  const d100 = r.deploySplit?.processBackup100k;
  const dTiny = r.deploySplit?.dockerNginx;
  if (b || d100) {
    const mb = (x) => (x === undefined || x === null ? '?' : `${Number(x).toFixed(1)} MB`);
    const fmt = (f, pick) => (b?.[f] ? pick(b[f]) : '?');
    const rows = b?.rows ?? d100?.rows;
    const lines = [
      row([
        `backup and restore, ${n(rows)} rows` +
          (b
            ? ` (database ${mb(b.databaseMB)}, table with indexes ${mb(b.tableWithIndexesMB)}; median of ${b.rounds})`
            : ''),
        'custom (`.dump`)',
        'plain (`.sql`)',
      ]),
      row(['---', '---', '---']),
    ];
    if (b) {
      lines.push(
        row([
          'backup: `pg_dump` + verification + fsync + rename',
          fmt('custom', (x) => ms(x.backup.ms)),
          fmt('plain', (x) => ms(x.backup.ms)),
        ]),
      );
      lines.push(row(['file size', fmt('custom', (x) => mb(x.fileMB)), fmt('plain', (x) => mb(x.fileMB))]));
      lines.push(
        row([
          'backup rows/s',
          fmt('custom', (x) => n(x.backup.rowsPerSec)),
          fmt('plain', (x) => n(x.backup.rowsPerSec)),
        ]),
      );
      lines.push(
        row([
          'restore: one transaction, replacing the data, then exact row counts',
          fmt('custom', (x) => ms(x.restore.ms)),
          fmt('plain', (x) => ms(x.restore.ms)),
        ]),
      );
      lines.push(
        row([
          'restore rows/s (table MB/s)',
          fmt('custom', (x) => `${n(x.restore.rowsPerSec)} (${num(x.restore.dataMBPerSec)})`),
          fmt('plain', (x) => `${n(x.restore.rowsPerSec)} (${num(x.restore.dataMBPerSec)})`),
        ]),
      );
    }
    if (d100) {
      const share = (x) => `${Math.round(x.backupShare * 1000) / 10}% (${ms(x.p50Ms.backup)} of ${ms(x.p50Ms.wall)})`;
      lines.push(
        row([
          `the backup's share of a whole \`deploy --auto-switch\` backing up ${n(d100.rows)} rows ` +
            `(process runtime, fixture app; p50 of ${r.deploySplit.rounds} deploys: backup step / wall)`,
          share(d100),
          '–',
        ]),
      );
      if (dTiny?.p50Ms?.backup)
        lines.push(
          row([
            `the same for the example app's few-row database (docker + nginx, \`pg_dump\` in its container)`,
            share(dTiny),
            '–',
          ]),
        );
    }
    tables['backup-table'] = lines.join('\n');
    tables['backup-table'] += aloneNote(['backup', 'deploySplit']);
  }
}

{
  // The process runtime's supervisor (bench/restart.mjs): SIGKILL of the live api -> good again.
  const s = r.restart;
  const sN = r.restartNginx;
  if (s || sN) {
    const cell = (x, k) => (x?.[k] ? `${ms(x[k].medianMs)} / ${ms(x[k].maxMs)} (${x[k].n})` : '–');
    const lines = [
      row(['supervisor (`bench/restart.mjs`)', 'built-in proxy', 'nginx (host mode)']),
      row(['---', '---', '---']),
      row([
        'SIGKILL of the only api process -> first 200 through the proxy, kills 31 s apart (median / max (kills))',
        cell(s, 'isolated'),
        cell(sN, 'isolated'),
      ]),
      row([
        'the same, kills 1 s after each recovery: the backoff grows (0.5 s, 1 s, ... 10 s)',
        cell(s, 'rapid'),
        cell(sN, 'rapid'),
      ]),
      row([
        'SIGKILL of the proxy (the daemon; nginx: master and workers) -> first 200, kills 1 s after each recovery',
        cell(s, 'proxyKill'),
        cell(sN, 'proxyKill'),
      ]),
      row([
        "the supervisor's resident memory",
        s?.supervisorRssKb ? `${(s.supervisorRssKb / 1024).toFixed(1)} MB` : '–',
        sN?.supervisorRssKb ? `${(sN.supervisorRssKb / 1024).toFixed(1)} MB` : '–',
      ]),
    ];
    tables['restart-table'] = lines.join('\n') + aloneNote(['restart', 'restartNginx']);
  }
}

{
  // Several instances per service (bench/instances.mjs): wrk through each proxy, one vs two api processes.
  const x = r.instances;
  if (x) {
    const cell = (v) => `${v.reqPerSec} req/s, p99 ${v.p99ms} ms`;
    const lines = [
      row([
        `instances (\`bench/instances.mjs\`, ${x.tool}, median of ${x.rounds})`,
        'built-in proxy',
        'nginx (host mode)',
      ]),
      row(['---', '---', '---']),
      row(['`instances: 1`: GET /api/health of the fixture app', cell(x.builtin.one), cell(x.nginx.one)]),
      row(['`instances: 2`: the same, balanced over two processes', cell(x.builtin.two), cell(x.nginx.two)]),
    ];
    tables['instances-table'] = lines.join('\n') + aloneNote(['instances']);
  }
}

// Open streams during a deploy (bench/deploy-streams.mjs): before and after deploy.streamGrace, per proxy.
for (const [key, proxy, table] of [
  ['deployStreams', 'built-in proxy', 'streams-table'],
  ['deployStreamsNginx', 'nginx', 'streams-nginx-table'],
]) {
  const x = r[key];
  if (x && (x.before || x.after)) {
    const counts = [...new Set([...Object.keys(x.before?.clients ?? {}), ...Object.keys(x.after?.clients ?? {})])]
      .map(Number)
      .sort((a, b) => a - b);
    const cell = (run, k, field) => {
      const v = run?.clients?.[k]?.[field];
      return v ? `${ms(v.median)} (${ms(v.min)}-${ms(v.max)})` : '–';
    };
    const head = (run, what) => (run ? `${what} (\`${run.product ?? '?'}\`, ${run.rounds} deploys each)` : what);
    const lines = [
      row([
        `\`deploy --auto-switch\`, fixture app, ${proxy} (\`bench/deploy-streams.mjs\`; median (min-max))`,
        head(x.before, 'before: streams hold the drain'),
        head(x.after, 'after: `deploy.streamGrace` 2 s'),
      ]),
      row(['---', '---', '---']),
    ];
    for (const k of counts) {
      const what = k === 0 ? 'no SSE client' : `${k} SSE client${k === 1 ? '' : 's'}`;
      lines.push(row([`${what}: deploy wall time`, cell(x.before, k, 'wallMs'), cell(x.after, k, 'wallMs')]));
      lines.push(
        row([`${what}: last step (drain and stop)`, cell(x.before, k, 'lastStepMs'), cell(x.after, k, 'lastStepMs')]),
      );
      if (k > 0)
        lines.push(
          row([
            `${what}: switch step end -> every client has an event from the new colour`,
            cell(x.before, k, 'streamsMovedMs'),
            cell(x.after, k, 'streamsMovedMs'),
          ]),
        );
    }
    tables[table] = lines.join('\n') + aloneNote([key]);
  }
}

for (const [name, text] of Object.entries(tables)) console.log(`<!-- ${name} -->\n${text}\n<!-- /${name} -->\n`);

if (args.includes('--write')) {
  const file = path.join(root, 'docs', 'benchmarks.md');
  let page = fs.readFileSync(file, 'utf8');
  for (const [name, text] of Object.entries(tables)) {
    const re = new RegExp(`<!-- ${name} -->\\n[\\s\\S]*?<!-- /${name} -->`);
    if (re.test(page)) page = page.replace(re, () => `<!-- ${name} -->\n${text}\n<!-- /${name} -->`);
    else console.error(`docs/benchmarks.md: no <!-- ${name} --> markers; left out`);
  }
  fs.writeFileSync(file, page);
  console.log('updated docs/benchmarks.md');
}
