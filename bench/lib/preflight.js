// Before any load: start each target once, check it serves the expected body twice (miss, then hit),
// and set aside the ones that cannot start (e.g. ours before `npm run build`), with the reason.
import { BODY } from './body.js';
import { startTargetProcess } from './target-process.js';

/**
 * @param {string[]} targets
 * @param {{ url: string, flush(): Promise<unknown> }} redis
 * @returns {Promise<{ available: string[], unavailable: Record<string, string>, checks: Record<string, object> }>}
 */
export async function preflight(targets, redis) {
  const available = [];
  const unavailable = {};
  const checks = {};
  for (const name of targets) {
    await redis.flush();
    try {
      checks[name] = await check(name, redis.url);
      available.push(name);
    } catch (err) {
      unavailable[name] = err.message;
    }
  }
  return { available, unavailable, checks };
}

async function check(name, redisUrl) {
  const target = await startTargetProcess(name, { redisUrl, scenario: 'preflight' });
  try {
    const first = await target.get('/item/preflight');
    const second = await target.get('/item/preflight');
    for (const res of [first, second]) {
      if (res.status !== 200 || res.body !== BODY) throw new Error(`GET /item/preflight answered ${res.status} with a ${res.body.length}-byte body, not the 1 KB bench body`);
    }
    return { xCache: [first.headers['x-cache'], second.headers['x-cache']], contentType: second.headers['content-type'] };
  } finally {
    await target.stop();
  }
}
