import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/** A three-master Redis Cluster of private redis-servers, slots split evenly, no replicas. */
export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** Seed addresses for `new Cluster(...)`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

const SLOT_RANGES = [[0, 5460], [5461, 10922], [10923, 16383]] as const;

/** Starts the nodes, assigns slots, introduces them and waits (bounded) until every node reports `cluster_state:ok`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const busPorts: number[] = [];
  try {
    for (let i = 0; i < SLOT_RANGES.length; i++) {
      // The bus port is set explicitly: the default (port + 10000) can fall outside the port range.
      const busPort = await freePort();
      busPorts.push(busPort);
      nodes.push(await startRedisServer({
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort),
          '--cluster-node-timeout', '5000'],
      }));
    }
    await Promise.all(nodes.map((node, i) => {
      const [from, to] = SLOT_RANGES[i] as readonly [number, number];
      return node.command('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
    }));
    const first = nodes[0] as RedisServer;
    for (let i = 1; i < nodes.length; i++) {
      await first.command('CLUSTER', 'MEET', '127.0.0.1', String((nodes[i] as RedisServer).port), String(busPorts[i]));
    }
    const deadline = Date.now() + 20_000;
    while (true) {
      const infos = await Promise.all(nodes.map((node) => node.command('CLUSTER', 'INFO')));
      if (infos.every((info) => info.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`cluster did not converge:\n${infos.join('\n---\n')}`);
      await sleep(100);
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}
