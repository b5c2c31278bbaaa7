/**
 * The flags of `trainyard worker` and `trainyard api`, one table: each flag
 * stands for the environment variable the entry files read, so a flag is
 * nothing but a value for that variable that wins over the environment's.
 *
 *   trainyard api --pipelines dist/pipeline.js --port 0
 *   // same as TRAINYARD_PIPELINES=dist/pipeline.js TRAINYARD_API_PORT=0 node dist/api/main.js
 */
import { hostFrom, portFrom } from '../api/listen-address';
import { RUNNERS, isRunner } from '../pipeline/run-ref';

export interface FlagSpec {
  /** `--pipelines` */
  readonly flag: string;
  /** The value's placeholder in the help, `<module>`. */
  readonly value: string;
  /** The environment variable the flag sets. */
  readonly env: string;
  readonly help: string;
  /** Takes every value up to the next flag (`--pipelines a.js b.js`); the variable gets them comma-joined. */
  readonly variadic?: boolean;
  /** Refuses a bad value in one line naming the flag; returns the value for the variable. */
  readonly check?: (value: string, flag: string) => string;
}

export type CommandName = 'worker' | 'api';

export interface CommandSpec {
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
}

const PIPELINES: FlagSpec = {
  flag: '--pipelines',
  value: '<module>...',
  env: 'TRAINYARD_PIPELINES',
  variadic: true,
  help: 'compiled pipeline modules (.js), absolute or relative to the current directory; several allowed (env: comma-separated)',
};

const CONNECTION: readonly FlagSpec[] = [
  { flag: '--address', value: '<host:port>', env: 'TEMPORAL_ADDRESS', help: 'Temporal frontend (default 127.0.0.1:7233)' },
  { flag: '--namespace', value: '<name>', env: 'TEMPORAL_NAMESPACE', help: 'Temporal namespace (default default)' },
  { flag: '--task-queue', value: '<name>', env: 'TRAINYARD_TASK_QUEUE', help: 'task queue of the runs, the same for worker and API (default trainyard)' },
  {
    flag: '--default-runner',
    value: '<local|kubernetes>',
    env: 'TRAINYARD_DEFAULT_RUNNER',
    help: "how container steps run when neither the run's request nor its pipeline says (default local)",
    check: (v, f) => {
      if (!isRunner(v)) throw new Error(`${f} '${v}' must be one of ${RUNNERS.join(', ')}`);
      return v;
    },
  },
];

export const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  worker: {
    summary: "run the pipelines' steps: poll the task queue and keep the pipelines' schedules",
    flags: [
      PIPELINES,
      ...CONNECTION,
      { flag: '--state-dir', value: '<dir>', env: 'TRAINYARD_STATE_DIR', help: 'run directories and local secrets (default ./.trainyard)' },
    ],
  },
  api: {
    summary: 'serve the HTTP API: start runs (POST /pipelines/:id/runs), read them (GET /runs/:id)',
    flags: [
      PIPELINES,
      ...CONNECTION,
      { flag: '--host', value: '<address>', env: 'TRAINYARD_API_HOST', help: 'address to listen on; 0.0.0.0 for every interface (default 127.0.0.1)', check: (v, f) => hostFrom(v, f) },
      { flag: '--port', value: '<port>', env: 'TRAINYARD_API_PORT', help: 'port to listen on; 0 picks a free one (default 3000)', check: (v, f) => String(portFrom(v, f)) },
    ],
  },
};

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
