/**
 * CORS for the codec endpoints: the Temporal Web UI calls them from the
 * browser, from its own origin. Only the listed origins are answered, each
 * by name (never `*`), with credentials allowed so the UI's "include
 * cross-origin credentials" setting works; preflights are answered here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The Web UI of `temporal server start-dev`. */
export const DEFAULT_CODEC_ORIGINS: readonly string[] = ['http://127.0.0.1:8233', 'http://localhost:8233'];

const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

export type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export function codecCors(origins: readonly string[]): Middleware {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    const known = origin !== undefined && allowed.has(origin);
    if (known) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method !== 'OPTIONS') return next();
    if (!known) {
      res.statusCode = 403;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`origin ${origin ?? '(none)'} may not call the codec endpoints; add it to TRAINYARD_CODEC_ORIGINS\n`);
      return;
    }
    res.statusCode = 204;
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.end();
  };
}
