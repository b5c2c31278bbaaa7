/**
 * The environment a `trainyard worker` or `trainyard api` runs with: the flags'
 * values over the caller's environment. Two defaults differ from the entry
 * files', because the command runs in the user's project rather than in
 * Trainyard's repository: pipelines must be named (there is no built-in
 * example), and the state dir is `./.trainyard`. Pipeline modules are resolved
 * here, so a wrong path is refused before anything connects.
 *
 *   commandEnv('worker', { TRAINYARD_PIPELINES: 'dist/pipeline.js' }, process.env, '/srv/app')
 *   // { ..., TRAINYARD_PIPELINES: '/srv/app/dist/pipeline.js', TRAINYARD_STATE_DIR: '/srv/app/.trainyard' }
 */
import path from 'node:path';
import { resolvePipelineModule } from '../worker/module-path';
import type { CommandName } from './flags';
import { UsageError } from './parse-args';

export function commandEnv(command: CommandName, flags: Record<string, string>, env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { TRAINYARD_STATE_DIR: path.join(cwd, '.trainyard'), ...env, ...flags };
  const source = flags.TRAINYARD_PIPELINES !== undefined ? '--pipelines' : 'TRAINYARD_PIPELINES';
  const names = (merged.TRAINYARD_PIPELINES ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('no pipelines to serve; pass --pipelines <module.js>... (or set TRAINYARD_PIPELINES)', command);
  const distRoot = path.resolve(__dirname, '..');
  try {
    merged.TRAINYARD_PIPELINES = names.map((name) => resolvePipelineModule(name, { cwd, distRoot })).join(',');
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message}`, command);
  }
  return merged;
}
