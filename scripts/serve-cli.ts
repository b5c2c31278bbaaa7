/**
 * The command-line form of a local server (`node dist/scripts/local-cluster.js DIR`):
 * start it, print one ready line, and stop it cleanly on SIGTERM/SIGINT; a start
 * that fails prints one line and exits 1.
 */
export function serveUntilSignalled<T extends { stop(): Promise<void> }>(name: string, started: Promise<T>, ready: (server: T) => string): void {
  started.then(
    (server) => {
      console.log(`${name} ready: ${ready(server)}`);
      const stop = (): void => void server.stop().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: unknown) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
