import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { healthRouter, resilientCache, statsRouter, type ResilientCache } from '../../src/index.js';
import { listen, request, xCache, type RunningApp } from '../helpers/app.js';
import { EXPRESS4_REQUESTED, EXPRESS_MAJOR, EXPRESS_VERSION } from '../helpers/express-version.js';

// What differs between Express 4 and 5 and must not show: route names (their pattern syntaxes differ, and Express 4
// keeps a mount's pattern only compiled), async handlers in the package's routers (Express 4 ignores a rejected
// promise), and keys (the host with its port, on both). Runs under `npm test` (Express 5) and `npm run test:express4`.

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function start(setup: (app: Express, cache: ResilientCache) => void): Promise<{ app: RunningApp; cache: ResilientCache }> {
  const cache = resilientCache({ ttl: '60s' });
  const web = express();
  setup(web, cache);
  const app = await listen(web);
  closers.push(async () => {
    await app.close();
    await cache.close();
  });
  return { app, cache };
}

const ok: RequestHandler = (_req, res) => void res.send('ok');

function router(path: string, inner?: (r: express.Router) => void): express.Router {
  const r = express.Router({ mergeParams: true });
  r.get(path, ok);
  inner?.(r);
  return r;
}

it(`runs on the Express this run asked for (${EXPRESS_VERSION}), in the package's own code too`, () => {
  assert.equal(EXPRESS_MAJOR, EXPRESS4_REQUESTED ? 4 : 5);
  const cache = resilientCache();
  closers.push(() => cache.close());
  // src/ imports `Router` from 'express' itself: it must be the same Express the app runs on.
  assert.equal(healthRouter(cache).route, express.Router().route);
});

describe('route names', () => {
  /** Each version's own syntax for the same routes, and the names they get: the patterns as written. */
  const own = EXPRESS_MAJOR === 4
    ? { files: '/files/*', optional: '/opt/:id?', ext: '/ext/:id.:ext', mountOptional: '/o/:oid?' }
    : { files: '/files/*path', optional: '/opt{/:id}', ext: '/ext/:id{.:ext}', mountOptional: '/o{/:oid}' };

  const requests: Array<[path: string, name: string]> = [
    ['/t/acme/items', '/t/:tenant/items'],
    ['/t/globex/items/7', '/t/:tenant/items/:id'],
    ['/T/ACME/items', '/t/:tenant/items'], // matched case-insensitively: still the pattern, not the request's text
    ['/t/acme/p/web/docs/intro', '/t/:tenant/p/:project/docs/:doc'],
    ['/sub/s1/hello/1', '/sub/:sid/hello/:x'],
    ['/sub/s2/r/9/deep', '/sub/:sid/r/:rid/deep'],
    ['/a', '/a|/b/:id'],
    ['/b/3', '/a|/b/:id'],
    ['/m1/y', '/m1|/m2/:id/y'],
    ['/m2/3/y', '/m1|/m2/:id/y'],
    ['/re/42', String(/^\/re\/(\d+)$/)],
    ['/rm/5/x', `${String(/^\/rm\/\d+/)}/x`],
    ['/file-9/z', '/file-:fid/z'],
    ['/files/a/b.txt', own.files],
    ['/opt', own.optional],
    ['/opt/3', own.optional],
    ['/ext/a.png', own.ext],
    ['/o/4/z', `${own.mountOptional}/z`],
    ['/', '/'],
    ['/nowhere', '(unmatched)'],
  ];
  /**
   * Express 4 keeps a mount's pattern only compiled, and the name is read back from that: the pattern forms only
   * Express 4 has, each mounted with a router answering `/z`. [mount pattern, request, name]
   */
  type Pattern = string | RegExp | Pattern[];
  const express4Mounts: Array<[mount: Pattern, path: string, name: string]> = EXPRESS_MAJOR === 4
    ? [
      ['/x/:rest*', '/x/a/b/z', '/x/:rest*/z'],
      ['/d/:id(\\d+)', '/d/12/z', '/d/:id(\\d+)/z'],
      ['/u/(\\d+)', '/u/34/z', '/u/(\\d+)/z'],
      ['/w/*/y', '/w/q/y/z', '/w/*/y/z'],
      ['/v/:a-:b', '/v/1-2/z', '/v/:a-:b/z'],
      [['/mix', /^\/mre(\d)/, '/mid/:id'], '/mid/5/z', `/mix|${String(/^\/mre(\d)/)}|/mid/:id/z`],
      [[['/n1', ['/n2/:q']]], '/n2/7/z', '/n1|/n2/:q/z'],
    ]
    : [];

  it('are the mount and route patterns as written: nested routers, sub-apps, lists and RegExps', async () => {
    const { app, cache } = await start((web, cache) => {
      web.use(cache);
      web.use('/t/:tenant', router('/items', (r) => {
        r.get('/items/:id', ok);
        r.use('/p/:project', router('/docs/:doc'));
      }));
      const sub = express();
      sub.get('/hello/:x', ok);
      sub.use('/r/:rid', router('/deep'));
      web.use('/sub/:sid', sub);
      web.get(['/a', '/b/:id'], ok);
      web.use(['/m1', '/m2/:id'], router('/y'));
      web.get(/^\/re\/(\d+)$/, ok);
      web.use(/^\/rm\/\d+/, router('/x'));
      web.use('/file-:fid', router('/z'));
      web.get(own.files, ok);
      web.get(own.optional, ok);
      web.get(own.ext, ok);
      web.use(own.mountOptional, router('/z'));
      web.get('/', ok);
      for (const [mount] of express4Mounts) web.use(mount as string, router('/z'));
    });
    requests.push(...express4Mounts.map(([, path, name]): [string, string] => [path, name]));
    for (const [path] of requests) {
      const res = await request(app.base, path);
      assert.equal(res.status, path === '/nowhere' ? 404 : 200, path);
    }
    const names = cache.stats().names;
    for (const [path, name] of requests) assert.ok(names[name], `${path} is counted under ${name}; names: ${Object.keys(names).join(' ')}`);
    assert.deepEqual(Object.keys(names).sort(), [...new Set(requests.map(([, name]) => name))].sort());
  });
});

