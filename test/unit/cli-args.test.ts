import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError, commandEnv, helpText, parseArgs } from '../../cli';
import { hostFrom, portFrom } from '../../api/listen-address';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'echo-pipeline.js');

function usage(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (err) {
    assert.ok(err instanceof UsageError);
    return err.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

describe('trainyard command line', () => {
  it('maps flags to the variables they stand for, several modules after --pipelines or comma-separated', () => {
    assert.deepEqual(parseArgs(['api', '--pipelines', 'a.js', 'b.js', '--port', '0', '--host=0.0.0.0', '--task-queue', 'q']), {
      kind: 'run',
      command: 'api',
      env: { TRAINYARD_PIPELINES: 'a.js,b.js', TRAINYARD_API_PORT: '0', TRAINYARD_API_HOST: '0.0.0.0', TRAINYARD_TASK_QUEUE: 'q' },
    });
    assert.deepEqual(parseArgs(['worker', '--pipelines=a.js,b.js', '--pipelines', 'c.js']), {
      kind: 'run',
      command: 'worker',
      env: { TRAINYARD_PIPELINES: 'a.js,b.js,c.js' },
    });
    assert.deepEqual(parseArgs(['api', '--port', '1', '--port', '2']), { kind: 'run', command: 'api', env: { TRAINYARD_API_PORT: '2' } });
  });

  it('answers --help, help <command> and --version', () => {
    assert.deepEqual(parseArgs(['--help']), { kind: 'help' });
    assert.deepEqual(parseArgs(['help', 'api']), { kind: 'help', command: 'api' });
    assert.deepEqual(parseArgs(['worker', '--pipelines', 'a.js', '-h']), { kind: 'help', command: 'worker' });
    assert.deepEqual(parseArgs(['-V']), { kind: 'version' });
    assert.match(helpText('api'), /--port <port> .*\[TRAINYARD_API_PORT\]/);
    assert.match(helpText(), /^Usage: trainyard <command>/);
  });

  it('refuses bad command lines in one line naming the flag and the fix', () => {
    assert.equal(usage([]), 'say which process to run: trainyard worker or trainyard api (trainyard --help)');
    assert.equal(usage(['wroker']), "unknown command 'wroker'; use trainyard worker or trainyard api (trainyard --help)");
    assert.equal(usage(['api', '--port']), '--port needs a value: --port <port> (trainyard api --help)');
    assert.equal(usage(['worker', '--pipelines', '--address', 'x']), '--pipelines needs a value: --pipelines <module>... (trainyard worker --help)');
    assert.equal(usage(['api', '--port', 'http']), "--port 'http' is not a port; use a number from 0 to 65535");
    assert.match(usage(['api', '--host', 'not a host']), /^--host 'not a host' is not an address to listen on; use an IP address/);
    assert.match(usage(['worker', '--port', '1']), /^unknown option '--port'; trainyard worker takes --pipelines, --address/);
    assert.match(usage(['worker', 'a.js']), /^unexpected argument 'a\.js'; module paths follow --pipelines/);
    for (const message of [usage([]), usage(['api', '--port'])]) assert.equal(message.includes('\n'), false);
  });

  it('runs with the flags over the environment, modules resolved and the state dir in the current directory', () => {
    const cwd = path.dirname(FIXTURE);
    const env = commandEnv('worker', { TRAINYARD_PIPELINES: 'echo-pipeline.js', TEMPORAL_ADDRESS: 'flag:1' }, { TEMPORAL_ADDRESS: 'env:1', TRAINYARD_PIPELINES: 'other.js' }, cwd);
    assert.equal(env.TEMPORAL_ADDRESS, 'flag:1');
    assert.equal(env.TRAINYARD_PIPELINES, FIXTURE);
    assert.equal(env.TRAINYARD_STATE_DIR, path.join(cwd, '.trainyard'));
    assert.equal(commandEnv('api', {}, { TRAINYARD_PIPELINES: FIXTURE, TRAINYARD_STATE_DIR: '/var/lib/ty' }, cwd).TRAINYARD_STATE_DIR, '/var/lib/ty');
  });

  it('refuses a missing module or none at all, saying where the name came from', () => {
    assert.throws(() => commandEnv('worker', {}, {}, '/'), /^UsageError: no pipelines to serve; pass --pipelines <module\.js>\.\.\. \(or set TRAINYARD_PIPELINES\)$/);
    assert.throws(() => commandEnv('worker', { TRAINYARD_PIPELINES: 'gone.js' }, {}, '/srv'), /^UsageError: --pipelines: cannot load pipeline module 'gone\.js': no file at \/srv\/gone\.js or .*dist\/gone\.js;/);
    assert.throws(() => commandEnv('api', {}, { TRAINYARD_PIPELINES: 'gone.js' }, '/srv'), /^UsageError: TRAINYARD_PIPELINES: cannot load pipeline module 'gone\.js'/);
  });
});

describe('listen address settings', () => {
  it('takes addresses and host names, and ports from 0 to 65535, defaulting when unset', () => {
    for (const host of ['127.0.0.2', '0.0.0.0', '::', '::1', 'localhost', 'api.internal']) assert.equal(hostFrom(host), host);
    assert.equal(hostFrom(undefined), '127.0.0.1');
    assert.equal(hostFrom(''), '127.0.0.1');
    assert.equal(portFrom(undefined), 3000);
    assert.equal(portFrom(' '), 3000);
    assert.equal(portFrom('0'), 0);
    assert.equal(portFrom('65535'), 65535);
  });

  it('refuses anything else, naming the setting', () => {
    for (const bad of ['http://x', 'a b', '-leading', 'under_score']) assert.throws(() => hostFrom(bad), /^Error: TRAINYARD_API_HOST '.*' is not an address to listen on/);
    for (const bad of ['65536', '-1', '2.5', '3000x', 'x']) assert.throws(() => portFrom(bad, '--port'), /^Error: --port '.*' is not a port; use a number from 0 to 65535$/);
  });
});
