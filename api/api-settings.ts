/**
 * The API process's own settings, read from the environment in one place
 * (the worker's settings, TEMPORAL_* and TRAINYARD_*, come from worker/config.ts):
 *
 *   TRAINYARD_API_HOST          address to listen on: 127.0.0.1 (this machine only),
 *                               0.0.0.0 (every interface, as in a container), or a host name
 *                                                                 @default 127.0.0.1
 *   TRAINYARD_API_PORT          port                              @default 3000; 0 picks a free one
 *   TRAINYARD_TEMPORAL_UI_URL   base of the Web UI links          @default http://127.0.0.1:8233
 *   TRAINYARD_EVENTS_TOKEN      bearer token of POST /events/s3    @default unset: that endpoint answers 503
 *   TRAINYARD_CODEC_ORIGINS     comma-separated browser origins that may call /codec/decode and
 *                               /codec/encode   @default http://127.0.0.1:8233, http://localhost:8233
 *                               and the origin of TRAINYARD_TEMPORAL_UI_URL
 *
 *   const settings = apiSettingsFrom(process.env);   // { host: '127.0.0.1', port: 3000, ... }
 *
 * A bad value is refused in one line naming the variable and what to use instead.
 */
import { DEFAULT_CODEC_ORIGINS } from './codec/codec-cors';
import { hostFrom, portFrom } from './listen-address';
import { DEFAULT_TEMPORAL_UI_URL } from './temporal/temporal.module';

export interface ApiSettings {
  /** Address the HTTP server listens on. @default '127.0.0.1' */
  host: string;
  /** @default 3000; 0 picks a free port */
  port: number;
  /** Base of the `links.temporalUi` URLs. @default 'http://127.0.0.1:8233' */
  temporalUiUrl: string;
  /** Bearer token of POST /events/s3; absent: that endpoint answers 503. */
  eventsToken?: string;
  /** Browser origins that may call the codec endpoints. */
  codecOrigins: string[];
}

/** TRAINYARD_CODEC_ORIGINS, else the start-dev Web UI's origins and that of the UI the links point at. */
export function codecOriginsFrom(value: string | undefined, temporalUiUrl: string): string[] {
  const origins = value ? value.split(',').map((o) => o.trim()).filter(Boolean) : [...DEFAULT_CODEC_ORIGINS, temporalUiUrl];
  return [...new Set(origins.map((origin) => {
    try {
      return new URL(origin).origin;
    } catch {
      throw new Error(`TRAINYARD_CODEC_ORIGINS: '${origin}' is not an origin; use scheme://host:port, like http://127.0.0.1:8233`);
    }
  }))];
}

/** The API's settings from the environment; throws one line on a bad value. */
export function apiSettingsFrom(env: NodeJS.ProcessEnv): ApiSettings {
  const temporalUiUrl = env.TRAINYARD_TEMPORAL_UI_URL ?? DEFAULT_TEMPORAL_UI_URL;
  return {
    host: hostFrom(env.TRAINYARD_API_HOST),
    port: portFrom(env.TRAINYARD_API_PORT),
    temporalUiUrl,
    ...(env.TRAINYARD_EVENTS_TOKEN ? { eventsToken: env.TRAINYARD_EVENTS_TOKEN } : {}),
    codecOrigins: codecOriginsFrom(env.TRAINYARD_CODEC_ORIGINS, temporalUiUrl),
  };
}
