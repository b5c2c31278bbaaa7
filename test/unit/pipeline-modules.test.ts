/** loadPipelineModules: where names resolve, default exports, and where a module's local images are. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT, loadPipelineModules } from '../../worker';

/** The compiled builder, as a module elsewhere on disk would import it from its installed package. */
const PIPELINE_INDEX = path.resolve(__dirname, '..', '..', 'pipeline', 'index.js');

describe('pipeline modules', () => {
  let project: string;
  before(() => {
    // A project of its own: a package.json at its root, the compiled module under dist/.
    project = realpathSync(mkdtempSync(path.join(tmpdir(), 'trainyard-modules-')));
    mkdirSync(path.join(project, 'dist'));
    writeFileSync(path.join(project, 'package.json'), '{"name":"elsewhere","version":"1.0.0"}\n');
    // What tsc emits for `export default pipeline(...)` and `export const localImages = {...}` in CommonJS.
    writeFileSync(
      path.join(project, 'dist', 'pipeline.js'),
      [
        '"use strict";',
        'Object.defineProperty(exports, "__esModule", { value: true });',
        `const trainyard = require(${JSON.stringify(PIPELINE_INDEX)});`,
        "exports.localImages = { 'tools:1': 'images/tools', 'abs:1': '/opt/images/abs' };",
        "exports.default = trainyard.pipeline({ id: 'elsewhere' }, (p) => { p.process('hello', { command: ['true'] }); });",
      ].join('\n'),
    );
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it("loads a module relative to the current directory, its default export, and its images from its package's root", async () => {
    for (const name of ['dist/pipeline.js', './dist/pipeline.js', 'dist/pipeline', path.join(project, 'dist', 'pipeline.js')]) {
      const registry = await loadPipelineModules([name], project);
      assert.deepEqual([...registry.pipelines.keys()], ['elsewhere'], name);
      assert.deepEqual(registry.images, { 'tools:1': path.join(project, 'images', 'tools'), 'abs:1': '/opt/images/abs' });
    }
  });

  it("still loads the repository's modules by their names under dist/, images from the repository root", async () => {
    const registry = await loadPipelineModules(['examples/ml-training/pipeline', 'test/fixtures/echo-pipeline.js'], project);
    assert.deepEqual([...registry.pipelines.keys()].sort(), ['api_echo', 'ml_training_pipeline']);
    assert.equal(registry.images['ml-tools:latest'], path.join(PROJECT_ROOT, 'examples', 'ml-training', 'image'));
  });

  it('names both places it looked when neither has the module', async () => {
    await assert.rejects(loadPipelineModules(['dist/missing.js'], project), {
      name: 'PipelineModuleError',
      message: `cannot load pipeline module 'dist/missing.js': no file at ${path.join(project, 'dist', 'missing.js')} or ${path.resolve(__dirname, '..', '..', 'dist', 'missing.js')}; name a compiled .js module by an absolute path or one relative to the current directory`,
    });
  });

  it('says to compile a TypeScript module first', async () => {
    writeFileSync(path.join(project, 'source.ts'), 'export const x: number = 1;\n');
    await assert.rejects(loadPipelineModules(['source.ts'], project), /^PipelineModuleError: cannot load pipeline module 'source\.ts' .*; compile it first and name the compiled \.js file$/);
  });
});
