/**
 * The `trainyard` command line (`cli/main.ts` is its executable): parsing,
 * help, and running a command with the flags over the environment.
 *
 *   const parsed = parseArgs(['worker', '--pipelines', 'dist/pipeline.js']);
 *   if (parsed.kind === 'run') await runCommand(parsed.command, commandEnv(parsed.command, parsed.env, process.env, process.cwd()));
 */
export { COMMANDS, isCommandName, type CommandName, type CommandSpec, type FlagSpec } from './flags';
export { helpText } from './help';
export { UsageError, parseArgs, type ParsedArgs } from './parse-args';
export { commandEnv } from './command-env';
export { runCommand } from './run-command';
