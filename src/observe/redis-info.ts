import type { TieredStore } from '../stores/tiered-store.js';

/** Figures Redis reports about itself (from INFO), for the stats page. */
export interface RedisServerSummary {
  readonly usedMemory: string;
  readonly usedMemoryBytes: number;
  readonly connectedClients: number;
  readonly totalCommandsProcessed: number;
  readonly keyspaceHits: number;
  readonly keyspaceMisses: number;
}

/** Redis's own figures from INFO, or null when Redis is out or slow. */
export async function readRedisInfo(store: TieredStore, timeoutMs = 1000): Promise<RedisServerSummary | null> {
  let text: string;
  try {
    text = await store.redisCommand('INFO', (redis) => redis.info(), { timeoutMs, requestPath: false });
  } catch {
    return null;
  }
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  const number = (name: string) => Number(fields.get(name) ?? 0);
  return {
    usedMemory: fields.get('used_memory_human') ?? '',
    usedMemoryBytes: number('used_memory'),
    connectedClients: number('connected_clients'),
    totalCommandsProcessed: number('total_commands_processed'),
    keyspaceHits: number('keyspace_hits'),
    keyspaceMisses: number('keyspace_misses'),
  };
}
