/** Connections to Temporal for clients (API, demo) and workers, from one config. */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TrainyardConfig } from './config';

function tlsOptions(config: TrainyardConfig) {
  if (!config.tls) return undefined;
  const { clientCertPath, clientKeyPath } = config.tls;
  if (clientCertPath && clientKeyPath) {
    return { clientCertPair: { crt: readFileSync(clientCertPath), key: readFileSync(clientKeyPath) } };
  }
  return true;
}

function connectionOptions(config: TrainyardConfig) {
  const tls = tlsOptions(config);
  return { address: config.address, ...(tls ? { tls } : {}), ...(config.apiKey ? { apiKey: config.apiKey } : {}) };
}

export async function connectClient(config: TrainyardConfig): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.namespace });
}

export function connectWorker(config: TrainyardConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
