/**
 * Trainyard's custom search attributes must exist before a run upserts them;
 * otherwise the server rejects every workflow task and the run hangs. The worker
 * registers missing ones at start (dev server, self-hosted) or says which are missing.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { searchAttributes } from '../contract';

const INDEXED_TYPE = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
} as const;

/** Registers any of Trainyard's search attributes the namespace lacks; throws naming them if it cannot. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let known = new Set<string>();
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    known = new Set(Object.keys(existing.customAttributes ?? {}));
  } catch {
    // Some servers (the time-skipping test server) cannot list them; adding all is harmless there.
  }
  const missing = Object.values(searchAttributes).filter((key) => !known.has(key.name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type]])),
    });
  } catch (err) {
    throw new Error(
      `namespace '${namespace}' lacks the search attributes ${missing.map((k) => `${k.name} (${k.type})`).join(', ')} ` +
        `and they could not be added (${(err as Error).message}); add them with 'temporal operator search-attribute create'`,
    );
  }
}
