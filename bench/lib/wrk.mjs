// Throughput and latency with wrk (the C load generator the reference points used:
// `wrk -t2 -c50`). Its latency distribution has microsecond precision, where autocannon's
// percentiles are whole milliseconds: a p99 ratio of 3 / 9 ms says little, 2.41 / 6.87 ms does.
// Talks only to the URL it is given (the benchmarks pass 127.0.0.1).
import { execFile } from 'node:child_process';

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** "3.49ms" / "812.00us" / "1.02s" -> milliseconds. */
export function wrkDurationMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`wrk: cannot read the duration "${text}"`);
  return Number((Number(m[1]) * UNIT_MS[m[2]]).toFixed(3));
}

/** Reads `wrk --latency` output into the summary the benchmarks share. */
export function parseWrk(out) {
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    if (!m) throw new Error(`wrk: no ${p}% line in its output:\n${out}`);
    return wrkDurationMs(m[1]);
  };
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const avg = /Latency\s+(\S+)/.exec(out);
  if (!rps || !total || !avg) throw new Error(`wrk: unexpected output:\n${out}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    reqPerSec: Math.round(Number(rps[1])),
    p50ms: pct(50),
    p90ms: pct(90),
    p99ms: pct(99),
    meanMs: wrkDurationMs(avg[1]),
    total: Number(total[1]),
    errors: socketErrors + num(/Non-2xx or 3xx responses: (\d+)/),
  };
}

/** One bounded wrk run: `threads` threads, `connections` keep-alive connections, `seconds` long. */
export function runWrk({ url, connections = 50, threads = 2, seconds = 10 }) {
  return new Promise((resolve, reject) => {
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url];
    execFile('wrk', args, { timeout: (seconds + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err && err.code === 'ENOENT') {
        reject(new Error('wrk is not installed: run scripts/setup-infra.sh (or apt-get install wrk)'));
      } else if (err) {
        reject(new Error(`wrk ${args.join(' ')} failed: ${stderr || err.message}`));
      } else {
        try {
          resolve({ ...parseWrk(stdout), tool: `wrk -t${threads} -c${connections} -d${seconds}s` });
        } catch (e) {
          reject(e);
        }
      }
    });
  });
}
