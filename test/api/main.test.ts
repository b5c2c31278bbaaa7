import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type NodeProcess, exitCode, spawnNode } from '../support/process';
import { eventually, startDevServer } from '../support/temporal';

/** The compiled entry, next to this compiled test in whichever output folder. */
const MAIN = path.resolve(__dirname, '..', '..', 'api', 'main.js');
/** Named relative to the compiled tree, as TRAINYARD_PIPELINES modules are. */
const FIXTURE_MODULE = 'test/fixtures/echo-pipeline.js';

function startMain(env: Record<string, string>): NodeProcess {
  return spawnNode(MAIN, { TRAINYARD_PIPELINES: FIXTURE_MODULE, TRAINYARD_TASK_QUEUE: 'api-main-test', ...env });
}

async function listening(port = 0): Promise<Server> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** A port nothing listens on (free a moment ago). */
async function closedPort(): Promise<number> {
  const server = await listening();
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('api/main', { timeout: 60_000 }, () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  it('serves on 127.0.0.1, prints one line, and stops on SIGTERM', async () => {
    const { child, output } = startMain({ TEMPORAL_ADDRESS: env.address, TRAINYARD_API_PORT: '0' });
    try {
      const url = await eventually('the startup line', () => /^trainyard api on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(output().stdout)?.[1]);
      const res = await fetch(`${url}/pipelines`);
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as { id: string }[]).map((p) => p.id), ['api_echo']);
      const created = await fetch(`${url}/pipelines/api_echo/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ idempotencyKey: 'api-main-run' }),
      });
      assert.equal(created.status, 201);
      assert.equal(((await created.json()) as { links: { temporalUi: string } }).links.temporalUi, 'http://127.0.0.1:8233/namespaces/default/workflows/api-main-run');
      const description = await env.client.workflow.getHandle('api-main-run').describe();
      assert.equal(description.taskQueue, 'api-main-test');
      child.kill('SIGTERM');
      assert.equal(await exitCode(child), 0);
      assert.equal(output().stderr, '');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('listens on the address TRAINYARD_API_HOST names, and only there', async () => {
    const { child, output } = startMain({ TEMPORAL_ADDRESS: env.address, TRAINYARD_API_PORT: '0', TRAINYARD_API_HOST: '127.0.0.2' });
    try {
      const url = await eventually('the startup line', () => /^trainyard api on (http:\/\/127\.0\.0\.2:(\d+))\n$/.exec(output().stdout) ?? undefined, 30_000);
      const res = await fetch(`${url[1]}/pipelines`);
      assert.equal(res.status, 200);
      await assert.rejects(fetch(`http://127.0.0.1:${url[2]}/pipelines`), 'nothing answers on 127.0.0.1 at that port');
      child.kill('SIGTERM');
      assert.equal(await exitCode(child), 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a TRAINYARD_API_HOST that is no address in one line, and exits 1', async () => {
    const { child, output } = startMain({ TEMPORAL_ADDRESS: env.address, TRAINYARD_API_HOST: 'http://0.0.0.0' });
    assert.equal(await exitCode(child), 1);
    assert.equal(
      output().stderr,
      "trainyard api: TRAINYARD_API_HOST 'http://0.0.0.0' is not an address to listen on; use an IP address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface), or a host name\n",
    );
    assert.equal(output().stdout, '');
  });

  it('says in one line that the port is in use, and exits 1', async () => {
    const taken = await listening();
    try {
      const { port } = taken.address() as AddressInfo;
      const { child, output } = startMain({ TEMPORAL_ADDRESS: env.address, TRAINYARD_API_PORT: String(port) });
      assert.equal(await exitCode(child), 1);
      assert.equal(output().stderr, `trainyard api: port ${port} on 127.0.0.1 is in use; stop what holds it or set TRAINYARD_API_PORT\n`);
      assert.equal(output().stdout, '');
    } finally {
      taken.close();
    }
  });

  it('says in one line that Temporal cannot be reached, and exits 1', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const { child, output } = startMain({ TEMPORAL_ADDRESS: address, TRAINYARD_API_PORT: '0' });
    assert.equal(await exitCode(child), 1);
    const { stderr } = output();
    assert.match(stderr, new RegExp(`^trainyard api: cannot reach Temporal at ${address}: .*set TEMPORAL_ADDRESS\\n$`));
    assert.equal(stderr.split('\n').length, 2, stderr);
  });
});
