/** Connections to Temporal for clients (API, demo) and workers, from one config. */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
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

/** A client; give it the process's payload codec when one is configured, the same one its workers use. */
export async function connectClient(config: TrainyardConfig, payloadCodec?: PayloadCodec): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.namespace, ...(payloadCodec ? { dataConverter: { payloadCodecs: [payloadCodec] } } : {}) });
}

export function connectWorker(config: TrainyardConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
