import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** What to do with a response once its status and headers are known. */
export type CaptureMode =
  /** Forward to the client and record the body (it may be stored). */
  | 'record'
  /** Forward to the client untouched; record nothing. */
  | 'pass'
  /** Forward nothing: something else answers the client (a stale entry in place of an error). */
  | 'swallow';

export interface CapturedResponse {
  readonly status: number;
  /**
   * The headers as the handler and the middleware after the cache set them, taken when the handler committed them:
   * before middleware mounted before the cache (compression, a session) change them on their way out.
   */
  readonly headers: OutgoingHttpHeaders;
  /** The whole body, or undefined when it was not recorded (too large, or the mode said not to). */
  readonly body: Buffer | undefined;
}

export interface CaptureHooks {
  /**
   * Called once, when the handler commits status and headers, with the headers as it and the middleware after the
   * cache set them; returns what to do with the body.
   */
  onHeaders(status: number, headers: OutgoingHttpHeaders): CaptureMode;
  /**
   * Called once the headers have gone out, with the headers as sent: middleware before the cache may add to them as
   * they go (express-session's Set-Cookie, say). False stops recording: the response is not kept.
   */
  onSent?(headers: OutgoingHttpHeaders): boolean;
  /** Called when recording stopped on its own: the body passed `maxBodyBytes`, or `onSent` said no. */
  onStopped?(): void;
  /** Called once: with the response when the handler ended it, with undefined when it was abandoned. */
  onEnd(captured: CapturedResponse | undefined): void;
  maxBodyBytes: number;
  /** Forward no body (a background refresh has no client); headers are still committed, to a response with no socket. */
  detached?: boolean;
}

type Callback = (error?: Error | null) => void;

/** The response's own methods, for writing to the client past the capture. */
export interface ResponseWriter {
  writeHead(status: number, headers?: readonly string[]): void;
  end(body?: Buffer): void;
}

/**
 * Records a response as the handler writes it, whichever way it writes: `res.send`/`res.json` (one `end`), several
 * `write`s, a piped stream, or `writeHead` with headers. Wraps `writeHead`, `write` and `end` in the manner of the
 * `compression` middleware, so backpressure and callbacks behave as without us. Past `maxBodyBytes` it stops
 * recording and drops what it had, so a large response streams through with bounded memory.
 *
 * The one capture point: what is recorded is what reaches the cache's wrappers, the response as the handler (and the
 * middleware after the cache) produced it: status, headers and body bytes before compression or any other outer
 * middleware changes them. Whether it may be kept is judged again on the headers as they finally went out.
 */
export function captureResponse(res: ServerResponse, hooks: CaptureHooks): ResponseWriter {
  const originalWriteHead = res.writeHead;
  const originalWrite = res.write;
  const originalEnd = res.end;
  let mode: CaptureMode | undefined;
  let produced: OutgoingHttpHeaders = {};
  let chunks: Buffer[] = [];
  let size = 0;
  let finished = false;

  const decide = (): CaptureMode => {
    if (mode === undefined) {
      produced = res.getHeaders();
      mode = hooks.onHeaders(res.statusCode, produced);
    }
    return mode;
  };
  const stop = () => {
    mode = 'pass';
    chunks = [];
    hooks.onStopped?.();
  };
  const sent = () => {
    if (mode === 'record' && hooks.onSent && !hooks.onSent(res.getHeaders())) stop();
  };
  const forward = () => !hooks.detached && mode !== 'swallow';
  const record = (chunk: unknown, encoding: unknown) => {
    if (mode !== 'record' || chunk == null || typeof chunk === 'function') return;
    const buffer = toBuffer(chunk, encoding);
    size += buffer.length;
    if (size > hooks.maxBodyBytes) return stop();
    if (buffer.length > 0) chunks.push(buffer);
  };
  const finish = (captured: CapturedResponse | undefined) => {
    if (finished) return;
    finished = true;
    hooks.onEnd(captured);
  };

  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    const [reasonOrHeaders, maybeHeaders] = rest;
    const headers = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    if (typeof reasonOrHeaders === 'string') this.statusMessage = reasonOrHeaders;
    // Fold headers passed to writeHead into the response, so what we record is what the client gets.
    if (headers) applyHeaders(this, headers);
    this.statusCode = status;
    decide();
    if (mode === 'swallow') return this;
    // Also for a background refresh, which has no client: the headers are stored in the response, not written to
    // any socket, and the hooks of the middleware before the cache run as for a client, so onSent sees what they add.
    const result = originalWriteHead.call(this, status);
    sent();
    return result;
  } as ServerResponse['writeHead'];

  res.write = function write(this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown) {
    if (!this.headersSent && mode === undefined) this.writeHead(this.statusCode);
    record(chunk, encoding);
    if (!forward()) {
      invokeCallback(encoding, callback);
      return true;
    }
    return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
  } as ServerResponse['write'];

  res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) {
    if (mode === undefined) this.writeHead(this.statusCode);
    record(chunk, encoding);
    const captured = mode === 'record'
      ? { status: this.statusCode, headers: produced, body: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size) }
      : { status: this.statusCode, headers: produced, body: undefined };
    chunks = [];
    if (forward()) (originalEnd as (...args: unknown[]) => void).call(this, chunk, encoding, callback);
    else {
      invokeCallback(chunk, encoding ?? callback);
      if (hooks.detached) this.emit('finish');
    }
    finish(captured);
    return this;
  } as ServerResponse['end'];

  // A client that goes away mid-response leaves `end` uncalled: release anyone waiting on this response.
  res.once('close', () => finish(undefined));

  return {
    writeHead: (status, headers) => {
      originalWriteHead.call(res, status, headers as string[] | undefined);
    },
    end: (body) => {
      (originalEnd as (...args: unknown[]) => void).call(res, body);
    },
  };
}

/** Sets headers given to `writeHead` on the response: an object, or a raw `[name, value, …]` list with repeats kept. */
function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    // Raw [name, value, name, value] list: values for one name are appended, not overwritten.
    const seen = new Set<string>();
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = String(headers[i]);
      const lower = name.toLowerCase();
      if (!seen.has(lower)) {
        res.removeHeader(name);
        seen.add(lower);
      }
      res.appendHeader(name, headers[i + 1] as string | string[]);
    }
    return;
  }
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value as string | number | string[]);
  }
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

function invokeCallback(...candidates: unknown[]): void {
  const callback = candidates.find((c) => typeof c === 'function') as Callback | undefined;
  if (callback) process.nextTick(callback);
}
