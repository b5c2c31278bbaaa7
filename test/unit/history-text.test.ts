/** The history search the secret checks rely on: it must see into every payload, wherever history nests one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Payload, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { historyText, withPlantedResult } from '../support/history';

const EventType = temporal.api.enums.v1.EventType;
const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const payloads = (value: unknown): { payloads: Payload[] } => ({ payloads: [json(value)] });
/** A failure whose details, encoded attributes and cause each hold a payload. */
const failure = (where: string): temporal.api.failure.v1.IFailure => ({
  message: 'failed',
  encodedAttributes: json({ message: `in-${where}-encoded-attributes` }),
  applicationFailureInfo: { type: 'TaskFailed', details: payloads(`in-${where}-details`) },
  cause: { message: 'cause', applicationFailureInfo: { details: payloads(`in-${where}-cause-details`) } },
});

/** Where history nests payloads, each holding a value named after its place. */
const places: [string, temporal.api.history.v1.IHistoryEvent][] = [
  [
    'workflow start',
    {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      workflowExecutionStartedEventAttributes: {
        input: payloads({ spec: 'in-workflow-input' }),
        memo: { fields: { note: json('in-memo') } },
        searchAttributes: { indexedFields: { TrainyardPipelineId: json('in-search-attribute') } },
        header: { fields: { trace: json('in-header') } },
      },
    },
  ],
  ['activity input', { eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, activityTaskScheduledEventAttributes: { input: payloads({ env: 'in-activity-input' }) } }],
  ['activity result', { eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, activityTaskCompletedEventAttributes: { result: payloads({ xcom: 'in-activity-result' }) } }],
  ['activity failure', { eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, activityTaskFailedEventAttributes: { failure: failure('activity-failure') } }],
  ['workflow failure', { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, workflowExecutionFailedEventAttributes: { failure: failure('workflow-failure') } }],
  ['signal', { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, workflowExecutionSignaledEventAttributes: { input: payloads('in-signal') } }],
  ['marker', { eventType: EventType.EVENT_TYPE_MARKER_RECORDED, markerRecordedEventAttributes: { details: { data: payloads('in-marker') } } }],
  [
    'upserted search attributes',
    { eventType: EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: { TrainyardRunState: json('in-upserted-search-attribute') } } } },
  ],
  ['upserted memo', { eventType: EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, workflowPropertiesModifiedEventAttributes: { upsertedMemo: { fields: { note: json('in-upserted-memo') } } } }],
  ['child result', { eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, childWorkflowExecutionCompletedEventAttributes: { result: payloads('in-child-result') } }],
];
const planted = [
  'in-workflow-input',
  'in-memo',
  'in-search-attribute',
  'in-header',
  'in-activity-input',
  'in-activity-result',
  ...['activity-failure', 'workflow-failure'].flatMap((where) => [`in-${where}-encoded-attributes`, `in-${where}-details`, `in-${where}-cause-details`]),
  'in-signal',
  'in-marker',
  'in-upserted-search-attribute',
  'in-upserted-memo',
  'in-child-result',
];

/** The history as fetchHistory returns it: decoded protobuf messages, bytes as Buffers. */
function fetched(events: temporal.api.history.v1.IHistoryEvent[]): temporal.api.history.v1.IHistory {
  const { History: HistoryMessage } = temporal.api.history.v1;
  return HistoryMessage.decode(HistoryMessage.encode({ events }).finish());
}

describe('historyText', () => {
  const history = fetched(places.map(([, event]) => event));

  it('finds a value in every place history nests a payload, where JSON.stringify finds none', () => {
    const text = historyText(history);
    const stringified = JSON.stringify(history);
    for (const value of planted) {
      assert.ok(text.includes(value), `historyText finds ${value}`);
      assert.equal(stringified.includes(value), false, `JSON.stringify shows ${value} only as base64`);
    }
  });

  it('decodes the JSON form of a history too, where bytes are base64', () => {
    const text = historyText(JSON.parse(JSON.stringify(history)));
    for (const value of planted) assert.ok(text.includes(value), `historyText finds ${value}`);
  });

  it('keeps the strings history holds outside payloads, and decodes each payload\'s encoding', () => {
    const text = historyText(history);
    assert.ok(text.includes('TaskFailed'));
    assert.ok(text.includes('json/plain'));
  });

  it('plants a value in a copy of a history, as a step result that the search then finds', () => {
    const copy = withPlantedResult(history, { token: 'planted-tok-51c0' });
    assert.ok(historyText(copy).includes('planted-tok-51c0'));
    assert.equal(historyText(history).includes('planted-tok-51c0'), false, 'the original is untouched');
    assert.equal(copy.events?.length, places.length + 1);
  });
});
