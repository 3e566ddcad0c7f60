// An app that mounts the cache among the middleware real apps use, run as its own process by middleware.test.ts
// (through spawn-child-app.ts). LAYOUT says which middleware and in which order:
//   compression-before | compression-after   compression() before or after app.use(cache)
//   session-rolling | session-uninitialized  express-session before the cache, rolling / saveUninitialized
//                                            (rolling: the cache is told to ignore the session cookie)
//   helmet-before | helmet-after             helmet() before or after the cache
//   cors-before | cors-after                 cors({ origin: true }) before or after the cache
//   plain                                    the cache alone (static files, ranges, streams, errors)
// Routes: /send, /json, /writes, /pipe (about 4 KB each, so compression compresses them), /events (a stream of
// server-sent events that never ends), /files/* (express.static), /sendfile, /throw-after-headers, /next-error,
// /slow-body. Before the cache: /__runs (how often each route ran) and /__stats (the cache's figures).
// Prints `{"port":N}` once it listens; exits on SIGTERM.
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import compression from 'compression';
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { resilientCache } from '../../src/index.js';
import { PARAGRAPH } from './paragraph.js';

const layout = process.env['LAYOUT'] ?? 'plain';
// With a rolling session, this app (wrongly) tells the cache its session cookie never changes a page: the cookie
// added as each response goes out is then what must stop the response being stored.
const cache = resilientCache({ ttl: '60s', ...(layout === 'session-rolling' ? { ignoreCookies: ['connect.sid'] } : {}) });
const runs: Record<string, number> = {};
const counted = (name: string) => runs[name] = (runs[name] ?? 0) + 1;


const around: Record<string, { before: RequestHandler[]; after: RequestHandler[] }> = {
  'compression-before': { before: [compression()], after: [] },
  'compression-after': { before: [], after: [compression()] },
  'session-rolling': { before: [session({ secret: 's', resave: false, saveUninitialized: false, rolling: true })], after: [] },
  'session-uninitialized': { before: [session({ secret: 's', resave: false, saveUninitialized: true })], after: [] },
  'helmet-before': { before: [helmet()], after: [] },
  'helmet-after': { before: [], after: [helmet()] },
  'cors-before': { before: [cors({ origin: true })], after: [] },
  'cors-after': { before: [], after: [cors({ origin: true })] },
  plain: { before: [], after: [] },
};
const chosen = around[layout];
if (!chosen) throw new Error(`unknown LAYOUT ${layout}`);

const app = express();
app.get('/__runs', (_req, res) => void res.json(runs));
app.get('/__stats', (_req, res) => void res.json(cache.stats()));
for (const middleware of chosen.before) app.use(middleware);
app.use(cache);
for (const middleware of chosen.after) app.use(middleware);

app.get('/send', (_req, res) => {
  counted('/send');
  res.type('text/plain').send(PARAGRAPH);
});
app.get('/json', (_req, res) => {
  counted('/json');
  res.json({ text: PARAGRAPH, list: [1, 2, 3] });
});
app.get('/writes', (_req, res) => {
  counted('/writes');
  res.type('text/plain');
  for (const part of PARAGRAPH.match(/.{1,700}/gs) ?? []) res.write(part);
  res.end();
});
app.get('/pipe', (_req, res) => {
  counted('/pipe');
  res.type('text/plain');
  Readable.from((PARAGRAPH.match(/.{1,500}/gs) ?? []).map((part) => Buffer.from(part))).pipe(res);
});
app.get('/events', (req, res) => {
  counted('/events');
  const noCache = req.query['nocache'] === '1';
  res.writeHead(200, { 'Content-Type': 'text/event-stream', ...(noCache ? { 'Cache-Control': 'no-cache' } : {}) });
  res.write('data: first\n\n');
  const timer = setInterval(() => res.write('data: tick\n\n'), 500);
  res.on('close', () => clearInterval(timer));
});
const files = fileURLToPath(new URL('./static/', import.meta.url));
app.use('/files', (req, _res, next) => {
  counted(`/files${req.path}`);
  next();
}, express.static(files));
app.get('/sendfile', (_req, res) => {
  counted('/sendfile');
  res.sendFile('hundred.txt', { root: files });
});
app.get('/throw-after-headers', (_req, res) => {
  counted('/throw-after-headers');
  res.type('text/plain');
  res.write('partial ');
  throw new Error('handler failed after writing headers');
});
app.get('/next-error', (_req, _res, next) => {
  counted('/next-error');
  next(new Error('handler failed'));
});
app.get('/slow-body', (_req, res) => {
  counted('/slow-body');
  res.type('text/plain');
  res.write('first half, ');
  setTimeout(() => res.end('second half'), 300);
});
app.get('/start-session', (req, res) => {
  (req as unknown as { session: { started?: boolean } }).session.started = true;
  res.type('text/plain').send('started');
});
app.get('/plain', (_req, res) => {
  counted('/plain');
  res.type('text/plain').send('plain');
});
// No 'x-powered-by' change: Express sets it before the cache, as in any app; helmet after the cache removes it.
// Errors end the connection quietly, without a stack trace on stderr.
app.use(((error, _req, res, next) => {
  if (res.headersSent) return void res.destroy();
  void error;
  next(new Error('failed'));
}) as express.ErrorRequestHandler);

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void cache.close().then(() => process.exit(0)));
});
