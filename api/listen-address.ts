/**
 * The API's listen address: host and port values checked in one place, for the
 * environment (TRAINYARD_API_HOST, TRAINYARD_API_PORT) and `trainyard api
 * --host/--port` alike. Each parser names the setting it was given, so a bad
 * value is refused in one line that says what to use instead.
 *
 *   hostFrom('0.0.0.0');            // '0.0.0.0'
 *   portFrom('http', '--port');     // throws: --port 'http' is not a port; use a number from 0 to 65535
 */
import { isIP } from 'node:net';

export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 3000;

/** A port: the default when unset or empty; 0 picks a free port. */
export function portFrom(value: string | undefined, name = 'TRAINYARD_API_PORT'): number {
  const text = value?.trim();
  const port = text ? (/^\d+$/.test(text) ? Number(text) : Number.NaN) : DEFAULT_API_PORT;
  if (!(port <= 65535)) {
    throw new Error(`${name} '${value}' is not a port; use a number from 0 to 65535`);
  }
  return port;
}

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An address to listen on: an IPv4 or IPv6 address or a host name; the default when unset or empty. */
export function hostFrom(value: string | undefined, name = 'TRAINYARD_API_HOST'): string {
  const host = value?.trim() || DEFAULT_API_HOST;
  if (isIP(host) === 0 && !HOST_NAME.test(host)) {
    throw new Error(
      `${name} '${value}' is not an address to listen on; use an IP address such as 127.0.0.1 (this machine only) ` +
        'or 0.0.0.0 (every interface), or a host name',
    );
  }
  return host;
}
