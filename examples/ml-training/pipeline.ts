/**
 * The flagship example: the daily ML training pipeline Airflow users know
 * (wait for the day's data in S3 -> validate -> preprocess -> hyperparameter search: generate the grid, train one
 * pod per point with early stopping, select the best -> register it in MLflow -> evaluate -> compare with the
 * champion -> a person approves -> promote and deploy, or keep the champion -> notify), written for Trainyard.
 * Every run is tracked in MLflow: one parent run, one nested run per trial and container step. The container steps carry their Kubernetes settings
 * (resources, GPU toleration, node selector, shared volume); on the local
 * runner the same steps run as processes in `image/`, the image's source.
 */
import { defineTask, gridSearchTask, pipeline as definePipeline, selectBestTask } from '../../pipeline';

/** What a training trial leaves (train.py's XCom), as far as the pipeline reads it. */
type Trial = {
  accuracy: number;
  mlflow_run_id: string;
  model_source: string;
  model_id: string;
};

/** Image name -> local directory, for `runner: 'local'` (paths from the repository root). */
export const localImages: Record<string, string> = {
  'ml-tools:latest': 'examples/ml-training/image',
  'ml-trainer:latest': 'examples/ml-training/image',
  'ml-deployer:latest': 'examples/ml-training/image',
};

const GPU_RESOURCES = {
  requests: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
  limits: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' },
};
const GPU_TOLERATIONS = [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }];
const GPU_NODE_SELECTOR = { 'gpu-type': 'a100', 'node-pool': 'ml-training' };
/** Keep training pods of one run apart where the pool allows, like the article's anti-affinity advice. */
const SPREAD_TRAINING = {
  podAntiAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 50,
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'trainyard.io/step': 'model_training.train_model' } } },
      },
    ],
  },
};
const SHARED_DATA = {
  volumes: [{ name: 'shared-data', persistentVolumeClaim: { claimName: 'ml-shared-pvc' } }],
  volumeMounts: [{ name: 'shared-data', mountPath: '/shared' }],
};

/** Where the upstream system drops each day's training data; the run starts by waiting for it. */
export const TRAINING_DATA = { bucket: 'ml-datasets', key: 'daily/{{ ds }}/digits.csv' } as const;
const DATA_URI = `s3://${TRAINING_DATA.bucket}/${TRAINING_DATA.key}`;

/**
 * The grid the search trains: 3 learning rates x 2 batch sizes x 2 optimizers = 12
 * trials. The 1e-5 rows barely learn; early stopping prunes them after a few epochs.
 */
const SEARCH_SPACE = { lr: [0.01, 0.001, 0.00001], batch_size: [32, 128], optimizer: ['adam', 'sgd'] };

type Evaluation = {
  accuracy: number;
  f1_score: number;
  model_uri: string;
  version: string;
};

/** The comparison's "keep" arm: records why the champion stays where it is. */
export const skipDeployment = defineTask('ml_training.skip_deployment', (args: { reason: string }, ctx) => {
  ctx.log(`keeping the current champion: ${args.reason}`);
  return { deployed: false, reason: args.reason };
});

