/** A `process` try: the command as a local process group (activities/process-runner.ts). */
import type { TryRunner } from './try';

export const processTry: TryRunner<'process'> = ({ config, ref, acts, timeoutMs }) =>
  acts.runProcess({
    ...ref,
    command: config.command,
    ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
    env: Object.entries(config.env ?? {}).map(([name, value]) => ({ name, value })),
    timeoutMs,
  });
