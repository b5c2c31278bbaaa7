/**
 * Where a step keeps its artifacts (models, checkpoints, reports): every
 * `process` and `pod` try gets `$TRAINYARD_ARTIFACTS_URI`, and every task
 * function `ctx.artifactsUri`, a prefix of its own under the worker's base:
 *
 *   artifactsUri('s3://trainyard-artifacts', { run: { pipelineId: 'ml', runId: 'r1' }, stepId: 'train' })
 *   // 's3://trainyard-artifacts/ml/r1/train/'
 *   artifactsUri('s3://trainyard-artifacts/', { run: { pipelineId: 'ml', runId: 'r1' }, stepId: 'train', mapIndex: 3 })
 *   // 's3://trainyard-artifacts/ml/r1/train/3/'
 *
 * The base is worker configuration, so it never enters a run's history. The
 * try is not part of the prefix: a retry writes where the failed try wrote and
 * finds whatever that try left (a checkpoint to resume from, or files to
 * overwrite), and what a successful step points to never depends on how many
 * tries it took. A retry starts only after the try before it ended; a step that
 * wants its tries apart anyway can put the try in its file names.
 */
import type { TryRef } from '../contract';

/** The variable steps read their prefix from. */
export const ARTIFACTS_URI_ENV = 'TRAINYARD_ARTIFACTS_URI';

/** Where steps keep their artifacts and how they reach the store; built from the environment by the worker's config. */
export interface ArtifactsOptions {
  /** The base every prefix is under, e.g. `s3://trainyard-artifacts` or `file:///var/lib/trainyard/artifacts`. */
  baseUri: string;
  /**
   * Variables every `process` and `pod` try gets so that an S3 client finds the
   * store: `AWS_ENDPOINT_URL` and `AWS_REGION`, never credentials. A step's own
   * `env` overrides them. @default {}
   */
  env?: Readonly<Record<string, string>>;
  /**
   * A Kubernetes Secret in the pod's namespace whose keys become variables of every
   * pod (`envFrom`), before the step's own `envFrom`: the store's credentials,
   * e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. @default none
   */
  podSecret?: string;
}

/**
 * Keeps an id one segment of the prefix. S3 keys allow any character, so the
 * only ones changed are those that would change the prefix's shape: `/`, and
 * `%`, which escapes it (so that two ids never share a prefix); and `.` in a
 * segment of only dots, which a `file://` store would read as a directory move.
 */
function segment(id: string): string {
  const escaped = id.replace(/%/g, '%25').replace(/\//g, '%2F');
  return /^\.+$/.test(escaped) ? escaped.replace(/\./g, '%2E') : escaped;
}

/** `<base>/<pipelineId>/<runId>/<stepId>/`, plus `<mapIndex>/` for one index of a mapped step. */
export function artifactsUri(baseUri: string, ref: { run: Pick<TryRef['run'], 'pipelineId' | 'runId'> } & Pick<TryRef, 'stepId' | 'mapIndex'>): string {
  const ids = [ref.run.pipelineId, ref.run.runId, ref.stepId, ...(ref.mapIndex !== undefined ? [String(ref.mapIndex)] : [])];
  return `${baseUri.endsWith('/') ? baseUri : `${baseUri}/`}${ids.map(segment).join('/')}/`;
}
