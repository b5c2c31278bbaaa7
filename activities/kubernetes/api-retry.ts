/**
 * Retries for transient Kubernetes API answers: 429 and 5xx (honouring
 * Retry-After) and dropped connections. Everything else is the caller's to handle.
 */

export interface ApiRetryOptions {
  /** Tries in all. @default 5 */
  attempts?: number;
  /** First backoff, doubled each time. @default 200 */
  baseDelayMs?: number;
  /** Longest wait between tries. @default 5000 */
  maxDelayMs?: number;
}

/** The HTTP status of a client error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string> }).headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const seconds = value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

const DROPPED_CONNECTION_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE'];

/** True for answers worth another try: throttling, server errors, no answer at all. */
export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) {
    const error = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null | undefined;
    const code = error?.cause?.code ?? error?.code;
    if (typeof code === 'string' && DROPPED_CONNECTION_CODES.includes(code)) return true;
    // A kept-alive connection the server closed just as a request went out: the body never came.
    return typeof error?.message === 'string' && /premature close|socket hang up/i.test(error.message);
  }
  return status === 429 || status >= 500;
}

export async function withApiRetry<T>(call: () => Promise<T>, options: ApiRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  let delay = options.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfterMs(err) ?? delay, options.maxDelayMs ?? 5000)));
      delay *= 2;
    }
  }
}
