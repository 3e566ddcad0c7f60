import { withDeadline } from '../stores/deadline.js';
import type { RedisServerSummary } from './stats-report.js';
import type { TieredStore } from '../stores/tiered-store.js';

/** Redis's own figures from INFO (the seed's get_redis_info), or null when Redis is out or slow. */
export async function readRedisInfo(store: TieredStore, timeoutMs = 1000): Promise<RedisServerSummary | null> {
  const redis = store.redis;
  if (!redis || store.state !== 'redis') return null;
  try {
    const text = await withDeadline(redis.client.info(), timeoutMs, 'INFO');
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
  } catch {
    return null;
  }
}
