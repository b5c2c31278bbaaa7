/**
 * Pod names and labels. A pod's name is a pure function of run, step, map index
 * and try, so a resumed try finds the pod it already created instead of making
 * a second one. Names are DNS-1123 labels (at most 63 characters).
 */
import type { TryRef } from '../../contract';
import { sha256Hex } from '../../pipeline';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  pipeline: 'trainyard.io/pipeline',
  runId: 'trainyard.io/run-id',
  step: 'trainyard.io/step',
  mapIndex: 'trainyard.io/map-index',
  attempt: 'trainyard.io/try',
} as const;

/** Full, unsanitised identity kept in annotations, checked before a pod is adopted. */
export const ANNOTATIONS = {
  identity: 'trainyard.io/identity',
} as const;

/** What names a pod: the try's run, step, map index (absent for a plain step) and attempt. */
export type PodIdentity = { run: Pick<TryRef['run'], 'pipelineId' | 'runId'> } & Pick<TryRef, 'stepId' | 'mapIndex' | 'attempt'>;

/** Lowercase alphanumerics and '-', no leading or trailing '-', at most `max` characters. */
function dnsSlug(text: string, max: number): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
}

/** The identity as one string, for the annotation and the name's hash. */
export function identityKey(id: PodIdentity): string {
  return JSON.stringify([id.run.pipelineId, id.run.runId, id.stepId, id.mapIndex ?? null, id.attempt]);
}

/** `<step>-<hash>-t<try>` (plus `-m<index>` for a map index), unique per run, step, index and try. */
export function podName(id: PodIdentity): string {
  const hash = sha256Hex(identityKey(id)).slice(0, 10);
  const suffix = `${id.mapIndex === undefined ? '' : `-m${id.mapIndex}`}-t${id.attempt}`;
  const stem = dnsSlug(id.stepId.split('.').pop() ?? id.stepId, 63 - hash.length - suffix.length - 2) || 'step';
  return `${stem}-${hash}${suffix}`;
}

/** A valid label value: at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

export function podLabels(id: PodIdentity): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managedBy]: 'trainyard',
    [LABELS.pipeline]: labelValue(id.run.pipelineId),
    [LABELS.runId]: labelValue(id.run.runId),
    [LABELS.step]: labelValue(id.stepId),
    [LABELS.attempt]: String(id.attempt),
  };
  if (id.mapIndex !== undefined) labels[LABELS.mapIndex] = String(id.mapIndex);
  return labels;
}

/** A label selector for every pod of a run. */
export function runSelector(runId: string): string {
  return `${LABELS.managedBy}=trainyard,${LABELS.runId}=${labelValue(runId)}`;
}
