import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * The one place AWS SDK clients are built, for a real region or a local stand-in. With an
 * endpoint they use dummy credentials; every client uses HTTP/1.1, which kinesalite needs (the
 * SDK's HTTP/2 default fails against it) and which reuses connections better for producers anyway.
 * Senders that resend only their failed entries (aws/batchSend.ts) want `maxAttempts: 1`.
 */
export interface ClientOptions {
  region?: string;
  endpoint?: string;
  /** SDK attempts per call; 1 where the caller retries only the failed entries itself. */
  maxAttempts?: number;
}

/** The configuration every client shares. */
export function clientConfig(options: ClientOptions = {}) {
  return {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  };
}

export const kinesisClient = (options: ClientOptions = {}) => new KinesisClient(clientConfig(options));
export const dynamoClient = (options: ClientOptions = {}) => new DynamoDBClient(clientConfig(options));
export const eventBridgeClient = (options: ClientOptions = {}) => new EventBridgeClient(clientConfig(options));
export const sqsClient = (options: ClientOptions = {}) => new SQSClient(clientConfig(options));
export const athenaClient = (options: ClientOptions = {}) => new AthenaClient(clientConfig(options));
/** S3; a local stand-in is addressed in path style (`http://127.0.0.1:port/bucket/key`). */
export const s3Client = (options: ClientOptions = {}) => new S3Client({ ...clientConfig(options), ...(options.endpoint ? { forcePathStyle: true } : {}) });
