/** A step's artifacts prefix, and the worker configuration it comes from. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { artifactsUri as artifactsUriOf } from '../../activities/artifacts';
import { type FlatIdentity, nested } from '../support/identity';
import { artifactsOptionsFrom, loadConfig } from '../../worker/config';

/** The prefix of a try written flat (the artifact prefix never depends on the try). */
const artifactsUri = (base: string, ref: Omit<FlatIdentity, 'attempt'> & { attempt?: number }): string => artifactsUriOf(base, nested({ attempt: 1, ...ref }));

const call = { pipelineId: 'ml_training_pipeline', runId: 'ml_training_pipeline-2026-03-01-1a2b3c4d', stepId: 'model_training.train_model' };

describe('artifactsUri', () => {
  it('is <base>/<pipeline>/<run>/<step>/ for a plain step', () => {
    assert.equal(
      artifactsUri('s3://trainyard-artifacts', call),
      's3://trainyard-artifacts/ml_training_pipeline/ml_training_pipeline-2026-03-01-1a2b3c4d/model_training.train_model/',
    );
  });

  it('adds <mapIndex>/ for one index of a mapped step, index 0 included', () => {
    assert.equal(artifactsUri('s3://b', { ...call, mapIndex: 7 }), `s3://b/${call.pipelineId}/${call.runId}/${call.stepId}/7/`);
    assert.equal(artifactsUri('s3://b', { ...call, mapIndex: 0 }), `s3://b/${call.pipelineId}/${call.runId}/${call.stepId}/0/`);
  });

  it('reads a base with or without a trailing slash alike, and keeps its own prefix', () => {
    assert.equal(artifactsUri('s3://b/team/ml/', call), artifactsUri('s3://b/team/ml', call));
    assert.ok(artifactsUri('s3://b/team/ml', call).startsWith('s3://b/team/ml/ml_training_pipeline/'));
    assert.equal(artifactsUri('file:///', { pipelineId: 'p', runId: 'r', stepId: 's' }), 'file:///p/r/s/');
  });

  it('is the same for every try of a step: the attempt is not part of it', () => {
    const first: FlatIdentity = { ...call, attempt: 1 };
    const third: FlatIdentity = { ...call, attempt: 3 };
    assert.equal(artifactsUri('s3://b', first), artifactsUri('s3://b', third));
  });

  it('keeps characters S3 allows as they are (a scheduled run id has colons)', () => {
    const runId = 'ml_training_pipeline-scheduled-2026-03-01T00:00:00Z';
    assert.equal(artifactsUri('s3://b', { ...call, runId }), `s3://b/${call.pipelineId}/${runId}/${call.stepId}/`);
    assert.equal(artifactsUri('s3://b', { ...call, runId: 'run with spaces+plus=é' }).split('/')[4], 'run with spaces+plus=é');
  });

  it('keeps an id one segment: a slash, a percent sign or a dots-only id cannot move the prefix', () => {
    assert.equal(artifactsUri('s3://b', { ...call, runId: 'a/b' }).split('/')[4], 'a%2Fb');
    assert.notEqual(artifactsUri('s3://b', { ...call, runId: 'a%2Fb' }), artifactsUri('s3://b', { ...call, runId: 'a/b' }));
    assert.equal(artifactsUri('file:///base', { ...call, runId: '..' }), `file:///base/${call.pipelineId}/%2E%2E/${call.stepId}/`);
    assert.equal(artifactsUri('s3://b', { ...call, runId: 'v1..2' }).split('/')[4], 'v1..2');
  });
});

describe('artifactsOptionsFrom (worker configuration)', () => {
  it('defaults to a file:// folder in the state dir, with nothing else for steps', () => {
    assert.deepEqual(artifactsOptionsFrom({}, '/var/lib/trainyard'), { baseUri: 'file:///var/lib/trainyard/artifacts', env: {} });
    assert.equal(loadConfig({ TRAINYARD_STATE_DIR: '/srv/state' }).artifacts.baseUri, 'file:///srv/state/artifacts');
  });

  it('takes TRAINYARD_ARTIFACTS_URI as the base', () => {
    assert.equal(artifactsOptionsFrom({ TRAINYARD_ARTIFACTS_URI: 's3://trainyard-artifacts' }, '/s').baseUri, 's3://trainyard-artifacts');
  });

  it('refuses a base that is not a URI, naming the variable', () => {
    assert.throws(() => artifactsOptionsFrom({ TRAINYARD_ARTIFACTS_URI: '/just/a/path' }, '/s'), /TRAINYARD_ARTIFACTS_URI must be a URI.*'\/just\/a\/path'/);
    assert.throws(() => loadConfig({ TRAINYARD_ARTIFACTS_URI: 'trainyard-artifacts' }), /TRAINYARD_ARTIFACTS_URI/);
  });

  it('gives steps the S3 endpoint as AWS_ENDPOINT_URL and the region as AWS_REGION, never the keys', () => {
    const options = artifactsOptionsFrom({
      TRAINYARD_ARTIFACTS_URI: 's3://a',
      TRAINYARD_S3_ENDPOINT: 'http://127.0.0.1:7070',
      TRAINYARD_S3_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
    }, '/s');
    assert.deepEqual(options.env, { AWS_ENDPOINT_URL: 'http://127.0.0.1:7070', AWS_REGION: 'eu-west-1' });
  });

  it('keeps AWS_ENDPOINT_URL and AWS_REGION the worker already has', () => {
    const options = artifactsOptionsFrom({
      TRAINYARD_S3_ENDPOINT: 'http://trainyard-only:7070',
      AWS_ENDPOINT_URL: 'http://minio.storage:9000',
      TRAINYARD_S3_REGION: 'eu-west-1',
      AWS_REGION: 'us-west-2',
    }, '/s');
    assert.deepEqual(options.env, { AWS_ENDPOINT_URL: 'http://minio.storage:9000', AWS_REGION: 'us-west-2' });
  });

  it('adds a region to an endpoint that has none (the S3 client default), and nothing for plain AWS without one', () => {
    assert.deepEqual(artifactsOptionsFrom({ TRAINYARD_S3_ENDPOINT: 'http://127.0.0.1:7070' }, '/s').env, { AWS_ENDPOINT_URL: 'http://127.0.0.1:7070', AWS_REGION: 'us-east-1' });
    assert.deepEqual(artifactsOptionsFrom({ TRAINYARD_ARTIFACTS_URI: 's3://a' }, '/s').env, {});
  });

  it('names the pods\' credentials Secret from TRAINYARD_K8S_ARTIFACTS_SECRET', () => {
    assert.equal(artifactsOptionsFrom({ TRAINYARD_K8S_ARTIFACTS_SECRET: 'artifact-store' }, '/s').podSecret, 'artifact-store');
    assert.equal('podSecret' in artifactsOptionsFrom({}, '/s'), false);
  });
});
