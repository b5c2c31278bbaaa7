/** Loopback ports for the local servers. */
import { createServer } from 'node:net';

/** A port nothing listens on at 127.0.0.1 right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

