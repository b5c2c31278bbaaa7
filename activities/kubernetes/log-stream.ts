/**
 * Container log streams over HTTP/2. Following one log per running pod over
 * HTTP/1.1 costs a TLS connection each: a stream stopped mid-response takes its
 * socket with it, so every pod paid a fresh handshake, and on a busy worker the
 * handshakes were most of its CPU. Here every follow is one stream on a shared
 * HTTP/2 connection to the API server, and stopping it resets only that stream.
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import type { RequestOptions } from 'node:https';
import { Writable } from 'node:stream';
import { type KubeConfig, Log } from '@kubernetes/client-node';

/** Streams per connection before another is opened (API servers allow at least 100 by default). */
const STREAMS_PER_SESSION = 100;

interface Pooled {
  session: ClientHttp2Session;
  active: number;
}

export interface LogRequest {
  namespace: string;
  name: string;
  container: string;
  /** RFC 3339: only lines at or after this time. */
  sinceTime?: string;
}

/** Raised when the API server answers a log request with an error status. */
export class LogStreamError extends Error {
  override name = 'LogStreamError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class LogStreams {
  private readonly pool: Pooled[] = [];

  constructor(private readonly kc: KubeConfig) {}

  /**
   * Follows a container's log with timestamps, passing text chunks to `onChunk`;
   * resolves when the stream ends (the container stopped, the connection dropped)
   * or `signal` aborts, and rejects when the API server refuses the request.
   */
  async follow(request: LogRequest, onChunk: (text: string) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    // HTTP/2 cannot go through the kubeconfig's proxy: there, one HTTP/1.1 request per follow.
    if (this.kc.getCurrentCluster()?.proxyUrl) return followOverHttp1(this.kc, request, onChunk, signal);
    const options: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    const pooled = this.sessionFor(options);
    const query = new URLSearchParams({ container: request.container, follow: 'true', timestamps: 'true' });
    if (request.sinceTime) query.set('sinceTime', request.sinceTime);
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'GET',
      ':path': `/api/v1/namespaces/${encodeURIComponent(request.namespace)}/pods/${encodeURIComponent(request.name)}/log?${query.toString()}`,
    };
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;

    pooled.active++;
    try {
      await new Promise<void>((resolve, reject) => {
        const stream = pooled.session.request(headers);
        const onAbort = (): void => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        stream.setEncoding('utf8');
        let status = 0;
        let body = '';
        stream.on('response', (h) => {
          status = Number(h[':status'] ?? 0);
        });
        stream.on('data', (chunk: string) => {
          if (status === 200) onChunk(chunk);
          else if (body.length < 4096) body += chunk;
        });
        stream.on('error', reject);
        stream.on('close', () => {
          signal.removeEventListener('abort', onAbort);
          if (status !== 0 && status !== 200) {
            let message = body;
            try {
              message = (JSON.parse(body) as { message?: string }).message ?? body;
            } catch {
              // Not a Status object: keep the body as it came.
            }
            reject(new LogStreamError(status, `log of ${request.namespace}/${request.name}: HTTP ${status}: ${message}`));
          } else resolve();
        });
      });
    } finally {
      pooled.active--;
    }
  }

  /** Closes every connection; streams still open end. */
  close(): void {
    for (const { session } of this.pool.splice(0)) session.close();
  }

  private sessionFor(options: RequestOptions): Pooled {
    const open = this.pool.find((p) => !p.session.closed && !p.session.destroyed && p.active < STREAMS_PER_SESSION);
    if (open) return open;
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig names no cluster server');
    const session = http2.connect(server, {
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
      ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
      ...(options.servername ? { servername: options.servername } : {}),
    });
    const pooled: Pooled = { session, active: 0 };
    const drop = (): void => {
      const at = this.pool.indexOf(pooled);
      if (at >= 0) this.pool.splice(at, 1);
    };
    // A broken connection fails its streams (their followers reconnect) and leaves the pool.
    session.on('error', drop);
    session.on('close', drop);
    session.on('goaway', drop);
    // An idle connection must not keep the worker process alive.
    session.unref();
    this.pool.push(pooled);
    return pooled;
  }
}

function followOverHttp1(kc: KubeConfig, request: LogRequest, onChunk: (text: string) => void, signal: AbortSignal): Promise<void> {
  const decoder = new TextDecoder();
  return new Promise<void>((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        onChunk(decoder.decode(chunk, { stream: true }));
        done();
      },
      final(done) {
        done();
        resolve();
      },
    });
    sink.on('error', reject);
    // Stopping must end the wait even while the request is still being made.
    let controller: AbortController | undefined;
    signal.addEventListener('abort', () => {
      controller?.abort();
      resolve();
    }, { once: true });
    const { namespace, name, container, sinceTime } = request;
    new Log(kc)
      .log(namespace, name, container, sink, { follow: true, timestamps: true, ...(sinceTime ? { sinceTime } : {}) })
      .then((started) => {
        controller = started;
        if (signal.aborted) started.abort();
      })
      .catch(reject);
  });
}
