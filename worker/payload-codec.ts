/**
 * The payload codec the configuration asks for (TRAINYARD_PAYLOAD_*), built
 * once per process and shared by its worker and clients: workers, the API and
 * its codec endpoint must encode and decode alike.
 */
import { createS3Client } from '../activities/object-store';
import { TrainyardPayloadCodec, ensureBucket } from '../codec';
import type { TrainyardConfig } from './config';

export interface OpenedPayloadCodec {
  codec: TrainyardPayloadCodec;
  /** Closes the codec's S3 connections. */
  close(): void;
}

/** The configured codec, its bucket created if missing; undefined when the configuration asks for none. */
export async function openPayloadCodec(config: TrainyardConfig): Promise<OpenedPayloadCodec | undefined> {
  const settings = config.payloads;
  if (!settings) return undefined;
  const s3 = settings.bucket && config.s3 ? createS3Client(config.s3) : undefined;
  try {
    if (s3 && settings.bucket) await ensureBucket(s3, settings.bucket);
  } catch (err) {
    s3?.destroy();
    throw err;
  }
  const codec = new TrainyardPayloadCodec({
    threshold: settings.threshold,
    ...(s3 && settings.bucket ? { storage: { s3, bucket: settings.bucket } } : {}),
    ...(settings.key ? { key: settings.key } : {}),
  });
  return { codec, close: () => s3?.destroy() };
}
