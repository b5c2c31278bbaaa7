/**
 * The `notify` step: POSTs `{ text, ...fields }` (Slack's incoming-webhook shape)
 * to a webhook. A secret webhook URL is read from the worker's environment by
 * name, so it never enters workflow history, and no message repeats it.
 */
import { failure } from '../contract';
import type { NotifyInput } from './types';

export interface NotifyDeps {
  /** Where `webhookEnv` names are looked up. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Per-request timeout, ms. @default 10000 */
  timeoutMs?: number;
}

export function createNotifyActivities(deps: NotifyDeps = {}) {
  const env = deps.env ?? process.env;
  return {
    async notify(input: NotifyInput): Promise<{ xcom: { status: number } }> {
      const target = input.webhookEnv !== undefined ? env[input.webhookEnv] : input.url;
      const shown = input.webhookEnv !== undefined ? `the webhook in $${input.webhookEnv}` : (input.url ?? '');
      if (!target) {
        throw failure('missingWebhook', `environment variable ${input.webhookEnv ?? ''} is not set on the worker; set it to the webhook URL`);
      }
      let response: Response;
      try {
        response = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: input.text, ...input.fields }),
          signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
        });
      } catch (err) {
        throw failure('webhookUnavailable', `could not reach ${shown}: ${(err as Error).name}`);
      }
      if (!response.ok) {
        const passing = response.status === 429 || response.status >= 500;
        throw failure(passing ? 'webhookUnavailable' : 'webhookRejected', `${shown} answered ${response.status}`);
      }
      return { xcom: { status: response.status } };
    },
  };
}
