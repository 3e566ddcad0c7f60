// The uncached origin (20 ms simulated backend call): the reference for the `miss` scenario.
import { origin, slow, startTarget } from '../lib/target-kit.js';

await startTarget('origin', async (app) => {
  app.get('/item/:n', origin);
  app.get('/slow/:n', slow);
});
