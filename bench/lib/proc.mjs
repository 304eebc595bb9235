// What /proc says about a process (Linux only): resident memory and open file descriptors, read the
// same way for the built-in proxy daemon and for an nginx master and its workers.
import fs from 'node:fs';

/** VmRSS of a process in kB (from /proc/<pid>/status); undefined when it is gone. */
export function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd); undefined when it is gone. */
export function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The open file descriptors of a process by kind: socket, pipe, anon_inode:[eventpoll], file... */
export function fdKinds(pid) {
  const kinds = {};
  let names = [];
  try {
    names = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return kinds;
  }
  for (const n of names) {
    let link = '';
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${n}`);
    } catch {
      continue;
    }
    const kind = link.startsWith('socket:')
      ? 'socket'
      : link.startsWith('pipe:')
        ? 'pipe'
        : link.startsWith('anon_inode:')
          ? link.slice(11)
          : 'file';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Child pids of `ppid` (field 4 of /proc/<pid>/stat). */
export function childrenOf(ppid) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(e));
  }
  return out.sort((a, b) => a - b);
}

/** RSS (kB) and fds summed over some processes, with the pids read. */
export function usage(pids) {
  let rss = 0;
  let fds = 0;
  for (const p of pids) {
    rss += rssKb(p) ?? 0;
    fds += fdCount(p) ?? 0;
  }
  return { rssKb: rss, fds, pids: [...pids] };
}

/**
 * CPU time a process has used so far, user + system, in ms (fields 14 and 15 of /proc/<pid>/stat, in
 * clock ticks of 10 ms on Linux); undefined when it is gone.
 */
export function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}
