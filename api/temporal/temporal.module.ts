/**
 * A global dynamic module that hands the Temporal client, the pipeline
 * registry, the task queue and the Web UI address to every feature module.
 * The caller owns the client: closing the app does not close its connection.
 */
import { type DynamicModule, Module, type ValueProvider } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { Runner } from '../../pipeline';
import type { PipelineRegistry } from '../../worker/registry';
import { DEFAULT_RUNNER, EVENTS_TOKEN, PIPELINE_REGISTRY, TASK_QUEUE, TEMPORAL_CLIENT, TEMPORAL_UI_URL, type Token } from './temporal.tokens';

export interface TemporalModuleOptions {
  client: Client;
  registry: PipelineRegistry;
  taskQueue: string;
  /** @default 'http://127.0.0.1:8233' */
  temporalUiUrl?: string;
  /** The bearer token of POST /events/s3; without one that endpoint answers 503. */
  eventsToken?: string;
  /** Runner of runs whose request and pipeline name none (TRAINYARD_DEFAULT_RUNNER). @default 'local' */
  defaultRunner?: Runner;
}

export const DEFAULT_TEMPORAL_UI_URL = 'http://127.0.0.1:8233';

function valueProvider<T>(provide: Token<T>, useValue: T): ValueProvider<T> {
  return { provide, useValue };
}

@Module({})
export class TemporalModule {
  static forRoot(options: TemporalModuleOptions): DynamicModule {
    const providers = [
      valueProvider(TEMPORAL_CLIENT, options.client),
      valueProvider(PIPELINE_REGISTRY, options.registry),
      valueProvider(TASK_QUEUE, options.taskQueue),
      valueProvider(TEMPORAL_UI_URL, (options.temporalUiUrl ?? DEFAULT_TEMPORAL_UI_URL).replace(/\/+$/, '')),
      valueProvider(EVENTS_TOKEN, options.eventsToken || undefined),
      valueProvider(DEFAULT_RUNNER, options.defaultRunner),
    ];
    return {
      module: TemporalModule,
      global: true,
      providers,
      exports: providers.map((p) => p.provide),
    };
  }
}
