// The ceiling: Express routing plus writeHead + end of a constant buffer. No cache can beat it.
import { BODY_BUFFER, JSON_TYPE, startTarget } from '../lib/target-kit.js';

const HEADERS = { 'Content-Type': JSON_TYPE, 'Content-Length': BODY_BUFFER.length };

await startTarget('raw', async (app) => {
  app.get('/item/:n', (req, res) => {
    res.writeHead(200, HEADERS);
    res.end(BODY_BUFFER);
  });
});
