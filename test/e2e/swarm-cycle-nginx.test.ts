/**
 * Blue-green on the real three-node test swarm with nginx as the edge proxy (`proxy.kind: nginx`):
 * the shared body in helpers/swarm-cycle.ts (init, deploy, canary, sticky split, rollback under
 * load on every node, 0 failed requests). And I3a on the swarm: every node's nginx runs the same
 * config with the same workers from init to the end, so no deploy, switch or split reloaded it.
 */
import assert from 'node:assert/strict';
import { describeSwarmCycle } from '../helpers/swarm-cycle.ts';
import { NODES, onNode } from '../helpers/swarm.ts';

/** Each node's edge replica: its nginx.conf and the pids of its nginx workers. */
function nginxOnEveryNode(app: string): string {
  return NODES.map((n) => {
    const id = onNode(n, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${app}_edge`]).trim();
    assert.match(id, /^[0-9a-f]+$/, `one edge replica on node ${n}`);
    const script =
      'cat /state/nginx-*/nginx.conf; for p in /proc/[0-9]*; do c=$(tr "\\0" " " < $p/cmdline 2>/dev/null); ' +
      'case "$c" in "nginx: worker"*) echo "worker ${p#/proc/}";; esac; done';
    const out = onNode(n, ['exec', id, 'sh', '-c', script]);
    assert.match(out, /^worker \d+$/m, `node ${n} runs nginx workers`);
    return `node ${n}\n${out}`;
  }).join('\n');
}

describeSwarmCycle({ proxy: 'nginx', edgeSnapshot: nginxOnEveryNode });
