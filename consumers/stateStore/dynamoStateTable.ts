import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, type CreateTableCommandInput, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The state table's shape: its key, its four indexes and their attributes, the one definition
 * Terraform (`terraform/state.tf`) is checked against, and creating it where no Terraform runs
 * (dynalite, the local stack, tests).
 */

export const DUE_INDEX = 'due-index';
export const OUTBOX_INDEX = 'outbox-index';
export const LIST_INDEX = 'list-index';
export const RISK_INDEX = 'risk-index';
const TABLE_ACTIVE_TIMEOUT_MS = 300_000;

/** The table, as CreateTable input: the one definition Terraform is checked against. */
export function stateTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'customerId', AttributeType: 'S' },
      { AttributeName: 'dueBucket', AttributeType: 'N' },
      { AttributeName: 'dueAt', AttributeType: 'N' },
      { AttributeName: 'outboxBucket', AttributeType: 'N' },
      { AttributeName: 'outboxAt', AttributeType: 'N' },
      { AttributeName: 'listBucket', AttributeType: 'N' },
      { AttributeName: 'riskPart', AttributeType: 'N' },
      { AttributeName: 'riskKey', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'customerId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        // Sparse: only customers with a due time carry dueBucket/dueAt, so the sweep reads
        // exactly the customers it may have to rescore.
        IndexName: DUE_INDEX,
        KeySchema: [
          { AttributeName: 'dueBucket', KeyType: 'HASH' },
          { AttributeName: 'dueAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        // Sparse: only customers saved with alerts a delivery missed carry outboxBucket/outboxAt
        // (the as-of time of the oldest one), so the sweep finds exactly the alerts left to resend;
        // an outbox delivered at once costs the index nothing (SaveOptions.pendingOutbox).
        IndexName: OUTBOX_INDEX,
        KeySchema: [
          { AttributeName: 'outboxBucket', KeyType: 'HASH' },
          { AttributeName: 'outboxAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        // Every customer item carries listBucket (never changes), so this index is written once
        // per customer: the API lists customers a page at a time with a Query, never a Scan.
        IndexName: LIST_INDEX,
        KeySchema: [
          { AttributeName: 'listBucket', KeyType: 'HASH' },
          { AttributeName: 'customerId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        // Sparse: only customers flagged at risk carry riskPart/riskKey (riskRankKey: expected
        // loss, then id), so the at-risk list reads a page of exactly those, highest first.
        IndexName: RISK_INDEX,
        KeySchema: [
          { AttributeName: 'riskPart', KeyType: 'HASH' },
          { AttributeName: 'riskKey', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  };
}

/** Creates the state table unless it exists, then waits until it and its index are ACTIVE. */
export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(stateTableDefinition(tableName)));
  } catch (error) {
    if ((error as { name?: string } | undefined)?.name !== 'ResourceInUseException') throw error;
  }
  await waitUntilActive(client, tableName);
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    for (const required of [DUE_INDEX, OUTBOX_INDEX, LIST_INDEX, RISK_INDEX]) {
      if (!indexes.some((index) => index.IndexName === required)) throw new Error(`table ${tableName} exists without the ${required} index`);
    }
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((index) => index.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after ${TABLE_ACTIVE_TIMEOUT_MS} ms`);
    await sleep(Math.min(2_000, 50 * 2 ** attempt));
  }
}
