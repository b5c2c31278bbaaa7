/**
 * `approval`: a human approval gate bound to one exact version of a registered
 * model. The run waits (in the workflow: no activity, no worker slot) until
 * someone approves or rejects that version (the `approve` and `reject` Updates,
 * or `POST /runs/:runId/steps/:stepId/approval`), or until `timeout`.
 *
 *   const reg = p.task('register', registerModel, { run: train.get('runId') });
 *   const gate = p.approval('approve_model', { model: 'churn', version: reg.get('version'),
 *     timeout: '3d', remindEvery: '4h', notify: { webhookEnv: 'SLACK_WEBHOOK_URL' },
 *     details: { accuracy: '{{ xcom.evaluate.accuracy }}' } });
 *   p.task('deploy', deployModel, { version: reg.get('version') }, { after: [gate] });
 *
 * Approved: the step succeeds with the decision as its XCom and every follower
 * runs. Rejected (or timed out with `onTimeout: 'reject'`): the step succeeds
 * with the decision as its XCom and its followers are skipped. Timed out with
 * `onTimeout: 'fail'`: the step fails. A decision is one try: the step's
 * retries do not apply (they are set to 0 when the spec is compiled).
 */
import type { StepHandle, StepOptions } from '../builder';
import { parseDuration } from '../duration';
import { isXComRef } from '../template';
import type { Json, XComRef } from '../types';
import { type CompileContext, checkDuration, checkEnum, defineKind, orDefault } from './kind';
import { webhookProblems } from './notify';

export const APPROVAL_ON_TIMEOUT = ['reject', 'fail'] as const;
export type ApprovalOnTimeout = (typeof APPROVAL_ON_TIMEOUT)[number];

export interface ApprovalConfig {
  /** The registered model's name (templated). */
  model: string;
  /** The model version being approved: a number, text (templated, `'{{ xcom.register.version }}'`) or a typed reference. */
  version: string | number | XComRef;
  /** How long to wait for a decision. @default '7d' */
  timeout?: string;
  /** What the deadline decides: reject (followers skipped) or fail the step. @default 'fail' */
  onTimeout?: ApprovalOnTimeout;
  /** While no one has decided, a reminder this often (needs `notify`). */
  remindEvery?: string;
  /** Where reminders go: exactly one of a secret webhook URL's environment variable or a URL. */
  notify?: { webhookEnv?: string; url?: string };
  /** Shown to approvers with the request (the evaluation's metrics, say); templates rendered. */
  details?: Record<string, Json | XComRef>;
}

export type CompiledApprovalConfig = ApprovalConfig & Required<Pick<ApprovalConfig, 'timeout' | 'onTimeout' | 'details'>>;

/** The XCom of an approval step: the decision, who made it, when, and on which model version. (A type, so it is JSON.) */
export type ApprovalRecord = {
  decision: 'approved' | 'rejected';
  /** Who decided; `timeout` when the deadline decided. */
  approver: string;
  /** ISO-8601. */
  decidedAt: string;
  comment: string | null;
  modelName: string;
  /** As text: 4 and '4' are the same version. */
  version: string;
};

export const APPROVAL_DEFAULTS = { timeout: '7d', onTimeout: 'fail' } as const satisfies Pick<CompiledApprovalConfig, 'timeout' | 'onTimeout'>;

/** Most reminders one approval may send: each adds about ten events to the run's history, which Temporal caps. */
export const MAX_APPROVAL_REMINDERS = 500;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const approvalKind = defineKind({
  method: 'approval',
  build: (adder) =>
    (id: string, config: ApprovalConfig, opts?: StepOptions): StepHandle<ApprovalRecord> => adder.add('approval', id, config, opts),
  oneTry: true,
  compile(config: ApprovalConfig, ctx: CompileContext): CompiledApprovalConfig {
    const { where, problems } = ctx;
    if (ctx.mapped) {
      problems.push(`${where}: an approval step cannot be mapped (one decision is bound to one model version); remove its map, or map the steps before it and approve their result`);
    }
    if (typeof config.model !== 'string' || config.model.trim() === '') {
      problems.push(`${where}: model is required: the registered model's name, like 'churn-classifier' or '{{ params.model }}'`);
    }
    const { version } = config;
    const versionOk =
      (typeof version === 'string' && version.trim() !== '') || (typeof version === 'number' && Number.isInteger(version) && version >= 1) || isXComRef(version);
    if (!versionOk) {
      problems.push(`${where}: version is required: the model version to approve, a whole number ≥ 1, text like '{{ xcom.register.version }}', or a step's output (register.get('version'))`);
    }
    checkDuration(ctx, 'timeout', config.timeout, { positive: true });
    checkEnum(ctx, 'onTimeout', config.onTimeout, APPROVAL_ON_TIMEOUT);
    checkDuration(ctx, 'remindEvery', config.remindEvery, { positive: true });
    const timeoutMs = parseDuration(orDefault(config.timeout, APPROVAL_DEFAULTS.timeout));
    const remindMs = typeof config.remindEvery === 'string' ? parseDuration(config.remindEvery) : undefined;
    const timeoutText = config.timeout ?? APPROVAL_DEFAULTS.timeout;
    if (remindMs !== undefined && timeoutMs !== undefined && remindMs > 0) {
      if (remindMs >= timeoutMs) {
        problems.push(`${where}: remindEvery '${config.remindEvery}' is not shorter than timeout '${timeoutText}', so no reminder would be sent; shorten remindEvery or drop it`);
      } else if (Math.ceil(timeoutMs / remindMs) - 1 > MAX_APPROVAL_REMINDERS) {
        const count = Math.ceil(timeoutMs / remindMs) - 1;
        problems.push(`${where}: remindEvery '${config.remindEvery}' within timeout '${timeoutText}' makes ${count} reminders, more than ${MAX_APPROVAL_REMINDERS}; remind less often`);
      }
    }
    if (config.notify === undefined) {
      if (config.remindEvery !== undefined) problems.push(`${where}: remindEvery needs notify, where the reminders go: { webhookEnv: 'SLACK_WEBHOOK_URL' } or { url }`);
    } else if (!isPlainObject(config.notify)) {
      problems.push(`${where}: notify must be { webhookEnv } or { url }, where the reminders go`);
    } else {
      if (config.remindEvery === undefined) problems.push(`${where}: notify is set but remindEvery is not, so nothing would be sent; set remindEvery (like '4h') or drop notify`);
      problems.push(...webhookProblems(config.notify, where, 'notify.'));
    }
    if (config.details !== undefined && !isPlainObject(config.details)) {
      problems.push(`${where}: details must be an object of what approvers see, like { accuracy: '{{ xcom.evaluate.accuracy }}' }`);
    }
    return {
      ...config,
      timeout: orDefault(config.timeout, APPROVAL_DEFAULTS.timeout),
      onTimeout: orDefault(config.onTimeout, APPROVAL_DEFAULTS.onTimeout),
      details: orDefault(config.details, {}),
    };
  },
});
