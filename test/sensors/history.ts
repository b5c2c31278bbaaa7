/** Reading a run's history for what sensors did: which activities it scheduled, and what was open at each timer. */
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

export interface SensorHistory {
  /** Activity types in the order they were scheduled. */
  scheduled: string[];
  /** Attempts of each ActivityTaskStarted, in order. */
  startedAttempts: number[];
  timers: number;
  /** How many timers started while an activity was open (scheduled and not yet closed). */
  timersWithOpenActivity: number;
}

export async function sensorHistory(handle: WorkflowHandle): Promise<SensorHistory> {
  const events = (await handle.fetchHistory()).events ?? [];
  const open = new Set<string>();
  const out: SensorHistory = { scheduled: [], startedAttempts: [], timers: 0, timersWithOpenActivity: 0 };
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        open.add(String(e.eventId));
        out.scheduled.push(e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        out.startedAttempts.push(e.activityTaskStartedEventAttributes?.attempt ?? 0);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        open.delete(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        open.delete(String(e.activityTaskFailedEventAttributes?.scheduledEventId));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        open.delete(String(e.activityTaskTimedOutEventAttributes?.scheduledEventId));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        open.delete(String(e.activityTaskCanceledEventAttributes?.scheduledEventId));
        break;
      case EventType.EVENT_TYPE_TIMER_STARTED:
        out.timers++;
        if (open.size > 0) out.timersWithOpenActivity++;
        break;
      default:
        break;
    }
  }
  return out;
}
