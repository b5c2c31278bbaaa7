/** A local stand-in for a Slack webhook: records every JSON message POSTed to it. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedMessage {
  path: string;
  body: Record<string, unknown>;
}

export interface WebhookSink {
  /** Base URL, without a path. */
  url: string;
  messages: ReceivedMessage[];
  close: () => void;
}

/** Starts a sink on a free port; `answer(path)` sets the status code (default 200). */
export function startWebhookSink(answer: (path: string) => number = () => 200): Promise<WebhookSink> {
  const messages: ReceivedMessage[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      messages.push({ path, body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(answer(path)).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, messages, close: () => server.close() }),
    ),
  );
}
