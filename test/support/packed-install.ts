/**
 * Trainyard as a user gets it, for tests: `npm pack` of this repository's built
 * tree, and a project elsewhere that installs that tarball with npm.
 *
 * The project's lockfile is made from this repository's: the tarball's entry,
 * then every package entry of ours, which npm prunes to what the project needs.
 * So the install takes exactly the versions the repository is tested with,
 * from the npm cache when it has them (`--prefer-offline`), and resolves
 * nothing anew.
 *
 *   const tarball = await packRepository(tmp);
 *   await installPacked(projectDir, tarball);   // projectDir/node_modules/trainyard
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../worker/config';

const run = promisify(execFile);

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
}

interface Lockfile {
  packages: Record<string, Record<string, unknown>>;
}

export interface PackedTarball {
  /** Absolute path of the .tgz. */
  file: string;
  /** Paths inside the package, as npm listed them. */
  files: string[];
  /** The package.json inside the tarball. */
  manifest: PackageJson;
}

/**
 * The environment for a nested npm: ours without the variables `npm test` sets
 * for its own script (package fields, lifecycle, prefixes), which would make
 * the nested npm think it works in this repository. Cache and registry stay.
 */
export function nestedNpmEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_globalconfig']);
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.toLowerCase().startsWith('npm_') || kept.has(key.toLowerCase())));
}

/** `npm pack` of the repository as built (no scripts run, so nothing rebuilds) into `destination`. */
export async function packRepository(destination: string): Promise<PackedTarball> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd: PROJECT_ROOT,
    env: nestedNpmEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error(`npm pack printed no tarball: ${stdout}`);
  const file = path.join(destination, packed.filename);
  const { stdout: manifest } = await run('tar', ['-xzOf', file, 'package/package.json']);
  return { file, files: packed.files.map((f) => f.path), manifest: JSON.parse(manifest) as PackageJson };
}

/** The lockfile for `project` depending on `tarball` (by the spec in its package.json), pinned to this repository's versions. */
export function consumerLockfile(project: PackageJson, tarball: PackedTarball, spec: string): object {
  const repository = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const { manifest } = tarball;
  const packages: Lockfile['packages'] = {
    '': { name: project.name, version: project.version, dependencies: project.dependencies, devDependencies: project.devDependencies },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball.file)).digest('base64')}`,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [location, entry] of Object.entries(repository.packages)) if (location !== '') packages[location] = entry;
  return { name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages };
}

/**
 * Points `projectDir`'s dependency on the package at the tarball, writes the
 * pinned lockfile and runs `npm install` there.
 */
export async function installPacked(projectDir: string, tarball: PackedTarball): Promise<void> {
  const manifestPath = path.join(projectDir, 'package.json');
  const project = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackageJson;
  const spec = `file:${path.relative(projectDir, tarball.file)}`;
  project.dependencies = { ...project.dependencies, [tarball.manifest.name]: spec };
  writeFileSync(manifestPath, `${JSON.stringify(project, null, 2)}\n`);
  writeFileSync(path.join(projectDir, 'package-lock.json'), `${JSON.stringify(consumerLockfile(project, tarball, spec), null, 2)}\n`);
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: projectDir,
    env: nestedNpmEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
}
