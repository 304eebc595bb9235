/**
 * What /proc says about an nginx master: its workers (children), which of them are an old
 * generation still finishing requests after a reload, and the upstream connections they hold.
 * nginx exposes none of this without a module; /proc is exact and costs a few reads.
 */
import fs from 'node:fs/promises';
import { childrenOf } from '../../util/procinfo.js';

export interface Worker {
  pid: number;
  /** An old-generation worker (after a reload), closing once its requests are done. */
  shuttingDown: boolean;
}

async function cmdline(pid: number): Promise<string | undefined> {
  const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return raw?.replace(/\0/g, ' ').trim();
}

/** True when pid is alive and is an nginx master (a pid file can outlive its process). */
export async function isNginxMaster(pid: number): Promise<boolean> {
  const cmd = await cmdline(pid);
  return cmd?.startsWith('nginx: master process') === true;
}

export async function isNginxWorker(pid: number): Promise<boolean> {
  return ((await cmdline(pid)) ?? '').startsWith('nginx: worker process');
}

export async function workersOf(master: number): Promise<Worker[]> {
  const out: Worker[] = [];
  for (const pid of childrenOf(master)) {
    const cmd = (await cmdline(pid)) ?? '';
    if (!cmd.includes('worker process')) continue; // cache manager/loader are not workers
    out.push({ pid, shuttingDown: cmd.includes('shutting down') });
  }
  return out;
}

/** Socket inodes a process holds open (from /proc/<pid>/fd links "socket:[inode]"). */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const link = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  return inodes;
}

/** One end of a TCP connection as /proc shows it: the port, and the IPv4 address when there is one. */
export interface Upstream {
  port: number;
  address?: string;
}

/** A TCP socket a process holds: established (with its remote end), or listening. */
export interface TcpSocket {
  local: Upstream;
  remote: Upstream;
  listening: boolean;
}

/** "0100007F:1F90" -> 127.0.0.1 and 8080; tcp6's IPv4-mapped form too. Other IPv6: no address. */
function parseAddr(hex: string): Upstream {
  const [a = '', p = ''] = hex.split(':');
  const port = Number.parseInt(p, 16);
  // /proc prints each 32-bit word in host (little-endian) order.
  const v4 = a.length === 8 ? a : a.startsWith('0000000000000000FFFF0000') ? a.slice(24) : undefined;
  if (v4 === undefined) return { port };
  const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(v4.slice(i, i + 2), 16));
  return { address: bytes.join('.'), port };
}

/**
 * The established and listening TCP sockets (IPv4 and IPv6) each process holds, by pid. A socket
 * shared by several processes (nginx's listening ones) is listed under each.
 */
export async function tcpSocketsOf(pids: number[]): Promise<Map<number, TcpSocket[]>> {
  const byInode = new Map<string, TcpSocket>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await fs.readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local, f[2] remote address, f[3] state (01 ESTABLISHED, 0A LISTEN), f[9] inode
      if (f.length < 10 || (f[3] !== '01' && f[3] !== '0A')) continue;
      byInode.set(f[9]!, { local: parseAddr(f[1]!), remote: parseAddr(f[2]!), listening: f[3] === '0A' });
    }
  }
  const out = new Map<number, TcpSocket[]>();
  for (const pid of pids) {
    const inodes = await socketInodes(pid);
    out.set(
      pid,
      [...inodes].flatMap((i) => byInode.get(i) ?? []),
    );
  }
  return out;
}

/**
 * Whether a connection's remote end is one of `upstreams`: an upstream without an address matches
 * any address on its port (backends on this host: the port is the colour's own); one with an
 * address only that address (on a swarm both colours' tasks listen on the same port).
 */
export function toUpstream(remote: Upstream, upstreams: Upstream[]): boolean {
  return upstreams.some((u) => u.port === remote.port && (u.address === undefined || u.address === remote.address));
}
