/**
 * Parses trainyard's command line into what to do, without touching the
 * environment or the filesystem. Flags take `--flag value` or `--flag=value`;
 * bad input throws a `UsageError` whose message names the flag and the fix.
 *
 *   parseArgs(['api', '--pipelines', 'dist/a.js', 'dist/b.js', '--port', '0'])
 *   // { kind: 'run', command: 'api', env: { TRAINYARD_PIPELINES: 'dist/a.js,dist/b.js', TRAINYARD_API_PORT: '0' } }
 */
import { COMMANDS, type CommandName, type FlagSpec, isCommandName } from './flags';

/** Thrown for a command line that cannot run; `command` is the command it was for, if known. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

export type ParsedArgs =
  | { kind: 'help'; command?: CommandName }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandName; env: Record<string, string> };

const COMMAND_LIST = Object.keys(COMMANDS).map((name) => `trainyard ${name}`).join(' or ');

function commandNamed(name: string | undefined): CommandName {
  if (name === undefined) throw new UsageError(`say which process to run: ${COMMAND_LIST} (trainyard --help)`);
  if (name.startsWith('-')) throw new UsageError(`unknown option '${name}'; options follow the command, as in trainyard worker --pipelines dist/pipeline.js (trainyard --help)`);
  if (!isCommandName(name)) throw new UsageError(`unknown command '${name}'; use ${COMMAND_LIST} (trainyard --help)`);
  return name;
}

const isFlag = (token: string): boolean => token.startsWith('-');

/** The values of one flag at `tokens[at]`, and where the next token is. */
function valuesOf(spec: FlagSpec, inline: string | undefined, tokens: readonly string[], at: number, command: CommandName): { values: string[]; next: number } {
  let next = at + 1;
  const values = inline === undefined ? [] : [inline];
  if (inline === undefined) {
    while (next < tokens.length && !isFlag(tokens[next] ?? '') && (spec.variadic || values.length === 0)) values.push(tokens[next++] ?? '');
  }
  const parts = spec.variadic ? values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) : values;
  if (parts.length === 0 || parts.some((v) => v === '')) {
    throw new UsageError(`${spec.flag} needs a value: ${spec.flag} ${spec.value} (trainyard ${command} --help)`, command);
  }
  return { values: parts, next };
}

function parseFlags(command: CommandName, tokens: readonly string[]): ParsedArgs {
  const { flags } = COMMANDS[command];
  const env: Record<string, string> = {};
  for (let at = 0; at < tokens.length; ) {
    const token = tokens[at] ?? '';
    if (token === '--help' || token === '-h') return { kind: 'help', command };
    if (!isFlag(token)) {
      throw new UsageError(`unexpected argument '${token}'; module paths follow --pipelines, every other value its flag (trainyard ${command} --help)`, command);
    }
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    const spec = flags.find((f) => f.flag === name);
    if (!spec) throw new UsageError(`unknown option '${name}'; trainyard ${command} takes ${flags.map((f) => f.flag).join(', ')} (trainyard ${command} --help)`, command);
    const { values, next } = valuesOf(spec, eq === -1 ? undefined : token.slice(eq + 1), tokens, at, command);
    try {
      const checked = values.map((v) => (spec.check ? spec.check(v, spec.flag) : v));
      // A repeated variadic flag adds to its list; any other flag given twice keeps the last value.
      const earlier = spec.variadic ? env[spec.env] : undefined;
      env[spec.env] = [...(earlier === undefined ? [] : [earlier]), ...checked].join(',');
    } catch (err) {
      throw new UsageError((err as Error).message, command);
    }
    at = next;
  }
  return { kind: 'run', command, env };
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first === 'help') return rest[0] === undefined ? { kind: 'help' } : { kind: 'help', command: commandNamed(rest[0]) };
  return parseFlags(commandNamed(first), rest);
}
