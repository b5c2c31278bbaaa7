/**
 * A reverse proxy in front of a test cluster's real kube-apiserver that fails
 * requests on purpose. Every request is forwarded unchanged unless a fault the
 * test programmed matches it; then the proxy answers in the API server's place
 * (a Status with 429, 503, 403, ...) or drops the connection, before the request
 * reaches the API server or after the API server has acted on it.
 *
 * It serves HTTP/2 and HTTP/1.1 on one TLS port, as the API server does: the
 * worker follows logs over HTTP/2 and makes every other call over HTTP/1.1.
 * Responses are relayed chunk by chunk as they come, so watches and log follows
 * behave as they do without the proxy; when either side of a stream closes, the
 * proxy closes the other.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';

/** Which requests a fault applies to. */
export interface FaultMatch {
  method: string;
  /** Tested against the path without its query string. */
  path: RegExp;
  /** Only watches (true) or only plain requests (false); either when left out. */
  watch?: boolean;
}

export type FaultAction =
  /** Answer with this status and a Kubernetes Status body; the API server never sees the request. */
  | { status: number; message?: string; headers?: Record<string, string> }
  /**
   * Destroy the client's connection: 'before' forwarding (the request is lost), or
   * 'after' the API server has answered (the request took effect, its answer is lost).
   */
  | { drop: 'before' | 'after' };

export interface Fault {
  readonly match: FaultMatch;
  readonly action: FaultAction;
  /** How many requests it has failed. */
  readonly hits: number;
  /** How many more it will fail. */
  readonly left: number;
}

/** One request the proxy handled. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** '1.1' or '2.0', as the client spoke. */
  httpVersion: string;
  /** When it arrived, ms since the epoch. */
  at: number;
  /** The API server's status; undefined when a fault kept the answer from the client. */
  status: number | undefined;
  /** The status a fault answered with, or 'drop-before' / 'drop-after'. */
  fault?: string;
  /** Body bytes relayed to the client so far. */
  bytes: number;
}

export interface FaultProxy {
  /** https://127.0.0.1:PORT */
  url: string;
  /** A kubeconfig for the proxy: the cluster's token, verifying the proxy's certificate against the API server's CA. */
  kubeconfigPath: string;
  /** Fails the next `times` requests that match (faults apply in the order injected). */
  inject(match: FaultMatch, action: FaultAction, times?: number): Fault;
  /** Forgets the faults not yet used up, so that they cannot reach into the next test. */
  clearFaults(): void;
  /** Every request so far, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** Streamed responses (watches, log follows) whose request to the API server is still open. */
  openStreams(): number;
  /**
   * Breaks open streams on the API server's side, as a restarting API server would: every one,
   * or those whose request `which` picks. Returns how many it broke.
   */
  cutStreams(which?: (request: ProxiedRequest) => boolean): number;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The API server, https://127.0.0.1:PORT. */
  upstream: string;
  token: string;
  /** The API server's --cert-dir: the proxy serves its certificate (which carries its CA) and trusts that CA upstream. */
  certDir: string;
  /** Where to write the kubeconfig. */
  dir: string;
}

