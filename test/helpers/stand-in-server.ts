import type { IncomingMessage, Server } from 'node:http';

/** What the AWS stand-ins (Step Functions, Secrets Manager, SQS) share: reading a request, closing at once. */
export async function readRequestBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Closes the server and every connection a client keeps alive, so a test's end never waits on one. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
