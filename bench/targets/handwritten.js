// The floor for a Redis-backed hit: one ioredis GET per request, SET EX on miss, nothing else
// (no headers kept, no ETag, no stampede guard, no fallback).
import { Redis } from 'ioredis';
import { JSON_TYPE, origin, slow, startTarget } from '../lib/target-kit.js';

const TTL_SECONDS = 600;
let redisHits = 0;

await startTarget('handwritten', async (app) => {
  const redis = new Redis(process.env.REDIS_URL);
  // Without a listener ioredis prints every connection error (e.g. EPIPE from a write racing quit() at shutdown).
  redis.on('error', () => {});
  app.use(async function handwrittenCache(req, res, next) {
    const key = `hw:${req.originalUrl}`;
    let hit;
    try {
      hit = await redis.getBuffer(key);
    } catch {
      return next();
    }
    if (hit) {
      redisHits++;
      res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': hit.length });
      res.end(hit);
      return;
    }
    const end = res.end;
    res.end = function endAndStore(chunk, ...rest) {
      if (res.statusCode === 200 && chunk) redis.set(key, chunk, 'EX', TTL_SECONDS).catch(() => {});
      return end.call(this, chunk, ...rest);
    };
    next();
  });
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
  return { stats: () => ({ redisHits }), close: () => redis.quit() };
});