/** Headers that describe one hop's connection, never relayed (HTTP/2 forbids them outright). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'http2-settings']);

const STATUS_REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AlreadyExists',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function relayable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && !key.startsWith(':') && !HOP_BY_HOP.has(key.toLowerCase())) out[key] = value;
  }
  return out;
}

interface Exchange {
  request: ProxiedRequest;
  streaming: boolean;
  upstreamOpen: boolean;
  cutUpstream: () => void;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const chain = readFileSync(path.join(options.certDir, 'apiserver.crt'));
  const key = readFileSync(path.join(options.certDir, 'apiserver.key'));
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, ca: chain });
  const faults: { match: FaultMatch; action: FaultAction; hits: number; left: number }[] = [];
  const requests: ProxiedRequest[] = [];
  const exchanges = new Set<Exchange>();

  const take = (method: string, pathname: string, watch: boolean): (typeof faults)[number] | undefined => {
    const fault = faults.find((f) => f.left > 0 && f.match.method === method && f.match.path.test(pathname) && (f.match.watch === undefined || f.match.watch === watch));
    if (fault) {
      fault.left--;
      fault.hits++;
    }
    return fault;
  };

  const handle = (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse): void => {
    const h2 = req.httpVersion === '2.0';
    const url = new URL(req.url ?? '/', 'https://proxy');
    const method = req.method ?? 'GET';
    const query = url.searchParams;
    const streaming = query.get('watch') === 'true' || query.get('follow') === 'true';
    const record: ProxiedRequest = { method, path: url.pathname, query, httpVersion: req.httpVersion, at: Date.now(), status: undefined, bytes: 0 };
    requests.push(record);
    // Losing the connection: for HTTP/1.1 its socket; for HTTP/2 the whole session, every stream on it.
    const dropConnection = (): void => {
      if (h2) (req as Http2ServerRequest).stream.session?.destroy();
      else (req as IncomingMessage).socket.destroy();
    };
    // Breaking one response mid-stream: HTTP/2 resets the stream alone; HTTP/1.1 can only close the socket.
    const breakResponse = (): void => {
      if (h2) (req as Http2ServerRequest).stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else (req as IncomingMessage).socket.destroy();
    };

    const fault = take(method, url.pathname, query.get('watch') === 'true');
    const action = fault?.action;
    if (action && 'status' in action) {
      const { status, message, headers } = action;
      record.fault = String(status);
      req.resume();
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: message ?? `injected by the fault proxy: ${status}`,
        reason: STATUS_REASONS[status] ?? 'Unknown',
        code: status,
      });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
      return;
    }
    if (action?.drop === 'before') {
      record.fault = 'drop-before';
      dropConnection();
      return;
    }
    const dropAfter = action?.drop === 'after';

    const upstreamReq = httpsRequest({
      host: upstream.hostname,
      port: upstream.port,
      method,
      path: `${url.pathname}${url.search}`,
      headers: relayable(req.headers),
      agent,
    });
    const exchange: Exchange = { request: record, streaming, upstreamOpen: true, cutUpstream: () => upstreamReq.destroy() };
    exchanges.add(exchange);
    upstreamReq.on('close', () => {
      exchange.upstreamOpen = false;
      exchanges.delete(exchange);
    });
    let relayed = false;
    // The client went away before the whole answer reached it: nothing may keep the API server's side open.
    // (An HTTP/2 client cancels one stream: its response closes, not the connection.)
    const clientGone = (): void => {
      if (!relayed) upstreamReq.destroy();
    };
    res.on('close', clientGone);
    if (h2) (req as Http2ServerRequest).stream.on('close', clientGone);
    // No answer from the API server, or only part of one: the client must see the break too.
    upstreamReq.on('error', () => {
      if (!relayed) breakResponse();
    });
    upstreamReq.on('response', (upstreamRes) => {
      if (dropAfter) {
        record.fault = 'drop-after';
        upstreamRes.resume();
        dropConnection();
        return;
      }
      record.status = upstreamRes.statusCode;
      res.writeHead(upstreamRes.statusCode ?? 502, relayable(upstreamRes.headers));
      // A watch's headers come long before its first event, and its client waits for them to start.
      // HTTP/1.1 holds them back until the first body write unless flushed; HTTP/2 sends them at once.
      if (!h2) (res as ServerResponse).flushHeaders();
      upstreamRes.on('data', (chunk: Buffer) => {
        record.bytes += chunk.length;
        (res as { write(chunk: Buffer): boolean }).write(chunk);
      });
      upstreamRes.on('end', () => {
        relayed = true;
        res.end();
      });
      // The API server's side broke off mid-response: so must the client's.
      upstreamRes.on('close', () => {
        if (!upstreamRes.complete) breakResponse();
      });
      upstreamRes.on('error', () => undefined);
    });
    req.pipe(upstreamReq);
  };

  const server = http2.createSecureServer({ cert: chain, key, allowHTTP1: true });
  server.on('request', handle);
  // A client that resets its connection must not take the proxy down.
  server.on('sessionError', () => undefined);
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.on('error', () => undefined);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const kubeconfigPath = path.join(options.dir, 'proxy-kubeconfig');
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'proxy', cluster: { server: url, 'certificate-authority-data': chain.toString('base64') } }],
      users: [{ name: 'user', user: { token: options.token } }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'user', namespace: 'default' } }],
      'current-context': 'proxy',
    }),
  );

  return {
    url,
    kubeconfigPath,
    requests,
    inject(match, action, times = 1) {
      const fault = { match, action, hits: 0, left: times };
      faults.push(fault);
      return fault;
    },
    clearFaults() {
      faults.splice(0);
    },
    openStreams: () => [...exchanges].filter((e) => e.streaming && e.upstreamOpen).length,
    cutStreams(which = () => true) {
      const open = [...exchanges].filter((e) => e.streaming && e.upstreamOpen && which(e.request));
      open.forEach((e) => e.cutUpstream());
      return open.length;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sockets.forEach((s) => s.destroy());
      exchanges.forEach((e) => e.cutUpstream());
      agent.destroy();
      await closed;
    },
  };
}