export const pipeline = definePipeline(
  {
    id: 'ml_training_pipeline',
    description: 'Retrains the digits classifier daily; deploys it when it beats the champion and a person approves.',
    schedule: '@daily',
    maxActiveRuns: 1,
    tags: ['ml', 'training', 'production'],
    mlflow: { experiment: 'daily-training-{{ ds }}' },
    params: {
      threshold: 0.9,
      min_improvement: 0.001,
      epochs: 30,
      epoch_seconds: 0.1,
      model_name: 'production-model',
    },
    defaults: { retries: 2, retryDelay: '30s', timeout: '30m' },
  },
  (p) => {
    // The article's S3KeySensor: reschedule mode holds no worker slot while it waits, and an
    // S3 event notification (POST /events/s3) makes it look again at once.
    const data = p.s3KeySensor('wait_for_training_data', {
      ...TRAINING_DATA,
      minSize: 1,
      mode: 'reschedule',
      pokeInterval: '5m',
      timeout: '6h',
    });

    const prepared = p.group('data_preparation', (g) => {
      const validated = g.pod('validate_data', {
        image: 'ml-tools:latest',
        namespace: 'ml-training',
        cmds: ['python', 'validate.py'],
        arguments: ['--date', '{{ ds }}', '--data-uri', DATA_URI],
        env: [{ name: 'DATA_DATE', value: '{{ ds }}' }],
        resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '16Gi' } },
      }, { after: [data] });
      g.pod(
        'preprocess_data',
        {
          image: 'ml-tools:latest',
          namespace: 'ml-training',
          cmds: ['python', 'preprocess.py'],
          arguments: ['--date', '{{ ds }}', '--data-uri', DATA_URI],
          resources: { requests: { cpu: '4', memory: '32Gi' }, limits: { cpu: '8', memory: '64Gi' } },
          ...SHARED_DATA,
        },
        { after: [validated] },
      );
    });

    // The group's handle stands for its leaves: `after: [prepared]` waits for all of data_preparation.
    const training = p.group('model_training', (g) => {
      // The article's hyperparameter stage: a grid, one training pod per point, the best one kept.
      const grid = g.task('generate_hyperparams', gridSearchTask, { space: SEARCH_SPACE }, { after: [prepared] });
      const trials = g.pod<Trial[]>(
        'train_model',
        {
          image: 'ml-trainer:latest',
          namespace: 'ml-training',
          cmds: ['python', 'train.py'],
          arguments: [
            '--lr', '{{ map.lr }}',
            '--batch-size', '{{ map.batch_size }}',
            '--optimizer', '{{ map.optimizer }}',
            '--epochs', '{{ params.epochs }}',
            '--epoch-seconds', '{{ params.epoch_seconds }}',
          ],
          resources: GPU_RESOURCES,
          tolerations: GPU_TOLERATIONS,
          nodeSelector: GPU_NODE_SELECTOR,
          affinity: SPREAD_TRAINING,
          ...SHARED_DATA,
        },
        {
          timeout: '4h',
          map: {
            expand: grid.output,
            maxActive: 4,
            // A failed point costs the search little; a run with half its points failed is broken.
            minSuccessRatio: 0.5,
            earlyStopping: { metric: 'val_accuracy', mode: 'max', minSteps: 5, minTrials: 3 },
          },
        },
      );
      const best = g.task('select_best_model', selectBestTask, { results: trials.output, key: 'accuracy', mode: 'max' });
      // The best trial's model becomes a new version of the registered model (found again on a retry).
      const registered = g.registerModel('register_model', {
        model: '{{ params.model_name }}',
        source: best.get('model_source'),
        runId: best.get('mlflow_run_id'),
        modelId: best.get('model_id'),
        description: 'digits classifier, best trial of {{ run_id }}',
      });
      const evaluated = g.pod<Evaluation>(
        'evaluate_model',
        {
          image: 'ml-trainer:latest',
          namespace: 'ml-training',
          cmds: ['python', 'evaluate.py'],
          // A typed reference: renders to the new version, and makes this step wait for register_model.
          arguments: ['--model-uri', `models:/{{ params.model_name }}/${registered.ref('version')}`],
          ...SHARED_DATA,
        },
      );
      // The article's should_deploy: the new version's test accuracy against @champion's.
      const compared = g.compareBaseline(
        'compare_baseline',
        {
          model: '{{ params.model_name }}',
          version: registered.get('version'),
          alias: 'champion',
          metric: 'test_accuracy',
          minValue: '{{ params.threshold }}',
          minImprovement: '{{ params.min_improvement }}',
        },
        { after: [evaluated] },
      );
      return { registered, evaluated, compared };
    });
    const { registered, evaluated, compared } = training.result;

    const decision = p.branch(
      'deployment_decision',
      { cases: [{ if: 'xcom.model_training.compare_baseline.shouldPromote', then: 'approve_deployment' }], otherwise: 'skip_deployment' },
      { after: [training] },
    );

    // A person approves this exact version before it serves; a day without a decision rejects it.
    const approved = p.approval(
      'approve_deployment',
      {
        model: '{{ params.model_name }}',
        version: registered.get('version'),
        timeout: '24h',
        onTimeout: 'reject',
        remindEvery: '4h',
        notify: { webhookEnv: 'TRAINYARD_SLACK_WEBHOOK_URL' },
        details: { test_accuracy: evaluated.get('accuracy'), champion: compared.get('baseline'), reason: compared.get('reason') },
      },
      { after: [decision] },
    );
    const promoted = p.promote('promote_model', { model: '{{ params.model_name }}', version: registered.get('version'), alias: 'champion' }, { after: [approved] });

    const deployed = p.pod(
      'deploy_model',
      {
        image: 'ml-deployer:latest',
        namespace: 'ml-serving',
        cmds: ['python', 'deploy.py'],
        // Serves whatever @champion is once promote_model has moved it: this run's version.
        arguments: ['--model-uri', 'models:/{{ params.model_name }}@champion'],
        resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
        ...SHARED_DATA,
      },
      { after: [promoted] },
    );

    const skipped = p.task('skip_deployment', skipDeployment, { reason: compared.get('reason') }, { after: [decision], retries: 0 });

    p.notify(
      'send_notification',
      {
        webhookEnv: 'TRAINYARD_SLACK_WEBHOOK_URL',
        text:
          'ml_training_pipeline {{ ds }}: {{ params.model_name }} version {{ xcom.model_training.register_model.version }}, ' +
          'test accuracy {{ xcom.model_training.evaluate_model.accuracy }}; {{ xcom.model_training.compare_baseline.reason }}; ' +
          'approval: {{ xcom.approve_deployment.decision | default("not asked") }}; ' +
          'deployed version: {{ xcom.deploy_model.version | default("none") }}',
        fields: { run_id: '{{ run_id }}', should_promote: '{{ xcom.model_training.compare_baseline.shouldPromote }}' },
      },
      { after: [deployed, skipped, approved], triggerRule: 'none_failed_min_one_success' },
    );
  },
);
