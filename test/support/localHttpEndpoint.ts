import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP plumbing the AWS protocol stand-ins share (EventBridge, SQS, Kinesis, Athena): a
 * server on a free local port, request bodies as text, and JSON replies with the headers the SDK
 * reads. Each stand-in keeps its own protocol: targets, validation and error shapes.
 */
export interface LocalHttpEndpoint {
  endpoint: string;
  /** Stops the server, cutting open keep-alive connections. */
  close(): Promise<void>;
}

export async function listenLocally(listener: RequestListener): Promise<LocalHttpEndpoint> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON reply with its length and a request id, as AWS JSON-protocol services answer. */
export function replyJson(res: ServerResponse, status: number, body: unknown, contentType: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}
