import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, paginateQuery, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { awsClient } from '../platforms/aws/clients';
import type { ClusterInventoryItem, ReconcileRecord } from './records';
import type { FleetStore } from './store';

/**
 * Single-table layout (serverless.yml defines the table):
 *   inventory  pk=CLUSTER#<ref>  sk=STATE                     gsi1pk=INVENTORY gsi1sk=<ref>
 *   reconcile  pk=CLUSTER#<ref>  sk=RECONCILE#<startedAt>#<id>  expiration=<ttl>
 * The idempotency layer of the worker shares the table under its own partition keys.
 */
const RECORD_TTL_DAYS = 90;

export class DynamoDbFleetStore implements FleetStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    region = process.env.AWS_REGION ?? 'us-east-1',
  ) {
    this.doc = DynamoDBDocumentClient.from(awsClient(DynamoDBClient, { region }), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    });
  }

  async recordReconcile(record: ReconcileRecord, inventory: ClusterInventoryItem): Promise<void> {
    const expiration = Math.floor(Date.parse(record.finishedAt) / 1000) + RECORD_TTL_DAYS * 86_400;
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: { pk: `CLUSTER#${record.cluster}`, sk: `RECONCILE#${record.startedAt}#${record.id}`, expiration, ...record },
            },
          },
          {
            Put: {
              TableName: this.tableName,
              Item: { pk: `CLUSTER#${inventory.cluster}`, sk: 'STATE', gsi1pk: 'INVENTORY', gsi1sk: inventory.cluster, ...inventory },
            },
          },
        ],
      }),
    );
  }

  /** The intent under the key the outcome will have (same startedAt and id), so the outcome replaces it. */
  async recordIntent(intent: ReconcileRecord): Promise<void> {
    const expiration = Math.floor(Date.parse(intent.finishedAt) / 1000) + RECORD_TTL_DAYS * 86_400;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `CLUSTER#${intent.cluster}`, sk: `RECONCILE#${intent.startedAt}#${intent.id}`, expiration, ...intent },
        // a retried write of the intent (its answer lost) may replace it; an outcome is never replaced by an intent
        ConditionExpression: 'attribute_not_exists(pk) OR outcome = :applying',
        ExpressionAttributeValues: { ':applying': 'applying' },
      }),
    );
  }

  async getCluster(cluster: string): Promise<ClusterInventoryItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `CLUSTER#${cluster}`, sk: 'STATE' } }));
    return out.Item ? stripKeys<ClusterInventoryItem>(out.Item) : undefined;
  }

  async listClusters(): Promise<ClusterInventoryItem[]> {
    const items: ClusterInventoryItem[] = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.tableName,
        IndexName: 'byKind',
        KeyConditionExpression: 'gsi1pk = :k',
        ExpressionAttributeValues: { ':k': 'INVENTORY' },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) items.push(stripKeys(item));
    return items;
  }

  async listReconciles(cluster: string, limit = 20): Promise<ReconcileRecord[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': `CLUSTER#${cluster}`, ':sk': 'RECONCILE#' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => stripKeys<ReconcileRecord>(i));
  }
}

function stripKeys<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiration: _e, ...rest } = item;
  return rest as T;
}
