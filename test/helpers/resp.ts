import { connect } from 'node:net';

/** An error reply (`-ERR ...`) from Redis. */
export class RespError extends Error {
  override readonly name = 'RespError';
}

/** A decoded RESP2 reply. `null` is a nil bulk string or nil array. */
export type RespValue = string | number | null | RespError | RespValue[];

/** Encodes a command as a RESP array of bulk strings, the form Redis expects from clients. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const body = Buffer.from(arg, 'utf8');
    parts.push(Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Decodes one reply starting at `offset`.
 * @returns the value and the offset just past it, or `undefined` when `buf` does not hold a whole reply yet.
 */
export function parseReply(buf: Buffer, offset = 0): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*':
      return parseArray(buf, Number(line), next);
    default:
      throw new Error(`resp: unexpected reply type byte ${JSON.stringify(type)}`);
  }
}

function parseArray(buf: Buffer, count: number, start: number): { value: RespValue; end: number } | undefined {
  if (count < 0) return { value: null, end: start };
  const items: RespValue[] = [];
  let end = start;
  for (let i = 0; i < count; i++) {
    const item = parseReply(buf, end);
    if (item === undefined) return undefined;
    items.push(item.value);
    end = item.end;
  }
  return { value: items, end };
}

/** Flattens a reply to text: nil becomes `''`, arrays are joined with `\n`, nested errors show their message. */
export function replyToString(value: RespValue): string {
  if (value === null) return '';
  if (Array.isArray(value)) return value.map(replyToString).join('\n');
  if (value instanceof RespError) return value.message;
  return String(value);
}

/**
 * Sends one command over a fresh connection and resolves with its reply.
 * Rejects with {@link RespError} on an error reply, and with a plain `Error` on a socket error,
 * an early close, or no reply within `timeoutMs`.
 */
export function sendCommand(
  target: { host: string; port: number; timeoutMs: number },
  args: readonly string[],
): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = Buffer.alloc(0);
    const finish = (err: Error | undefined, value?: RespValue): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`no reply to ${args[0] ?? ''} from ${target.host}:${target.port} in ${target.timeoutMs} ms`)),
      target.timeoutMs,
    );
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`connection to ${target.host}:${target.port} closed before a reply`)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      let reply;
      try {
        reply = parseReply(received);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (reply === undefined) return;
      if (reply.value instanceof RespError) finish(reply.value);
      else finish(undefined, reply.value);
    });
    socket.write(encodeCommand(args));
  });
}
