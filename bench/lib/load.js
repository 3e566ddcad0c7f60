// Drives HTTP load at one target with autocannon, from this process, to 127.0.0.1 only.
// Every run is bounded: by `duration` seconds, or by `amount` requests with a hard time cap.
import autocannon from 'autocannon';

/**
 * @typedef {object} LoadOptions
 * @property {string} base           http://127.0.0.1:port of the target
 * @property {string | (() => string)} path  a fixed path, or a function giving each request's path
 * @property {number} connections
 * @property {number} [duration]     seconds
 * @property {number} [amount]       total requests (then `maxSeconds` caps the time)
 * @property {number} [maxSeconds]   hard cap on an `amount` run
 * @property {number} [timeout]      seconds before a request counts as a timeout
 * @property {(status: number, latencyMs: number) => void} [onResponse]
 * @property {(err: Error) => void} [onError]
 */

/**
 * @param {LoadOptions} opts
 * @returns {Promise<{ requests: number, reqPerSec: number, seconds: number, p50: number, p99: number, max: number,
 *   errors: number, timeouts: number, non2xx: number }>}
 */
export async function runLoad(opts) {
  assertLoopback(opts.base);
  const instance = autocannon(autocannonOptions(opts));
  if (opts.onResponse) instance.on('response', (_client, status, _bytes, time) => opts.onResponse(status, time));
  if (opts.onError) instance.on('reqError', opts.onError);
  let cap;
  if (opts.amount !== undefined) cap = setTimeout(() => instance.stop(), (opts.maxSeconds ?? 120) * 1000);
  try {
    return summarise(await instance);
  } finally {
    clearTimeout(cap);
  }
}

function autocannonOptions({ base, path, connections, duration, amount, timeout = 10 }) {
  const options = { url: base, connections, timeout, duration: duration ?? 600 };
  if (amount !== undefined) {
    options.amount = amount;
    // autocannon refuses more connections than requests
    options.connections = Math.min(connections, amount);
  }
  if (typeof path === 'function') {
    // setupRequest runs per request, so a shared generator spreads paths over all connections.
    options.requests = [{ setupRequest: (req) => ((req.path = path()), req) }];
  } else {
    options.url = `${base}${path}`;
  }
  return options;
}

function summarise(result) {
  const seconds = result.duration;
  const requests = result.requests.total;
  return {
    requests,
    seconds,
    reqPerSec: requests / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

function assertLoopback(base) {
  const { hostname } = new URL(base);
  if (!/^127\.\d+\.\d+\.\d+$/.test(hostname) && hostname !== 'localhost' && hostname !== '[::1]') {
    throw new Error(`refusing to send load to ${hostname}: the bench only targets the loopback interface`);
  }
}
