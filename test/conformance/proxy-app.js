// Reverse proxy for the HTTP caching conformance suite (../shared/http-cache-tests): the cache under test in
// front, then a catch-all handler that forwards every request to the suite's origin server.
//   ORIGIN=http://127.0.0.1:8000 PORT=3000 MODE=none|default|response node test/conformance/proxy-app.js
// The proxy itself must be transparent: whatever the suite sees beyond the origin's behaviour is the cache's doing.
import http from 'node:http';
import { pipeline } from 'node:stream';
import express from 'express';
import { resilientCache, CacheConfigError } from 'express-resilient-cache';

const { ORIGIN, PORT, MODE = 'default' } = process.env;
if (!ORIGIN || !PORT) {
  console.error('proxy-app: ORIGIN and PORT must be set (run.sh sets them)');
  process.exit(2);
}
const origin = new URL(ORIGIN);

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are never forwarded, in either direction;
// so are Proxy-* fields, which address the proxy itself. Node frames the messages on each side by itself.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const isHopByHop = (lower) => HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');

// Raw headers ([name, value, name, value, ...]) to { name: value | [values] }, minus hop-by-hop ones and those
// the Connection header names. Raw headers keep every line of a repeated header (several Cache-Control or
// Set-Cookie lines) and the origin's spelling, which Node's folded `headers` object would not.
function endToEnd(raw) {
  const dropped = new Set();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') {
      for (const token of raw[i + 1].split(',')) dropped.add(token.trim().toLowerCase());
    }
  }
  const out = {};
  const names = {}; // lower-case name -> the first spelling seen, so repeated lines join one entry
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (isHopByHop(lower) || dropped.has(lower)) continue;
    const name = (names[lower] ??= raw[i]);
    out[name] = name in out ? [].concat(out[name], raw[i + 1]) : raw[i + 1];
  }
  return out;
}

function makeCache() {
  if (MODE === 'none') return null;
  if (MODE === 'default') return resilientCache(); // memory only: no `redis` option
  if (MODE === 'response') {
    try {
      return resilientCache({ ttlFrom: 'response' });
    } catch (error) {
      if (!(error instanceof CacheConfigError)) throw error;
      // run.mjs looks for this line to report the mode as "not available" instead of failing.
      console.error(`proxy-app: MODE=response not available: ${error.message}`);
      process.exit(1);
    }
  }
  console.error(`proxy-app: unknown MODE=${MODE} (none, default or response)`);
  process.exit(2);
}

const app = express();
app.disable('etag'); // Express would add ETags (and answer If-None-Match itself): caching the origin did not ask for
app.disable('x-powered-by');
const cache = makeCache();
if (cache) app.use(cache);

// Mounted after the cache, so it runs only for what the cache did not answer.
app.use((req, res) => {
  const headers = endToEnd(req.rawHeaders);
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'host') delete headers[name];
  headers.host = origin.host; // the origin is addressed by its own authority, not the proxy's
  let answer;
  const upstream = http.request({
    host: origin.hostname,
    port: origin.port,
    method: req.method,
    path: req.originalUrl, // path and query as the client sent them (req.url may be trimmed by mounting)
    headers,
    // A fresh connection per request: some tests send a body longer than their Content-Length, and on a
    // kept-alive socket those extra bytes would corrupt the next test's response.
    agent: false,
  }, (response) => {
    answer = response;
    res.sendDate = false; // relay the origin's Date (or its absence); Node would add one of its own
    res.statusCode = answer.statusCode;
    res.statusMessage = answer.statusMessage;
    // setHeader (not writeHead's raw array) so the cache's capture sees the headers via getHeaders().
    for (const [name, value] of Object.entries(endToEnd(answer.rawHeaders))) res.setHeader(name, value);
    // pipeline, not pipe: an origin that stops mid-body cuts the client off too, instead of leaving it waiting.
    pipeline(answer, res, () => {});
  });
  upstream.on('error', (error) => {
    if (answer?.complete) return; // a whole response came, then junk (a body past Content-Length): relay as is
    if (answer) return res.destroy(); // cut off mid-response: pipeline passes that on
    // No response at all (the stale-* tests close the connection): what a gateway answers, so a cache can
    // tell an origin failure (and serve stale-if-error) from a response.
    res.status(502).type('text/plain').end(`proxy-app: origin failed: ${error.message}\n`);
  });
  // GET and HEAD carry no body; unsafe methods stream theirs through (chunked if the client sent no length).
  if (req.method === 'GET' || req.method === 'HEAD') upstream.end();
  else req.pipe(upstream);
});

app.listen(Number(PORT), '127.0.0.1', () => console.log(`proxy-app: MODE=${MODE} on :${PORT} -> ${ORIGIN}`));
