/** Loopback ports for the local servers: a free one to start on, or a check that a fixed one is free. */
import { createServer } from 'node:net';

/** A port nothing listens on at 127.0.0.1 right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Throws when 127.0.0.1:`port` is taken, naming `what` wanted it. A server started on a taken
 * port fails only after its own start-up, and meanwhile whatever holds the port may answer for it.
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`port ${port} (${what}) is ${code === 'EADDRINUSE' ? 'in use by another process' : `not usable (${code ?? String(err)})`}; stop it or choose another port`);
  }
  await new Promise((resolve) => server.close(resolve));
}
