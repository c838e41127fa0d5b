import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readRequestBody } from '../helpers/stand-in-server';

/*
 * A stand-in for Amazon SQS's SendMessage, spoken in its JSON protocol (POST / with
 * X-Amz-Target: AmazonSQS.SendMessage, a JSON body { QueueUrl, MessageBody, DelaySeconds }),
 * which the bundles' own SDK client reaches because the queue URL the template gives them
 * points here (the SDK sends to the QueueUrl's host). It answers MD5OfMessageBody as SQS
 * does (the SDK checks it) and keeps the messages for the test to hand to the applier as
 * the event source mapping would.
 */

export interface SqsMessage {
  messageId: string;
  queueUrl: string;
  body: string;
  delaySeconds?: number;
}

export interface SqsStandIn {
  url: string;
  /** The URL of a queue named `name` on the stand-in. */
  queueUrl(name: string): string;
  /** Takes every message sent so far (they leave the stand-in). */
  take(): SqsMessage[];
  readonly sent: number;
  close(): Promise<void>;
}

export async function startSqs(): Promise<SqsStandIn> {
  let messages: SqsMessage[] = [];
  let sent = 0;
  const server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    let body: { QueueUrl?: string; MessageBody?: string; DelaySeconds?: number };
    try {
      body = JSON.parse((await readRequestBody(req)) || '{}');
    } catch {
      return answerError(res, 'InvalidParameterValue', 'The request body is not JSON.');
    }
    if (req.method !== 'POST' || target !== 'AmazonSQS.SendMessage') {
      return answerError(res, 'UnsupportedOperation', `The stand-in answers only SendMessage (got ${target || 'no X-Amz-Target'}).`);
    }
    if (!/Credential=/.test(String(req.headers.authorization ?? ''))) return answerError(res, 'MissingAuthenticationToken', 'Not signed.');
    if (typeof body.QueueUrl !== 'string' || typeof body.MessageBody !== 'string') {
      return answerError(res, 'MissingParameter', 'QueueUrl and MessageBody are required.');
    }
    const messageId = randomUUID();
    messages.push({ messageId, queueUrl: body.QueueUrl, body: body.MessageBody, delaySeconds: body.DelaySeconds });
    sent += 1;
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify({ MessageId: messageId, MD5OfMessageBody: createHash('md5').update(body.MessageBody).digest('hex') }));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    queueUrl: (name) => `${url}/123456789012/${name}`,
    take() {
      const taken = messages;
      messages = [];
      return taken;
    },
    get sent() {
      return sent;
    },
    close: () => closeServer(server),
  };
}

function answerError(res: ServerResponse, type: string, message: string): void {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${type};Sender` });
  res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message }));
}
