// Counts the work of N memory-tier hits in one process, for valgrind's callgrind, which counts instructions rather
// than time and so is not thrown off by whatever else the shared machine is doing. The client is in the same
// process; it does the same work for every build, so compare two builds' totals, never one total on its own.
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded bench/hit-instructions.js DIST N
//
// DIST: a build of the package (dist, or a baseline copy); N: hits to send (default 3000). Run it with N = 0 too
// to see the start-up share. Expect about 1% between two runs of the same build (the JIT's choices vary).
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { BODY, JSON_TYPE } from './lib/body.js';

const [dist = 'dist', count = '3000'] = process.argv.slice(2);
const { resilientCache } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
const hits = Number(count);
const cache = resilientCache({});
const app = express();
app.use(cache);
app.get('/item/:n', (_req, res) => res.set('Content-Type', JSON_TYPE).send(BODY));
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const get = (url) => new Promise((done, fail) => {
  request(url, { agent }, (res) => res.resume().on('end', done)).on('error', fail).end();
});
const server = app.listen(0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${server.address().port}/item/1`;
  for (let i = 0; i <= hits; i++) await get(url); // the first one fills the entry
  await cache.close();
  server.close();
  agent.destroy();
});
