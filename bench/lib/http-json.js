// One-shot GET of a JSON control endpoint (/__bench/*) on a target. A fresh connection per call
// (agent: false) so the control traffic never shares a socket with the load or lingers after a run.
import http from 'node:http';

/**
 * @param {string} url
 * @param {number} [timeoutMs]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string, json?: any }>}
 */
export function getText(url, timeoutMs = 10_000, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET and parse JSON; rejects on a non-2xx status. */
export async function getJson(url, timeoutMs, method = 'GET') {
  const res = await getText(url, timeoutMs, method);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body);
}

/** POST with no body to a control endpoint and parse its JSON answer. */
export function postJson(url, timeoutMs) {
  return getJson(url, timeoutMs, 'POST');
}
