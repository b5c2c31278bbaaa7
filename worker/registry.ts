/**
 * Loads pipeline modules. A module exports `pipeline` (or a default export)
 * built with `pipeline()`, and may export `localImages`: image name -> directory
 * of the image's source, for running pod steps on the local runner.
 *
 * Module names resolve as `module-path.ts` says: absolute or relative to the
 * current directory first, then relative to Trainyard's compiled tree.
 *
 * A relative `localImages` directory is resolved from the root of the package
 * the module belongs to: the nearest folder above the module file holding a
 * package.json. For the repository's own modules that is the repository root
 * (`examples/ml-training/image`); for a module of another project it is that
 * project's root, wherever its compiled output lives:
 *
 *   // my-project/src/pipeline.ts, compiled to my-project/dist/pipeline.js
 *   export const localImages = { 'ml-tools:latest': 'images/ml-tools' };   // my-project/images/ml-tools
 *
 * Absolute directories are taken as they are.
 *
 *   const registry = await loadPipelineModules(['./dist/pipeline.js']);
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pipeline, TaskDefinition } from '../pipeline';
import { PROJECT_ROOT, findProjectRoot } from './config';
import { PipelineModuleError, resolvePipelineModule } from './module-path';

export interface PipelineRegistry {
  pipelines: ReadonlyMap<string, Pipeline>;
  tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>;
  images: Readonly<Record<string, string>>;
}

/** One pipeline for `createRegistry`, with the local image directories of its module. */
export interface RegistryEntry {
  pipeline: Pipeline;
  localImages?: Record<string, string>;
  /** Relative `localImages` directories are resolved from here. @default the repository root */
  imagesRoot?: string;
}

interface PipelineModule {
  pipeline?: Pipeline;
  /** An ES module's default export; for CommonJS, `module.exports`, whose `default` a compiled `export default` is. */
  default?: Pipeline | { default?: Pipeline };
  localImages?: Record<string, string>;
}

/** The module's `pipeline` export, else its default export (compiled to CommonJS or not). */
function pipelineOf(mod: PipelineModule): Pipeline | undefined {
  if (mod.pipeline) return mod.pipeline;
  const fallback = mod.default;
  if (fallback && 'spec' in fallback) return fallback;
  return fallback?.default;
}

/** Builds a registry from built pipelines; task names must not clash across pipelines. */
export function createRegistry(entries: readonly RegistryEntry[]): PipelineRegistry {
  const pipelines = new Map<string, Pipeline>();
  const tasks = new Map<string, TaskDefinition<never, unknown>>();
  const images: Record<string, string> = {};
  for (const { pipeline, localImages, imagesRoot } of entries) {
    if (pipelines.has(pipeline.spec.id)) throw new Error(`two pipeline modules define the pipeline id '${pipeline.spec.id}'`);
    pipelines.set(pipeline.spec.id, pipeline);
    for (const [name, task] of pipeline.tasks) {
      const known = tasks.get(name);
      if (known && known !== task) throw new Error(`two different task functions are named '${name}'; rename one`);
      tasks.set(name, task);
    }
    for (const [image, dir] of Object.entries(localImages ?? {})) images[image] = path.resolve(imagesRoot ?? PROJECT_ROOT, dir);
  }
  return { pipelines, tasks, images };
}

function firstLine(err: unknown): string {
  return ((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '').trim();
}

/** Imports one module, turning a failure into a one-line `PipelineModuleError`. */
async function importModule(name: string, file: string): Promise<PipelineModule> {
  try {
    return (await import(pathToFileURL(file).href)) as PipelineModule;
  } catch (err) {
    const hint = /\.[cm]?ts$/.test(file) ? '; compile it first and name the compiled .js file' : '';
    throw new PipelineModuleError(`cannot load pipeline module '${name}' (${file}): ${firstLine(err)}${hint}`, name, { cause: err });
  }
}

/** Loads modules named as `module-path.ts` describes: `./dist/pipeline.js`, `/abs/pipeline.js`, `examples/ml-training/pipeline`. */
export async function loadPipelineModules(modules: readonly string[], cwd = process.cwd()): Promise<PipelineRegistry> {
  const distRoot = path.resolve(__dirname, '..');
  const entries: RegistryEntry[] = [];
  for (const name of modules) {
    const file = resolvePipelineModule(name, { cwd, distRoot });
    const mod = await importModule(name, file);
    const pipeline = pipelineOf(mod);
    if (!pipeline?.spec) throw new PipelineModuleError(`pipeline module '${name}' exports no pipeline; export one built with pipeline(): export default pipeline({ id: ... }, (p) => { ... })`, name);
    entries.push({ pipeline, ...(mod.localImages ? { localImages: mod.localImages, imagesRoot: findProjectRoot(path.dirname(file)) } : {}) });
  }
  return createRegistry(entries);
}
