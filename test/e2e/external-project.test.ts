/**
 * Trainyard as a package: `npm pack` of the built repository, installed by npm
 * into a copy of examples/external-project elsewhere on disk, which compiles
 * its pipeline against the installed types and runs it with the installed
 * `trainyard worker` and `trainyard api` on a real Temporal dev server.
 */
import { PIPELINE_RUN_WORKFLOW, runStateQuery, searchAttributes } from '../../contract';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../worker/config';
import { type PackedTarball, installPacked, packRepository } from '../support/packed-install';
import { exitCode, processAlive } from '../support/process';
import { eventually, startDevServer } from '../support/temporal';

interface Cli {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
}

interface RunView {
  status: string;
  steps: { id: string; state: string; output?: unknown }[];
}

/** A run's status once it has ended (`running` until then). */
const ENDED = new Set(['success', 'failed', 'cancelled']);

/** Every .js file under `dir`. */
function scripts(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .map((f) => path.join(dir, f));
}

/** The package a bare `require("...")` names (`@scope/name`, `name`), or undefined for relative and built-in ones. */
function requiredPackages(file: string): string[] {
  const names = [...readFileSync(file, 'utf8').matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1] ?? '');
  return names
    .filter((n) => !n.startsWith('.') && !n.startsWith('node:') && !builtinModules.includes(n))
    .map((n) => n.split('/').slice(0, n.startsWith('@') ? 2 : 1).join('/'));
}

/** SIGTERM, then SIGKILL if the process has not exited within 15 s; resolves once it has. */
async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([exitCode(child).then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 15_000)))]);
  clearTimeout(timer);
  if (!exited) {
    child.kill('SIGKILL');
    await exitCode(child);
  }
}

