/**
 * The text of `trainyard --help` and `trainyard <command> --help`, built from
 * the flag table so the two never disagree.
 *
 *   console.log(helpText('api'));
 */
import { COMMANDS, type CommandName } from './flags';

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n');
}

function topHelp(): string {
  return [
    'Usage: trainyard <command> [options]',
    '',
    'Runs Trainyard for your pipelines against a Temporal server: a worker that runs',
    'their steps, and the HTTP API that starts and reads their runs.',
    '',
    'Commands:',
    table([...Object.entries(COMMANDS).map(([name, spec]) => [name, spec.summary] as const), ['help [command]', 'show this help, or a command\'s']]),
    '',
    'Options:',
    table([
      ['-h, --help', 'show help'],
      ['-V, --version', 'print the version'],
    ]),
    '',
    "Run 'trainyard <command> --help' for a command's options.",
  ].join('\n');
}

function commandHelp(command: CommandName): string {
  const { summary, flags } = COMMANDS[command];
  return [
    `Usage: trainyard ${command} --pipelines <module>... [options]`,
    '',
    `${summary[0]?.toUpperCase() ?? ''}${summary.slice(1)}.`,
    '',
    'Options (each one sets the environment variable shown, and wins over it):',
    table([...flags.map((f) => [`${f.flag} ${f.value}`, `${f.help} [${f.env}]`] as const), ['-h, --help', 'show this help']]),
    '',
    'Other settings (S3, payload codec, Kubernetes, ...) are read from the environment,',
    "as the entry files read them; Trainyard's README lists them.",
    '',
    'Example:',
    `  trainyard ${command} --pipelines dist/pipeline.js --address 127.0.0.1:7233${command === 'api' ? ' --port 3000' : ''}`,
  ].join('\n');
}

export function helpText(command?: CommandName): string {
  return command ? commandHelp(command) : topHelp();
}
