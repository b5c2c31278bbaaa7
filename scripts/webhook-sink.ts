/**
 * A local stand-in for a Slack incoming webhook, for the demo: appends every
 * JSON message POSTed to it to a file, one per line, and prints it.
 *   node dist/scripts/webhook-sink.js PORT FILE
 */
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port = '3099', file = 'notifications.jsonl'] = process.argv.slice(2);
createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    appendFileSync(file, `${body.replace(/\n/g, ' ')}\n`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
})
  .on('error', (err: Error) => {
    console.error(`webhook sink: ${err.message}`);
    process.exit(1);
  })
  .listen(Number(port), '127.0.0.1');
