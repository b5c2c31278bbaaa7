/** Builds the Nest application around a Temporal client and a pipeline registry. */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Runner } from '../pipeline';
import type { PipelineRegistry } from '../worker/registry';
import { AppModule } from './app.module';
import { createValidationPipe } from './common/validation.pipe';

export interface AppDeps {
  /** Owned by the caller; `app.close()` leaves its connection open. */
  client: Client;
  registry: PipelineRegistry;
  /** The task queue runs are started on: the one the workers poll. */
  taskQueue: string;
  /** Base of the `links.temporalUi` URLs. @default 'http://127.0.0.1:8233' */
  temporalUiUrl?: string;
  /** The bearer token of POST /events/s3 (TRAINYARD_EVENTS_TOKEN); without one that endpoint answers 503. */
  eventsToken?: string;
  /** The codec the client and the workers use, for the codec endpoints. @default none: they pass payloads through */
  payloadCodec?: PayloadCodec;
  /** Runner of runs whose request and pipeline name none (TRAINYARD_DEFAULT_RUNNER). @default 'local' */
  defaultRunner?: Runner;
  /** Browser origins that may call the codec endpoints. @default ['http://127.0.0.1:8233', 'http://localhost:8233'] */
  codecOrigins?: readonly string[];
}

/**
 * Request bodies up to this size: codec requests carry payloads as base64, each up to
 * Temporal's 2 MB limit, and the Web UI sends several at once.
 */
const BODY_LIMIT = '16mb';

/** The app, initialised but not listening: call `app.listen(port, host)`. */
export async function createApp(deps: AppDeps): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(deps), {
    // Only problems: a quiet console in tests and one startup line in main.
    logger: ['error', 'warn'],
    // Throw configuration errors to the caller instead of aborting the process.
    abortOnError: false,
  });
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useGlobalPipes(createValidationPipe());
  await app.init();
  return app;
}
