/**
 * Injection tokens for what the API gets from outside Nest: the Temporal
 * client, the pipeline registry, the task queue, the Web UI's address and the
 * deployment's default runner.
 */
import type { Client } from '@temporalio/client';
import type { Runner } from '../../pipeline';
import type { PipelineRegistry } from '../../worker/registry';

/**
 * A symbol token that carries the type of the value it stands for, so a
 * provider built with `valueProvider` cannot register a value of another type.
 */
export type Token<T> = symbol & { readonly __provides?: T };

function token<T>(name: string): Token<T> {
  return Symbol(`trainyard:${name}`);
}

export const TEMPORAL_CLIENT = token<Client>('TemporalClient');
export const PIPELINE_REGISTRY = token<PipelineRegistry>('PipelineRegistry');
export const TASK_QUEUE = token<string>('TaskQueue');
/** Base URL of the Temporal Web UI, without a trailing slash. */
export const TEMPORAL_UI_URL = token<string>('TemporalUiUrl');
/** The bearer token S3 event notifications must carry; undefined turns the endpoint off. */
export const EVENTS_TOKEN = token<string | undefined>('EventsToken');
/** The deployment's runner for runs whose request and pipeline name none (TRAINYARD_DEFAULT_RUNNER). */
export const DEFAULT_RUNNER = token<Runner | undefined>('DefaultRunner');
