/**
 * Worker and client settings, read from the environment in one place:
 *
 *   TEMPORAL_ADDRESS        host:port of the frontend           @default 127.0.0.1:7233
 *   TEMPORAL_NAMESPACE      namespace                           @default default
 *   TEMPORAL_TLS            '1' to use TLS (system roots)       @default off
 *   TEMPORAL_TLS_CERT/_KEY  client certificate and key files (mTLS)
 *   TEMPORAL_API_KEY        API key (Temporal Cloud); implies TLS
 *   TRAINYARD_TASK_QUEUE    task queue                          @default trainyard
 *   TRAINYARD_STATE_DIR     where run directories and local secrets live   @default <repo>/.trainyard
 *   TRAINYARD_PIPELINES     comma-separated pipeline modules    @default examples/ml-training/pipeline
 *   KUBECONFIG              kubeconfig for pod steps on the Kubernetes runner (or TRAINYARD_KUBERNETES=in-cluster)
 *   TRAINYARD_K8S_NAMESPACE namespace of pods whose step names none   @default default
 *   TRAINYARD_S3_ENDPOINT   an S3-compatible server (versitygw, MinIO, ...); unset for AWS itself
 *   TRAINYARD_S3_REGION     region of the S3 client (else AWS_REGION)  @default us-east-1
 *   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   static S3 credentials; unset for the SDK's default chain
 *   TRAINYARD_PAYLOAD_BUCKET    S3 bucket for payloads over the threshold (the claim-check codec; created
 *                               if missing); needs the S3 access above   @default unset: all payloads stay in history
 *   TRAINYARD_PAYLOAD_THRESHOLD payloads whose serialized size is above this many bytes go to the bucket
 *                               (0 to 2097152, Temporal's limit)   @default 131072
 *   TRAINYARD_PAYLOAD_KEY       base64 of 32 bytes (make one: openssl rand -base64 32): every payload is
 *                               encrypted with AES-256-GCM, in history and in the bucket   @default unset: not encrypted
 *   TRAINYARD_ARTIFACTS_URI base of every step's artifacts prefix, e.g. s3://trainyard-artifacts
 *                                                               @default file://<state dir>/artifacts
 *   TRAINYARD_K8S_ARTIFACTS_SECRET  a Secret (in the pod's namespace) added to every pod as envFrom:
 *                           the artifact store's credentials for pods            @default none
 *   TRAINYARD_DEFAULT_RUNNER  'local' or 'kubernetes': how container steps run when neither the run's
 *                           request nor its pipeline says   @default local
 *   TRAINYARD_MLFLOW_TRACKING_URI   the MLflow tracking server (http://...): pipelines with the `mlflow`
 *                           option track their runs there; registry steps use it   @default none
 *   TRAINYARD_MLFLOW_POD_TRACKING_URI   the server's URL as pods reach it (an in-cluster Service)
 *                           @default TRAINYARD_MLFLOW_TRACKING_URI
 *   TRAINYARD_TEMPORAL_UI_URL   base of the Temporal Web UI links on MLflow runs   @default none
 *   TRAINYARD_API_URL       base of the API links on MLflow runs (http://host:3000)   @default none
 *   TRAINYARD_MAX_CACHED_WORKFLOWS  runs the worker keeps in memory between their workflow tasks
 *                           @default the SDK's, from the heap limit (~2,300 with a 4 GiB heap)
 *
 * A run that is not cached replays its whole history on its next workflow task. Many
 * long-waiting runs (thousands of reschedule-mode sensors) want a cache that holds them all.
 *
 * S3 access (sensors, the claim-check codec, artifacts) is configured when
 * TRAINYARD_S3_ENDPOINT, TRAINYARD_S3_REGION or AWS_REGION is set. Worker, API
 * and every other client must share the TRAINYARD_PAYLOAD_* settings. Local step
 * processes inherit the worker's environment (credentials included); they and
 * pods also get AWS_ENDPOINT_URL and AWS_REGION from the settings above when
 * those two are not set already.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactsOptions } from '../activities/artifacts';
import type { S3ClientOptions } from '../activities/object-store';
import type { MlflowDeps } from '../activities/mlflow/tracking';
import { DEFAULT_PAYLOAD_THRESHOLD, type PayloadKey, payloadKeyFromBase64 } from '../codec';
import { RUNNERS, type Runner, isRunner } from '../pipeline';

export interface TrainyardConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: { clientCertPath?: string; clientKeyPath?: string };
  apiKey?: string;
  stateDir: string;
  pipelineModules: string[];
  /** Kubernetes access for the Kubernetes runner; absent when none is configured. */
  kubernetes?: KubernetesAccess;
  /** S3 access for sensors, the claim-check codec and artifacts; absent when none is configured. */
  s3?: S3ClientOptions;
  /** Where steps keep their artifacts, and what steps need to reach the store. */
  artifacts: ArtifactsOptions;
  /** The payload codec's settings; absent when neither a payload bucket nor a key is set. */
  payloads?: PayloadSettings;
  /** The worker's sticky cache size; absent for the SDK's default. */
  maxCachedWorkflows?: number;
  /** Runner of runs whose request and pipeline name none; absent: 'local'. */
  defaultRunner?: Runner;
  /** The MLflow tracking server; absent when none is configured. */
  mlflow?: MlflowDeps;
}

