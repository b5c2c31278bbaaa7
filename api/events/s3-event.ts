/**
 * S3 event notifications as AWS (S3 → SNS/EventBridge → HTTP) and MinIO
 * (webhook target) send them: `{ Records: [{ eventName, s3: { bucket: { name },
 * object: { key, size, eTag } } }] }`. Keys arrive URL-encoded, spaces as `+`.
 */
import { BadRequestException } from '@nestjs/common';
import type { S3ObjectEvent } from '../../contract';

const SHAPE = 'send an S3 event notification: { "Records": [{ "eventName": "ObjectCreated:Put", "s3": { "bucket": { "name": "..." }, "object": { "key": "..." } } }] }';

/** The object-created records of a notification; other events (removals, AWS's s3:TestEvent) are left out. */
export function objectCreatedEvents(body: unknown): { events: S3ObjectEvent[]; ignored: number } {
  if (body === null || typeof body !== 'object') throw new BadRequestException([`the body is not a JSON object; ${SHAPE}`]);
  const { Records: records, Event: test } = body as { Records?: unknown; Event?: unknown };
  if (records === undefined && test === 's3:TestEvent') return { events: [], ignored: 1 };
  if (!Array.isArray(records)) throw new BadRequestException([`Records is missing or not a list; ${SHAPE}`]);
  const problems: string[] = [];
  const events: S3ObjectEvent[] = [];
  let ignored = 0;
  records.forEach((record: unknown, i) => {
    const r = (record ?? {}) as { eventName?: unknown; s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; eTag?: unknown } } };
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    if (typeof bucket !== 'string' || bucket === '') problems.push(`Records[${i}].s3.bucket.name must be the bucket's name`);
    if (typeof key !== 'string' || key === '') problems.push(`Records[${i}].s3.object.key must be the object's key (URL-encoded, as S3 sends it)`);
    if (typeof bucket !== 'string' || typeof key !== 'string') return;
    const eventName = typeof r.eventName === 'string' ? r.eventName : '';
    // AWS writes ObjectCreated:Put, MinIO s3:ObjectCreated:Put; anything else is not an arrival.
    if (!/^(s3:)?ObjectCreated:/.test(eventName)) {
      ignored++;
      return;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(key.replace(/\+/g, ' '));
    } catch {
      problems.push(`Records[${i}].s3.object.key '${key}' is not URL-encoded text`);
      return;
    }
    const event: S3ObjectEvent = { bucket, key: decoded, eventName };
    const { size, eTag } = r.s3?.object ?? {};
    if (typeof size === 'number') event.size = size;
    if (typeof eTag === 'string') event.etag = eTag;
    events.push(event);
  });
  if (problems.length > 0) throw new BadRequestException(problems);
  return { events, ignored };
}