describe('an external project on the packed package', { timeout: 300_000 }, () => {
  let env: TestWorkflowEnvironment;
  let work: string;
  let project: string;
  let tarball: PackedTarball;
  const started: Cli[] = [];

  /** The project's environment: ours without Trainyard's and Temporal's settings, so only flags and defaults apply. */
  function cliEnv(): NodeJS.ProcessEnv {
    const kept = Object.entries(process.env).filter(([key]) => !/^(TRAINYARD_|TEMPORAL_|npm_)/i.test(key));
    return { ...Object.fromEntries(kept), TEMPORAL_ADDRESS: env.address, TRAINYARD_TASK_QUEUE: 'external-project' };
  }

  /** Starts the installed `trainyard` command in the project. */
  function trainyard(args: string[]): Cli {
    const child = spawn(path.join(project, 'node_modules', '.bin', 'trainyard'), args, { cwd: project, env: cliEnv() });
    let printed = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
    const cli = { child, output: () => printed };
    started.push(cli);
    return cli;
  }

  before(async () => {
    work = realpathSync(mkdtempSync(path.join(tmpdir(), 'trainyard-external-')));
    project = path.join(work, 'external-project');
    const source = path.join(PROJECT_ROOT, 'examples', 'external-project');
    cpSync(source, project, { recursive: true, filter: (f) => !/[/\\](node_modules|dist|\.trainyard)$/.test(f) && !f.endsWith('package-lock.json') });
    const serverStarted = startDevServer();
    try {
      const t0 = Date.now();
      tarball = await packRepository(work);
      const t1 = Date.now();
      await installPacked(project, tarball);
      const t2 = Date.now();
      const compiled = spawnSync(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
      assert.equal(compiled.status, 0, `the external project does not compile against the installed package:\n${compiled.stdout}${compiled.stderr}`);
      const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
      console.log(`# npm pack ${seconds(t1 - t0)}, npm install ${seconds(t2 - t1)}, tsc ${seconds(Date.now() - t2)}`);
    } finally {
      env = await serverStarted;
    }
  }, { timeout: 240_000 });

  after(async () => {
    await Promise.all(started.map(({ child }) => stop(child)));
    for (const { child } of started) assert.equal(processAlive(child.pid ?? 0), false, `trainyard process ${child.pid} is still running`);
    await env?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs the built code, its types, the workflow bundle and the command, and no tests, benchmarks or source maps', () => {
    for (const file of ['dist/pipeline/index.js', 'dist/pipeline/index.d.ts', 'dist/cli/main.js', 'dist/worker/main.js', 'dist/api/main.js', 'dist/workflow-bundle.js', 'README.md', 'package.json']) {
      assert.ok(tarball.files.includes(file), `${file} is in the tarball`);
    }
    const stray = tarball.files.filter((f) => /^dist\/(test|bench|harness|scripts|examples)\//.test(f) || f.endsWith('.map') || !/^(dist\/|README\.md$|package\.json$)/.test(f));
    assert.deepEqual(stray, []);
    assert.equal(tarball.manifest.bin?.trainyard, 'dist/cli/main.js');
  });

  it('installs as the tarball packed it, needing nothing beyond its dependencies at run time', () => {
    const installed = path.join(project, 'node_modules', 'trainyard');
    assert.equal(realpathSync(installed), installed, 'trainyard is unpacked into the project, not linked to the repository');
    assert.deepEqual(JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')), tarball.manifest);
    assert.equal(realpathSync(path.join(project, 'node_modules', '.bin', 'trainyard')), path.join(installed, 'dist', 'cli', 'main.js'));
    const resolve = createRequire(path.join(project, 'package.json')).resolve;
    assert.equal(resolve('trainyard'), path.join(installed, 'dist', 'pipeline', 'index.js'));
    assert.throws(() => resolve('trainyard/dist/worker/main.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    // The run contract for the project's own Temporal clients: the names the workers use.
    assert.equal(resolve('trainyard/client'), path.join(installed, 'dist', 'contract', 'index.js'));
    const client = createRequire(path.join(project, 'package.json'))('trainyard/client') as typeof import('../../contract');
    assert.equal(client.PIPELINE_RUN_WORKFLOW, PIPELINE_RUN_WORKFLOW);
    assert.equal(client.runStateQuery.name, runStateQuery.name);
    assert.equal(client.searchAttributes.pipelineId.name, searchAttributes.pipelineId.name);
    assert.ok(existsSync(path.join(installed, 'dist', 'contract', 'index.d.ts')), 'the contract ships its types');
    const dependencies = new Set(Object.keys(tarball.manifest.dependencies ?? {}));
    const undeclared = scripts(path.join(installed, 'dist')).flatMap((file) =>
      requiredPackages(file).filter((name) => !dependencies.has(name)).map((name) => `${path.relative(installed, file)} requires ${name}`),
    );
    assert.deepEqual(undeclared, []);
    assert.equal(existsSync(path.join(project, 'node_modules', '@temporalio', 'testing')), false, '@temporalio/testing is a devDependency only');
  });

  it('refuses a pipeline module that is not there, naming the flag and both places it looked', async () => {
    const cli = trainyard(['worker', '--pipelines', 'dist/missing.js']);
    assert.equal(await exitCode(cli.child), 2);
    const lines = cli.output().trim().split('\n');
    assert.equal(lines.length, 1, cli.output());
    assert.match(lines[0] ?? '', /^trainyard worker: --pipelines: cannot load pipeline module 'dist\/missing\.js': no file at .*external-project\/dist\/missing\.js or .*node_modules\/trainyard\/dist\/dist\/missing\.js;/);
  });

  it("runs the project's pipeline through the installed worker and API", async () => {
    const worker = trainyard(['worker', '--pipelines', 'dist/pipeline.js']);
    const api = trainyard(['api', '--pipelines', 'dist/pipeline.js', '--port', '0']);
    await eventually('the worker to start', () => (worker.output().includes('trainyard worker on') ? true : undefined), 60_000);
    assert.match(worker.output(), /task queue 'external-project'; pipelines: external_pipeline; schedules: none/);
    const base = await eventually('the API to start', () => /trainyard api on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(api.output())?.[1], 60_000);

    const created = await fetch(`${base}/pipelines/external_pipeline/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(created.status, 201, await created.clone().text());
    const { runId } = (await created.json()) as { runId: string };
    const run = await eventually(
      'the run to end',
      async () => {
        const view = (await (await fetch(`${base}/runs/${encodeURIComponent(runId)}`)).json()) as RunView;
        return ENDED.has(view.status) ? view : undefined;
      },
      60_000,
    );
    assert.equal(run.status, 'success', JSON.stringify(run));
    assert.deepEqual(
      run.steps.map(({ id, state, output }) => ({ id, state, output })),
      [
        { id: 'count', state: 'success', output: { rows: 3 } },
        { id: 'summarise', state: 'success', output: { rows: 3, ok: true } },
      ],
    );
    assert.ok(existsSync(path.join(project, '.trainyard', 'data')), "the worker keeps its state in the project's ./.trainyard by default");

    worker.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    assert.equal(await exitCode(worker.child), 0, worker.output());
    assert.equal(await exitCode(api.child), 0, api.output());
  });
});