export interface PayloadSettings {
  /** Payloads over the threshold go here; absent: all payloads stay in history. */
  bucket?: string;
  /** @default 131072 */
  threshold: number;
  /** Encrypts every payload; absent: none is encrypted. */
  key?: PayloadKey;
}

export interface KubernetesAccess {
  kubeconfigPath?: string;
  inCluster?: boolean;
  namespace: string;
}

/** The nearest folder at or above `from` that holds a package.json. */
export function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

/** The repository root (the nearest folder with a package.json), from compiled or source locations alike. */
export const PROJECT_ROOT = findProjectRoot(__dirname);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainyardConfig {
  const stateDir = path.resolve(env.TRAINYARD_STATE_DIR ?? path.join(PROJECT_ROOT, '.trainyard'));
  const config: TrainyardConfig = {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.TRAINYARD_TASK_QUEUE ?? 'trainyard',
    stateDir,
    artifacts: artifactsOptionsFrom(env, stateDir),
    pipelineModules: (env.TRAINYARD_PIPELINES ?? 'examples/ml-training/pipeline')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean),
  };
  if (env.TEMPORAL_API_KEY) config.apiKey = env.TEMPORAL_API_KEY;
  const namespace = env.TRAINYARD_K8S_NAMESPACE ?? 'default';
  if (env.TRAINYARD_KUBERNETES === 'in-cluster') config.kubernetes = { inCluster: true, namespace };
  else if (env.KUBECONFIG) config.kubernetes = { kubeconfigPath: env.KUBECONFIG, namespace };
  const s3 = s3OptionsFrom(env);
  if (s3) config.s3 = s3;
  const payloads = payloadSettingsFrom(env, s3);
  if (payloads) config.payloads = payloads;
  if (env.TRAINYARD_MAX_CACHED_WORKFLOWS) {
    const cached = Number(env.TRAINYARD_MAX_CACHED_WORKFLOWS);
    if (!Number.isInteger(cached) || cached < 0) {
      throw new Error(`TRAINYARD_MAX_CACHED_WORKFLOWS='${env.TRAINYARD_MAX_CACHED_WORKFLOWS}' must be a whole number of runs (0 turns the cache off)`);
    }
    config.maxCachedWorkflows = cached;
  }
  if (env.TRAINYARD_DEFAULT_RUNNER) {
    if (!isRunner(env.TRAINYARD_DEFAULT_RUNNER)) {
      throw new Error(`TRAINYARD_DEFAULT_RUNNER='${env.TRAINYARD_DEFAULT_RUNNER}' must be one of ${RUNNERS.join(', ')} (or unset for local)`);
    }
    config.defaultRunner = env.TRAINYARD_DEFAULT_RUNNER;
  }
  const mlflow = mlflowSettingsFrom(env, config.namespace);
  if (mlflow) config.mlflow = mlflow;
  if (env.TEMPORAL_TLS === '1' || env.TEMPORAL_TLS_CERT || env.TEMPORAL_API_KEY) {
    config.tls = {};
    if (env.TEMPORAL_TLS_CERT) config.tls.clientCertPath = env.TEMPORAL_TLS_CERT;
    if (env.TEMPORAL_TLS_KEY) config.tls.clientKeyPath = env.TEMPORAL_TLS_KEY;
  }
  return config;
}

/** The S3 client options the environment gives, or undefined when it configures no S3 access. */
export function s3OptionsFrom(env: NodeJS.ProcessEnv): S3ClientOptions | undefined {
  const endpoint = env.TRAINYARD_S3_ENDPOINT || undefined;
  const region = env.TRAINYARD_S3_REGION || env.AWS_REGION || undefined;
  if (!endpoint && !region) return undefined;
  const options: S3ClientOptions = { region: region ?? 'us-east-1' };
  if (endpoint) options.endpoint = endpoint;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    options.accessKeyId = env.AWS_ACCESS_KEY_ID;
    options.secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (env.AWS_SESSION_TOKEN) options.sessionToken = env.AWS_SESSION_TOKEN;
  }
  return options;
}

const HTTP_URL = /^https?:\/\/[^\s/]+/;

