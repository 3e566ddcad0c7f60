import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP proxy between a client and redis-server that can misbehave on demand. */
export interface FaultProxy {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** Delays every chunk, both directions, by `ms` (0 passes straight through). Order is always preserved. */
  setLatency(ms: number): void;
  /**
   * On: sockets stay open and new ones are accepted, but nothing is forwarded either way (chunks are dropped,
   * as on a network partition). Off: normal again; client sockets whose upstream went away meanwhile are reset.
   */
  blackhole(on: boolean): void;
  /** Resets (TCP RST) every open client connection. New connections still work. */
  reset(): void;
  /**
   * On: resets every open client connection and stops listening, so new connections get ECONNREFUSED.
   * Off: listens on the same port again.
   */
  refuse(on: boolean): void;
  /** Client connections open right now. */
  connections(): number;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Shared, mutable fault settings read by every lane on every chunk. */
interface Faults {
  latencyMs: number;
  blackholed: boolean;
}

/** Starts a proxy on a free 127.0.0.1 port that forwards to `target`. */
export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const proxy = new ProxyServer({ host: target.host ?? HOST, port: target.port });
  await proxy.listen(0);
  return proxy;
}

/** One direction of one connection: forwards chunks from `source` to `dest`, each no earlier than its due time. */
class Lane {
  readonly #source: Socket;
  readonly #dest: Socket;
  readonly #faults: Faults;
  readonly #onEnd: () => void;
  #queue: Array<{ chunk: Buffer | undefined; due: number }> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(source: Socket, dest: Socket, faults: Faults, onEnd: () => void) {
    this.#source = source;
    this.#dest = dest;
    this.#faults = faults;
    this.#onEnd = onEnd;
  }

  /** Queues a chunk, or `undefined` for end of stream. */
  push(chunk: Buffer | undefined): void {
    if (chunk !== undefined && this.#faults.blackholed) return;
    if (this.#faults.latencyMs === 0 && this.#queue.length === 0) {
      this.#deliver(chunk);
      return;
    }
    // Never due before the chunk ahead of it, so lowering the latency cannot reorder the stream.
    const due = Math.max(performance.now() + this.#faults.latencyMs, this.#queue.at(-1)?.due ?? 0);
    this.#queue.push({ chunk, due });
    this.#schedule();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
  }

  #schedule(): void {
    const head = this.#queue[0];
    if (this.#timer !== undefined || head === undefined) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, Math.ceil(head.due - performance.now())));
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#queue[0] !== undefined && this.#queue[0].due <= now) {
      const { chunk } = this.#queue.shift()!;
      // A black hole that opened while the chunk waited swallows it too.
      if (chunk === undefined || !this.#faults.blackholed) this.#deliver(chunk);
    }
    this.#schedule();
  }

  #deliver(chunk: Buffer | undefined): void {
    if (chunk === undefined) {
      this.#onEnd();
      return;
    }
    if (this.#dest.destroyed) return;
    if (!this.#dest.write(chunk) && !this.#source.isPaused()) {
      this.#source.pause();
      this.#dest.once('drain', () => this.#source.resume());
    }
  }
}

/** A client socket, its upstream socket and the two lanes between them. */
class Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Upstream closed while black-holed; the client has not been told yet. */
  upstreamGone = false;
  readonly #up: Lane;
  readonly #down: Lane;

  constructor(client: Socket, target: { host: string; port: number }, faults: Faults, onClose: () => void) {
    this.client = client;
    this.upstream = connect(target);
    this.#up = new Lane(client, this.upstream, faults, () => this.upstream.end());
    this.#down = new Lane(this.upstream, client, faults, () => this.#upstreamEnded(faults));
    // Errors are expected here (that is the point of the proxy); 'close' carries what we need.
    client.on('error', () => undefined);
    this.upstream.on('error', () => undefined);
    client.on('data', (chunk: Buffer) => this.#up.push(chunk));
    this.upstream.on('data', (chunk: Buffer) => this.#down.push(chunk));
    client.on('close', () => {
      this.#dispose();
      this.upstream.destroy();
      onClose();
    });
    this.upstream.on('close', (hadError) => {
      // A failed connect or a reset upstream reaches the client as a reset; a clean close as a clean close.
      if (hadError && !faults.blackholed) this.resetClient();
      else this.#down.push(undefined);
    });
  }

  resetClient(): void {
    this.#dispose();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    this.upstream.destroy();
  }

  #upstreamEnded(faults: Faults): void {
    if (faults.blackholed) this.upstreamGone = true;
    else this.client.end();
  }

  #dispose(): void {
    this.#up.dispose();
    this.#down.dispose();
  }
}

class ProxyServer implements FaultProxy {
  port = 0;
  readonly #target: { host: string; port: number };
  readonly #faults: Faults = { latencyMs: 0, blackholed: false };
  readonly #links = new Set<Link>();
  readonly #server: Server;
  #refusing = false;
  #closed = false;
  #binding = false;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
    // Bind errors are handled by listen(); anything else must not crash the test process.
    this.#server.on('error', (err) => {
      if (!this.#binding) process.emitWarning(`fault-proxy: ${err.message}`);
    });
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  listen(port: number): Promise<void> {
    this.#binding = true;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#binding = false;
        reject(err);
      };
      this.#server.once('error', onError);
      this.#server.listen(port, HOST, () => {
        this.#binding = false;
        this.#server.off('error', onError);
        const address = this.#server.address();
        if (address !== null && typeof address !== 'string') this.port = address.port;
        // close() or refuse(true) may have run while the bind was in flight.
        if (this.#closed || this.#refusing) this.#server.close();
        resolve();
      });
    });
  }

  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`latency must be a finite number >= 0, got ${ms}`);
    this.#faults.latencyMs = ms;
  }

  blackhole(on: boolean): void {
    this.#faults.blackholed = on;
    if (on) return;
    for (const link of this.#links) if (link.upstreamGone) link.resetClient();
  }

  reset(): void {
    for (const link of this.#links) link.resetClient();
  }

  refuse(on: boolean): void {
    if (on === this.#refusing || this.#closed) return;
    this.#refusing = on;
    if (on) {
      this.reset();
      this.#server.close();
    } else {
      void this.#relisten();
    }
  }

  connections(): number {
    return this.#links.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.reset();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#refusing || this.#closed) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const link = new Link(client, this.#target, this.#faults, () => this.#links.delete(link));
    this.#links.add(link);
  }

  /** Takes the same port back; retries briefly in case another process grabbed it while we were refusing. */
  async #relisten(): Promise<void> {
    const attempts = 20;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#refusing || this.#closed || this.#server.listening) return;
      try {
        await this.listen(this.port);
        return;
      } catch (err) {
        if (attempt === attempts) {
          process.emitWarning(`fault-proxy: cannot listen on ${this.port} again: ${(err as Error).message}`);
        }
      }
      await sleep(50);
    }
  }
}
