/**
 * Loads pipeline modules. A module exports `pipeline` (or a default export)
 * built with `pipeline()`, and may export `localImages`: image name -> directory
 * (relative to the repository root) for running pod steps on the local runner.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pipeline, TaskDefinition } from '../pipeline';
import { PROJECT_ROOT } from './config';

export interface PipelineRegistry {
  pipelines: ReadonlyMap<string, Pipeline>;
  tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>;
  images: Readonly<Record<string, string>>;
}

interface PipelineModule {
  pipeline?: Pipeline;
  default?: Pipeline;
  localImages?: Record<string, string>;
}

/** Builds a registry from built pipelines; task names must not clash across pipelines. */
export function createRegistry(entries: readonly { pipeline: Pipeline; localImages?: Record<string, string> }[]): PipelineRegistry {
  const pipelines = new Map<string, Pipeline>();
  const tasks = new Map<string, TaskDefinition<never, unknown>>();
  const images: Record<string, string> = {};
  for (const { pipeline, localImages } of entries) {
    if (pipelines.has(pipeline.spec.id)) throw new Error(`two pipeline modules define the pipeline id '${pipeline.spec.id}'`);
    pipelines.set(pipeline.spec.id, pipeline);
    for (const [name, task] of pipeline.tasks) {
      const known = tasks.get(name);
      if (known && known !== task) throw new Error(`two different task functions are named '${name}'; rename one`);
      tasks.set(name, task);
    }
    for (const [image, dir] of Object.entries(localImages ?? {})) images[image] = path.resolve(PROJECT_ROOT, dir);
  }
  return { pipelines, tasks, images };
}

/** Loads modules named relative to the compiled tree (`examples/ml-training/pipeline`) or by absolute path. */
export async function loadPipelineModules(modules: readonly string[]): Promise<PipelineRegistry> {
  const distRoot = path.resolve(__dirname, '..');
  const entries = [];
  for (const name of modules) {
    const file = path.isAbsolute(name) ? name : path.join(distRoot, name);
    let mod: PipelineModule;
    try {
      mod = (await import(pathToFileURL(require.resolve(file)).href)) as PipelineModule;
    } catch (err) {
      const reason = ((err as Error).message.split('\n')[0] ?? '').trim();
      throw new Error(`cannot load pipeline module '${name}' (${file}): ${reason}`);
    }
    const pipeline = mod.pipeline ?? mod.default;
    if (!pipeline?.spec) throw new Error(`pipeline module '${name}' exports no pipeline; export const pipeline = pipeline({...}, ...)`);
    entries.push({ pipeline, ...(mod.localImages ? { localImages: mod.localImages } : {}) });
  }
  return createRegistry(entries);
}
