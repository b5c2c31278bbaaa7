/**
 * The API process's work, shared by `node dist/api/main.js` and `trainyard api`:
 * load the pipeline modules, connect to Temporal, listen, print one line
 * (`trainyard api on http://127.0.0.1:3000`), and serve until SIGINT or SIGTERM,
 * when it closes and exits 0.
 *
 *   await runApi({ config: loadConfig(), ...apiSettingsFrom(process.env) });
 *
 * Startup failures reject with one line saying what to change; `settingNames`
 * says how the caller's user changes it (an environment variable or a flag).
 */
import 'reflect-metadata';
import { ConsoleLogger, type INestApplication, type LoggerService } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import { type TrainyardConfig, connectClient, loadPipelineModules, openPayloadCodec } from '../worker';
import type { ApiSettings } from './api-settings';
import { createApp } from './app';

/** How the user sets the values a startup failure may be about. */
export interface SettingNames {
  host: string;
  port: string;
  address: string;
}

export const ENV_SETTING_NAMES: SettingNames = { host: 'TRAINYARD_API_HOST', port: 'TRAINYARD_API_PORT', address: 'TEMPORAL_ADDRESS' };

export interface RunApiOptions extends ApiSettings {
  /** The worker's settings: Temporal connection, task queue, pipelines, payload codec. */
  config: TrainyardConfig;
  /** Named in startup failures. @default ENV_SETTING_NAMES */
  settingNames?: SettingNames;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A logger that drops everything, for the moment Nest would log a failed listen. */
const SILENT: LoggerService = { log() {}, error() {}, warn() {} };

/** Listens, turning the usual failures into one line; Nest's own report of them is held back. */
async function listen(app: INestApplication, host: string, port: number, names: SettingNames): Promise<string> {
  app.useLogger(SILENT);
  try {
    await app.listen(port, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is in use; stop what holds it or set ${names.port}`);
    if (code === 'EACCES') throw new Error(`no permission to listen on port ${port}; set ${names.port} to a port above 1023`);
    if (code === 'EADDRNOTAVAIL') throw new Error(`${host} is not an address of this machine; set ${names.host} to one of its addresses, or 0.0.0.0 for all`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new Error(`host name '${host}' does not resolve; set ${names.host} to an IP address such as 127.0.0.1`);
    throw err;
  } finally {
    app.useLogger(new ConsoleLogger({ logLevels: ['error', 'warn'] }));
  }
  return app.getUrl();
}

/** Nest reports a wildcard address as a loopback URL; the startup line says it listens on every interface. */
function listeningOn(url: string, host: string): string {
  return host === '0.0.0.0' || host === '::' ? `${url} (every interface: ${host})` : url;
}

/** Serves the API; resolves once it listens. */
export async function runApi(options: RunApiOptions): Promise<void> {
  const { config } = options;
  const names = options.settingNames ?? ENV_SETTING_NAMES;
  const registry = await loadPipelineModules(config.pipelineModules);
  const payloads = await openPayloadCodec(config);
  let client: Client;
  try {
    client = await connectClient(config, payloads?.codec);
  } catch (err) {
    payloads?.close();
    throw new Error(`cannot reach Temporal at ${config.address}: ${messageOf(err)}; start it (npm run temporal:start) or set ${names.address}`);
  }
  let app: INestApplication | undefined;
  try {
    app = await createApp({
      client,
      registry,
      taskQueue: config.taskQueue,
      temporalUiUrl: options.temporalUiUrl,
      ...(options.eventsToken ? { eventsToken: options.eventsToken } : {}),
      codecOrigins: options.codecOrigins,
      ...(payloads ? { payloadCodec: payloads.codec } : {}),
      ...(config.defaultRunner ? { defaultRunner: config.defaultRunner } : {}),
    });
    const url = await listen(app, options.host, options.port, names);
    console.log(`trainyard api on ${listeningOn(url, options.host)}`);
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
