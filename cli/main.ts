#!/usr/bin/env node
/**
 * The `trainyard` command, installed with the package:
 *
 *   trainyard worker --pipelines dist/pipeline.js
 *   trainyard api --pipelines dist/pipeline.js --port 3000
 *   trainyard --help
 *
 * A command line that cannot run prints one line and exits 2; a process that
 * fails to start prints one line and exits 1. Help and usage errors answer
 * without loading the worker or the API.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { commandEnv } from './command-env';
import { helpText } from './help';
import { UsageError, parseArgs } from './parse-args';

function fail(command: string | undefined, err: unknown, code: number): never {
  console.error(`trainyard${command ? ` ${command}` : ''}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(code);
}

/** The installed package's version (dist/cli/ is two folders below its package.json). */
function version(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  let env;
  try {
    parsed = parseArgs(argv);
    if (parsed.kind === 'help') return console.log(helpText(parsed.command));
    if (parsed.kind === 'version') return console.log(version());
    env = commandEnv(parsed.command, parsed.env, process.env, process.cwd());
  } catch (err) {
    return fail(err instanceof UsageError ? err.command : undefined, err, 2);
  }
  const { command } = parsed;
  const { runCommand } = await import('./run-command.js');
  await runCommand(command, env).catch((err: unknown) => fail(command, err, 1));
}

void main(process.argv.slice(2));
