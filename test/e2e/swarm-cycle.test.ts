/**
 * Blue-green on the real three-node test swarm with the built-in proxy as the edge proxy: the
 * shared body in helpers/swarm-cycle.ts (init, deploy, canary, sticky split, rollback under load
 * on every node).
 */
import { describeSwarmCycle } from '../helpers/swarm-cycle.ts';

describeSwarmCycle({ proxy: 'builtin' });
