// apicache with its default in-memory store, mounted the way its README shows (app.use).
import apicache from 'apicache';
import { origin, slow, startTarget } from '../lib/target-kit.js';

await startTarget('apicache', async (app) => {
  app.use(apicache.middleware('10 minutes'));
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
  return { stats: () => ({ entries: apicache.getIndex().all.length }) };
});
