import { createHash } from 'node:crypto';
import type { RedisLike } from './redis-client.js';

// Every Lua script the package runs, and how it runs them.

/** A Lua script run by SHA, loaded on first use (or after a server restart) without touching the user's client. */
export class Script {
  readonly #source: string;
  readonly #sha: string;
  /** How many of the arguments are keys; -1: all the keys given (a script over a variable number of keys). */
  readonly #keyCount: number;
  /** Clients this script has been sent to in full (EVAL loads it into the server's script cache). */
  readonly #sent = new WeakSet<RedisLike>();

  constructor(source: string, keyCount: number) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
    this.#keyCount = keyCount;
  }

  async run(client: RedisLike, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
    const keyCount = this.#keyCount === -1 ? keys.length : this.#keyCount;
    // The first run on a client sends the source: an EVALSHA that fails with NOSCRIPT would send the real write a
    // round trip later, behind commands issued meanwhile (a read right after a store would miss it).
    if (!this.#sent.has(client)) {
      this.#sent.add(client);
      return client.eval(this.#source, keyCount, ...keys, ...args);
    }
    try {
      return await client.evalsha(this.#sha, keyCount, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return client.eval(this.#source, keyCount, ...keys, ...args);
    }
  }
}

/**
 * SET with a deadline in server time: a write that reaches Redis after its deadline (it sat in a frozen server's
 * socket buffer, say) is dropped, so it can never resurrect an entry invalidated meanwhile.
 * KEYS[1] entry key; ARGV: bytes, ttl ms, deadline (server epoch ms).
 */
export const storeWithDeadline = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`, 1);

/**
 * Tag and name sets are sorted sets scored by each member's expiry (server epoch ms). Every add drops the members that
 * have expired, so a set that keeps being added to (a busy route's name set never goes quiet, so its own TTL never
 * runs out) holds the live entries only, instead of every key it was ever given. The set lives at least as long as
 * its longest-lived member. Lua helper shared by the scripts below: KEY, member, now, ttl.
 */
const ADD_TO_TAG = `
local function addToTag(tagKey, member, now, ttl)
  redis.call('ZADD', tagKey, now + ttl, member)
  redis.call('ZREMRANGEBYSCORE', tagKey, '-inf', now)
  if redis.call('PTTL', tagKey) < ttl then redis.call('PEXPIRE', tagKey, ttl) end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * `storeWithDeadline` plus the tag and name sets, in one round trip: for a single server, where one script may touch
 * keys in any slot. KEYS[1] entry key, KEYS[2..] tag sets; ARGV: bytes, ttl ms, deadline (server epoch ms).
 */
export const storeTagged = new Script(`${ADD_TO_TAG}
if now > tonumber(ARGV[3]) then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do addToTag(KEYS[i], KEYS[1], now, ttl) end
return 1
`, -1);

/**
 * Adds an entry key to one tag set: one key per call, so it runs on a Redis Cluster whatever slot the entry is in.
 * KEYS[1] tag set; ARGV: entry key, ttl ms.
 */
export const addToTag = new Script(`${ADD_TO_TAG}
addToTag(KEYS[1], ARGV[1], now, tonumber(ARGV[2]))
return 1
`, 1);

/** Compare-and-delete: releases a lock only if it is still ours. KEYS[1] lock; ARGV[1] token. */
export const releaseLock = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`, 1);

/**
 * Adds a batch to one hour's shared counters, at most once: the batch id is remembered next to the hash, so a flush
 * whose reply was lost can be sent again without counting twice. KEYS[1] hour hash, KEYS[2] batch marker (same slot,
 * by hash tag); ARGV: ttl ms, then field, increment pairs.
 */
export const applyCounterBatch = new Script(`
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`, 2);
