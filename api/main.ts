/**
 * The API process: `node dist/api/main.js`. Reads the worker's configuration
 * (TEMPORAL_*, TRAINYARD_TASK_QUEUE, TRAINYARD_PIPELINES) plus
 *
 *   TRAINYARD_API_PORT          port on 127.0.0.1                 @default 3000
 *   TRAINYARD_TEMPORAL_UI_URL   base of the Web UI links          @default http://127.0.0.1:8233
 *   TRAINYARD_EVENTS_TOKEN      bearer token of POST /events/s3    @default unset: that endpoint answers 503
 *   TRAINYARD_CODEC_ORIGINS     comma-separated browser origins that may call /codec/decode and
 *                               /codec/encode   @default http://127.0.0.1:8233, http://localhost:8233
 *                               and the origin of TRAINYARD_TEMPORAL_UI_URL
 *
 * With TRAINYARD_PAYLOAD_* set (see worker/config.ts) its client and codec
 * endpoints use the worker's payload codec. It serves until SIGINT or SIGTERM.
 * Startup failures print one line and exit 1.
 */
import 'reflect-metadata';
import { ConsoleLogger, type INestApplication, type LoggerService } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import { connectClient, loadConfig, loadPipelineModules, openPayloadCodec } from '../worker';
import { createApp } from './app';
import { DEFAULT_CODEC_ORIGINS } from './codec/codec-cors';
import { DEFAULT_TEMPORAL_UI_URL } from './temporal/temporal.module';

const HOST = '127.0.0.1';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** TRAINYARD_API_PORT: 3000 when unset or empty; 0 picks a free port. */
function portFrom(value: string | undefined): number {
  const port = Number(value || '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`TRAINYARD_API_PORT '${value}' is not a port; use a number from 0 to 65535`);
  }
  return port;
}

/** TRAINYARD_CODEC_ORIGINS, else the start-dev Web UI's origins and that of the UI the links point at. */
function codecOriginsFrom(value: string | undefined, temporalUiUrl: string): string[] {
  const origins = value ? value.split(',').map((o) => o.trim()).filter(Boolean) : [...DEFAULT_CODEC_ORIGINS, temporalUiUrl];
  return [...new Set(origins.map((origin) => {
    try {
      return new URL(origin).origin;
    } catch {
      throw new Error(`TRAINYARD_CODEC_ORIGINS: '${origin}' is not an origin; use scheme://host:port, like http://127.0.0.1:8233`);
    }
  }))];
}

/** A logger that drops everything, for the moment Nest would log a failed listen. */
const SILENT: LoggerService = { log() {}, error() {}, warn() {} };

/** Listens, turning "port in use" into one line; Nest's own report of it is held back. */
async function listen(app: INestApplication, port: number): Promise<string> {
  app.useLogger(SILENT);
  try {
    await app.listen(port, HOST);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${HOST} is in use; stop what holds it or set TRAINYARD_API_PORT`);
    if (code === 'EACCES') throw new Error(`no permission to listen on port ${port}; set TRAINYARD_API_PORT to a port above 1023`);
    throw err;
  } finally {
    app.useLogger(new ConsoleLogger({ logLevels: ['error', 'warn'] }));
  }
  return app.getUrl();
}

async function main(): Promise<void> {
  const config = loadConfig();
  const port = portFrom(process.env.TRAINYARD_API_PORT);
  const temporalUiUrl = process.env.TRAINYARD_TEMPORAL_UI_URL ?? DEFAULT_TEMPORAL_UI_URL;
  const codecOrigins = codecOriginsFrom(process.env.TRAINYARD_CODEC_ORIGINS, temporalUiUrl);
  const registry = await loadPipelineModules(config.pipelineModules);
  const payloads = await openPayloadCodec(config);
  let client: Client;
  try {
    client = await connectClient(config, payloads?.codec);
  } catch (err) {
    payloads?.close();
    throw new Error(`cannot reach Temporal at ${config.address}: ${messageOf(err)}; start it (npm run temporal:start) or set TEMPORAL_ADDRESS`);
  }
  let app: INestApplication | undefined;
  try {
    app = await createApp({
      client,
      registry,
      taskQueue: config.taskQueue,
      temporalUiUrl,
      ...(process.env.TRAINYARD_EVENTS_TOKEN ? { eventsToken: process.env.TRAINYARD_EVENTS_TOKEN } : {}),
      codecOrigins,
      ...(payloads ? { payloadCodec: payloads.codec } : {}),
      ...(config.defaultRunner ? { defaultRunner: config.defaultRunner } : {}),
    });
    const url = await listen(app, port);
    console.log(`trainyard api on ${url}`);
  } catch (err) {
    await app?.close().catch(() => undefined);
    await client.connection.close().catch(() => undefined);
    payloads?.close();
    throw err;
  }
  const running = app;
  const stop = (): void => {
    void running
      .close()
      .then(() => client.connection.close())
      .then(() => payloads?.close())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Startup failures are one line without a stack: each message says what to do.
main().catch((err: unknown) => {
  console.error(`trainyard api: ${messageOf(err)}`);
  process.exit(1);
});
