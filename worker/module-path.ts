/**
 * Where a pipeline module named in TRAINYARD_PIPELINES or `--pipelines` lives.
 * A name is tried, in order:
 *
 *   1. as given when absolute, else relative to the current directory
 *      (`./dist/pipeline.js`, `dist/pipeline.js`), when a file is there;
 *   2. relative to Trainyard's compiled tree, for the repository's own modules
 *      (`examples/ml-training/pipeline`, `test/fixtures/echo-pipeline.js`).
 *
 * Node's rules fill in a missing `.js` or `/index.js`. A name found nowhere
 * throws a `PipelineModuleError` naming every place tried.
 *
 *   resolvePipelineModule('dist/pipeline.js', { cwd: '/srv/app', distRoot: '/srv/app/node_modules/trainyard/dist' })
 *   // '/srv/app/dist/pipeline.js'
 */
import path from 'node:path';

/** Thrown when a pipeline module cannot be found or loaded; the message says what to pass instead. */
export class PipelineModuleError extends Error {
  override name = 'PipelineModuleError';
  constructor(
    message: string,
    readonly module: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ModuleSearch {
  /** Relative names are tried here first. @default process.cwd() */
  cwd?: string;
  /** Trainyard's compiled tree, tried second. */
  distRoot: string;
}

/** The places `name` may be, in the order they are tried. */
export function moduleCandidates(name: string, search: ModuleSearch): string[] {
  if (path.isAbsolute(name)) return [name];
  const fromCwd = path.resolve(search.cwd ?? process.cwd(), name);
  const fromDist = path.join(search.distRoot, name);
  return fromCwd === fromDist ? [fromCwd] : [fromCwd, fromDist];
}

function resolvedFile(candidate: string): string | undefined {
  try {
    return require.resolve(candidate);
  } catch {
    return undefined;
  }
}

/** The file `name` names, or a `PipelineModuleError` listing where it was looked for. */
export function resolvePipelineModule(name: string, search: ModuleSearch): string {
  const candidates = moduleCandidates(name, search);
  for (const candidate of candidates) {
    const file = resolvedFile(candidate);
    if (file) return file;
  }
  throw new PipelineModuleError(
    `cannot load pipeline module '${name}': no file at ${candidates.join(' or ')}; ` +
      'name a compiled .js module by an absolute path or one relative to the current directory',
    name,
  );
}
