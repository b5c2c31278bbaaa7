/**
 * `notify`: POSTs `{ text, ...fields }` (Slack's incoming-webhook shape) to a
 * webhook whose URL is secret (read from the worker's environment by name) or not.
 *
 *   p.notify('tell', { webhookEnv: 'SLACK_WEBHOOK_URL', text: 'done: {{ ds }}' }, { after: [deploy] });
 */
import type { StepHandle, StepOptions } from '../builder';
import { type CompileContext, defineKind } from './kind';

export interface NotifyConfig {
  /** Name of the worker's environment variable holding the webhook URL (keeps it out of history). */
  webhookEnv?: string;
  /** A webhook URL that is not secret. */
  url?: string;
  text: string;
  /** Extra JSON fields sent with `text`. */
  fields?: Record<string, unknown>;
}

/**
 * What is wrong with a webhook target (`webhookEnv` or `url`): the notify kind's
 * own fields, or another kind's (`prefix` names where they sit, like `notify.`).
 */
export function webhookProblems(target: { webhookEnv?: unknown; url?: unknown }, where: string, prefix = ''): string[] {
  const problems: string[] = [];
  if ((target.webhookEnv === undefined) === (target.url === undefined)) {
    problems.push(`${where}: give exactly one of ${prefix}webhookEnv (name of an env var holding a secret URL) or ${prefix}url`);
  }
  if (target.url !== undefined && (typeof target.url !== 'string' || !/^https?:\/\//.test(target.url))) {
    problems.push(`${where}: ${prefix}url must start with http:// or https://`);
  }
  if (target.webhookEnv !== undefined && (typeof target.webhookEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(target.webhookEnv))) {
    problems.push(`${where}: ${prefix}webhookEnv must be an environment variable name`);
  }
  return problems;
}

export const notifyKind = defineKind({
  method: 'notify',
  build: (adder) =>
    (id: string, config: NotifyConfig, opts?: StepOptions): StepHandle<{ status: number }> => adder.add('notify', id, config, opts),
  compile(config: NotifyConfig, ctx: CompileContext): NotifyConfig {
    const { where, problems } = ctx;
    if (typeof config.text !== 'string') problems.push(`${where}: text is required`);
    problems.push(...webhookProblems(config, where));
    if (config.fields !== undefined && (config.fields === null || typeof config.fields !== 'object' || Array.isArray(config.fields))) {
      problems.push(`${where}: fields must be an object of extra JSON fields`);
    }
    return config;
  },
});
