import express from 'express';
import { healthRouter, statsRouter } from 'express-resilient-cache';

/**
 * The example API: a product catalogue behind the cache.
 *
 * @param {{ cache: import('express-resilient-cache').ResilientCache, catalogue: ReturnType<typeof import('./data-source.js').createCatalogue> }} deps
 */
export function createApp({ cache, catalogue }) {
  const app = express();
  app.use(express.json());

  // The package's routers are never cached or counted, wherever they are mounted; first is simply clearest.
  app.use('/health', healthRouter(cache));
  app.use('/stats', statsRouter(cache));

  // Every cacheable GET/HEAD below this line is looked up once and stored after it is sent.
  // The routes add a counter name and tags, or opt out.
  app.use(cache);

  app.get('/products', cache.route({ name: 'products', tags: ['products'] }), handle(async (_req, res) => {
    res.json(await catalogue.list());
  }));

  app.get('/products/:id', cache.route({ name: 'product', tags: (req) => [`product:${req.params.id}`] }), handle(async (req, res) => {
    const product = await catalogue.get(req.params.id);
    // A 404 is not stored (only 200 is, by default), so a product created later shows up at once.
    if (!product) return void res.status(404).json({ error: 'no such product' });
    res.json(product);
  }));

  // The response carries the moment of the quote, so it is never cached; the slow pricing call is, as a value,
  // and the product's tag drops it when the product changes.
  app.get('/products/:id/price', cache.route(false), handle(async (req, res) => {
    const id = req.params.id;
    const price = await cache.getOrSet(`price:${id}`, () => catalogue.quote(id), { ttl: '5m', name: 'price', tags: [`product:${id}`] });
    if (!price) return void res.status(404).json({ error: 'no such product' });
    res.json({ id, ...price, quotedAt: new Date().toISOString() });
  }));

  app.get('/time', cache.route(false), (_req, res) => {
    res.json({ now: new Date().toISOString() });
  });

  app.put('/products/:id', handle(async (req, res) => {
    const changes = productChanges(req.body);
    if (typeof changes === 'string') return void res.status(400).json({ error: changes });
    const product = await catalogue.update(req.params.id, changes);
    if (!product) return void res.status(404).json({ error: 'no such product' });
    // The cache drops this URL's own entry by itself once this PUT answers 200 (RFC 9111: a successful unsafe
    // request invalidates its target). The list and the cached price live at other keys: they go by tag, in Redis
    // and in memory (queued if Redis is out).
    await cache.invalidate({ tags: [`product:${product.id}`, 'products'] });
    res.json(product);
  }));

  return app;
}

/**
 * An async route handler whose rejection goes to `next(err)`, to Express's error handler. Express 5 does this by
 * itself; Express 4 does not, and a rejected handler there would leave the request hanging (and the rejection unhandled).
 *
 * @param {(req: import('express').Request, res: import('express').Response) => Promise<void>} handler
 * @returns {import('express').RequestHandler}
 */
function handle(handler) {
  return function asyncRoute(req, res, next) {
    handler(req, res).catch(next);
  };
}

/** The fields a PUT may change, or a message saying what is wrong with the body. */
function productChanges(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'send a JSON object, e.g. {"name": "Cup", "basePrice": 10}';
  }
  const changes = {};
  if (body.name !== undefined) {
    if (typeof body.name !== 'string' || body.name.trim() === '') return '"name" must be a non-empty string';
    changes.name = body.name.trim();
  }
  if (body.basePrice !== undefined) {
    if (typeof body.basePrice !== 'number' || !Number.isFinite(body.basePrice) || body.basePrice < 0) {
      return '"basePrice" must be a number of 0 or more';
    }
    changes.basePrice = body.basePrice;
  }
  if (Object.keys(changes).length === 0) return 'nothing to change: give "name" and/or "basePrice"';
  return changes;
}