/** The MLflow settings the environment gives, or undefined when it names no tracking server. */
export function mlflowSettingsFrom(env: NodeJS.ProcessEnv, namespace: string): MlflowDeps | undefined {
  const urls = {
    TRAINYARD_MLFLOW_TRACKING_URI: env.TRAINYARD_MLFLOW_TRACKING_URI || undefined,
    TRAINYARD_MLFLOW_POD_TRACKING_URI: env.TRAINYARD_MLFLOW_POD_TRACKING_URI || undefined,
    TRAINYARD_TEMPORAL_UI_URL: env.TRAINYARD_TEMPORAL_UI_URL || undefined,
    TRAINYARD_API_URL: env.TRAINYARD_API_URL || undefined,
  };
  for (const [name, value] of Object.entries(urls)) {
    if (value !== undefined && !HTTP_URL.test(value)) throw new Error(`${name}='${value}' must be an http:// or https:// URL, like http://127.0.0.1:5000`);
  }
  if (!urls.TRAINYARD_MLFLOW_TRACKING_URI) {
    if (urls.TRAINYARD_MLFLOW_POD_TRACKING_URI) throw new Error('TRAINYARD_MLFLOW_POD_TRACKING_URI needs TRAINYARD_MLFLOW_TRACKING_URI (the URL the worker itself uses)');
    return undefined;
  }
  return {
    trackingUri: urls.TRAINYARD_MLFLOW_TRACKING_URI,
    ...(urls.TRAINYARD_MLFLOW_POD_TRACKING_URI ? { podTrackingUri: urls.TRAINYARD_MLFLOW_POD_TRACKING_URI } : {}),
    links: {
      namespace,
      ...(urls.TRAINYARD_TEMPORAL_UI_URL ? { temporalUiUrl: urls.TRAINYARD_TEMPORAL_UI_URL } : {}),
      ...(urls.TRAINYARD_API_URL ? { apiUrl: urls.TRAINYARD_API_URL } : {}),
    },
  };
}

/** Temporal's default limit on one payload; a larger threshold would let the server refuse payloads. */
const MAX_PAYLOAD_THRESHOLD = 2 * 1024 * 1024;

/** S3's bucket naming rules, in short: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The payload codec settings the environment gives, or undefined when it asks for no codec. */
export function payloadSettingsFrom(env: NodeJS.ProcessEnv, s3: S3ClientOptions | undefined): PayloadSettings | undefined {
  const bucket = env.TRAINYARD_PAYLOAD_BUCKET || undefined;
  const keyText = env.TRAINYARD_PAYLOAD_KEY || undefined;
  const thresholdText = env.TRAINYARD_PAYLOAD_THRESHOLD || undefined;
  let threshold = DEFAULT_PAYLOAD_THRESHOLD;
  if (thresholdText !== undefined) {
    threshold = /^\d+$/.test(thresholdText.trim()) ? Number(thresholdText.trim()) : Number.NaN;
    if (!(threshold <= MAX_PAYLOAD_THRESHOLD)) {
      throw new Error(
        `TRAINYARD_PAYLOAD_THRESHOLD '${thresholdText}' is not a byte count from 0 to ${MAX_PAYLOAD_THRESHOLD} (Temporal refuses payloads over 2 MB); ` +
          `use a whole number of bytes, like ${DEFAULT_PAYLOAD_THRESHOLD}`,
      );
    }
  }
  if (!bucket && !keyText) return undefined;
  const settings: PayloadSettings = { threshold };
  if (bucket) {
    if (!BUCKET_NAME.test(bucket)) {
      throw new Error(`TRAINYARD_PAYLOAD_BUCKET '${bucket}' is not an S3 bucket name; use 3-63 lower-case letters, digits, dots and hyphens`);
    }
    if (!s3) {
      throw new Error('TRAINYARD_PAYLOAD_BUCKET needs S3 access: set TRAINYARD_S3_ENDPOINT (an S3-compatible server) or TRAINYARD_S3_REGION (AWS)');
    }
    settings.bucket = bucket;
  }
  if (keyText) settings.key = payloadKeyFromBase64(keyText, 'TRAINYARD_PAYLOAD_KEY');
  return settings;
}

/**
 * Where steps keep their artifacts (TRAINYARD_ARTIFACTS_URI, else a folder in the
 * state dir, so the local runner needs no S3), and what steps need to reach the
 * store beyond the worker's own environment. Throws on a base that is not a URI.
 */
export function artifactsOptionsFrom(env: NodeJS.ProcessEnv, stateDir: string): ArtifactsOptions {
  const baseUri = env.TRAINYARD_ARTIFACTS_URI || `file://${path.join(path.resolve(stateDir), 'artifacts')}`;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/./.test(baseUri)) {
    throw new Error(`TRAINYARD_ARTIFACTS_URI must be a URI such as s3://bucket/prefix or file:///absolute/path; got '${baseUri}'`);
  }
  const s3 = s3OptionsFrom(env);
  const endpoint = env.AWS_ENDPOINT_URL || s3?.endpoint;
  const region = env.AWS_REGION || s3?.region;
  return {
    baseUri,
    env: { ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}), ...(region ? { AWS_REGION: region } : {}) },
    ...(env.TRAINYARD_K8S_ARTIFACTS_SECRET ? { podSecret: env.TRAINYARD_K8S_ARTIFACTS_SECRET } : {}),
  };
}