describe("the package's routers on an async failure", () => {
  it('pass the error to next(), on Express 4 too', async () => {
    const failures: string[] = [];
    const onRejection = (reason: unknown) => void failures.push(`unhandled rejection: ${String(reason)}`);
    process.on('unhandledRejection', onRejection);
    try {
      const { app } = await start((web, cache) => {
        // What goes wrong after the router's await: the response cannot be sent.
        web.use((_req, res, next) => {
          res.json = res.send = () => {
            throw new Error('cannot send');
          };
          next();
        });
        web.use('/health', healthRouter(cache));
        web.use('/stats', statsRouter(cache));
        const handler: ErrorRequestHandler = (error: Error, req, res, _next) => {
          failures.push(`${req.originalUrl}: ${error.message}`);
          res.status(500).end('handled');
        };
        web.use(handler);
      });
      for (const path of ['/health', '/health/ready', '/stats', '/stats/x']) {
        const res = await request(app.base, path, { headers: { accept: 'application/json' } });
        assert.deepEqual([res.status, res.body.toString()], [500, 'handled'], path);
      }
      assert.deepEqual(failures, ['/health: cannot send', '/health/ready: cannot send', '/stats: cannot send', '/stats/x: cannot send']);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});

describe('keys', () => {
  it('two hosts that differ only in their port never share an entry', async () => {
    let calls = 0;
    const { app } = await start((web, cache) => {
      web.use(cache);
      web.get('/page', (req, res) => void res.send(`page ${++calls} for ${String(req.headers.host)}`));
    });
    const get = async (host: string) => {
      const res = await request(app.base, '/page', { headers: { host } });
      return `${xCache(res)} ${res.body.toString()}`;
    };
    assert.equal(await get('a.test:8080'), 'MISS page 1 for a.test:8080');
    assert.equal(await get('a.test:9090'), 'MISS page 2 for a.test:9090');
    assert.equal(await get('a.test:8080'), 'HIT page 1 for a.test:8080');
    assert.equal(await get('a.test:9090'), 'HIT page 2 for a.test:9090');
  });
});
