/**
 * Searching a run's history for what it holds. Every payload in it (workflow and
 * activity inputs and results, failure details, memos, search attributes,
 * headers) is bytes: JSON.stringify of a fetched history goes through protobufjs'
 * toJSON, which writes bytes as base64, so a search of that text never sees into
 * a payload and a leaked secret would pass unseen.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/**
 * Every string of a history, and every byte field decoded as UTF-8 (so each
 * payload's data and metadata, however deep it is nested), one per line. Takes a
 * history as fetched (bytes as Uint8Array) or in its JSON form (each payload's
 * data and metadata values as base64).
 */
export function historyText(history: unknown): string {
  const out: string[] = [];
  collect(history, out);
  return out.join('\n');
}

/** A payload in the JSON form of a history: `{ metadata: { encoding: base64, ... }, data?: base64 }`. */
interface JsonPayload {
  metadata: Record<string, unknown> & { encoding: string };
  data?: unknown;
}

function isJsonPayload(value: object): value is JsonPayload {
  const { metadata } = value as { metadata?: unknown };
  return typeof metadata === 'object' && metadata !== null && typeof (metadata as { encoding?: unknown }).encoding === 'string';
}

const fromBase64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');

function collect(value: unknown, out: string[]): void {
  if (typeof value === 'string') {
    out.push(value);
  } else if (value instanceof Uint8Array) {
    out.push(Buffer.from(value).toString('utf8'));
  } else if (typeof value === 'object' && value !== null) {
    if (isJsonPayload(value)) {
      for (const field of Object.values(value.metadata)) if (typeof field === 'string') out.push(fromBase64(field));
      if (typeof value.data === 'string') out.push(fromBase64(value.data));
      return;
    }
    for (const item of Object.values(value)) collect(item, out);
  }
}

/**
 * A copy of `history`, as fetched, with one more event: an activity that
 * completed with `value` as its result, encoded as the SDK's default converter
 * does. A control for a search of history: it must find what a step returned.
 */
export function withPlantedResult(history: History, value: unknown): History {
  const { History: HistoryMessage, HistoryEvent } = temporal.api.history.v1;
  const planted = HistoryEvent.create({
    eventType: temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    activityTaskCompletedEventAttributes: { result: { payloads: [defaultPayloadConverter.toPayload(value)] } },
  });
  return HistoryMessage.decode(HistoryMessage.encode({ events: [...(history.events ?? []), planted] }).finish());
}
