/**
 * The request budgets the simulated providers enforce, with where each is documented. Where a
 * provider documents no number, the figure used is named as an assumption.
 */
import type { BucketSpec } from './rate-limit';

export const PROVIDER_LIMITS: Record<string, BucketSpec> = {
  ...sqsLimits(),
  'eks.api': {
    ratePerSecond: 20,
    burst: 50,
    source:
      'EKS documents no per-operation rate; assumed equal to the ECS Describe* token bucket per account and Region (20/s sustained, 50 burst), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html',
  },
  'sts.api': { ratePerSecond: 600, burst: 600, source: 'STS request quota 600 per second per account and Region, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html' },
  'secretsmanager.GetSecretValue': { ratePerSecond: 10_000, burst: 10_000, source: 'GetSecretValue 10,000 per second, https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html' },
  'dynamodb.partitionReads': { ratePerSecond: 3000, burst: 3000, source: 'per partition 3,000 read units per second, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html' },
  'dynamodb.partitionWrites': { ratePerSecond: 1000, burst: 1000, source: 'per partition 1,000 write units per second, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html' },
  'sfn.StartExecution': { ratePerSecond: 300, burst: 1300, source: 'Standard StartExecution token bucket (us-east-1: 1,300 burst, 300/s refill), https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-api-action-throttling-general' },
  'sfn.SendTask': {
    ratePerSecond: 500,
    burst: 1000,
    source: 'SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat share a token bucket (assumed 1,000 burst, 500/s refill; see https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-api-action-throttling-general)',
  },
  'sfn.DescribeExecution': { ratePerSecond: 200, burst: 250, source: 'DescribeExecution token bucket (us-east-1: 250 burst, 200/s), https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-api-action-throttling-general' },
  'kubernetes.api': {
    ratePerSecond: 50,
    burst: 300,
    source:
      "per cluster, assumed: API servers enforce API Priority and Fairness, which limits concurrent requests per priority level (seats from --max-requests-inflight/--max-mutating-requests-inflight, shared by nominalConcurrencyShares) and answers 429 + Retry-After only when a level's queues are full, not a per-client rate (https://kubernetes.io/docs/concepts/cluster-administration/flow-control/). Modelled as the rate the Kubernetes project lets its own kubectl send to any API server (QPS 50, burst 300: kubectl's ConfigFlags WithDiscoveryBurst(300).WithDiscoveryQPS(50.0), kubernetes/kubectl pkg/cmd/cmd.go; kubernetes/kubernetes#109141). The product's client budget (shared/platforms/kubernetes/request-budget.ts: QPS 20, burst 30, controller-runtime's defaults) stays under it",
  },
  // ECS throttles per account and Region with one token bucket per group of actions. The page documents
  // the cluster read actions' bucket (50 tokens, refilled at 20 per second); the simulation gives every read
  // group the product uses that same bucket (assumed for the groups other than cluster reads).
  'ecs.clusterRead': { ratePerSecond: 20, burst: 50, source: 'ECS cluster read actions (DescribeClusters, ListClusters) per account and Region: bucket 50, refill 20 per second, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html' },
  'ecs.serviceRead': { ratePerSecond: 20, burst: 50, source: 'ECS service read actions (DescribeServices) per account and Region: assumed equal to the documented cluster read bucket (50, 20 per second), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html' },
  'ecs.taskDefinitionRead': { ratePerSecond: 20, burst: 50, source: 'ECS task definition read actions (DescribeTaskDefinition, ListTaskDefinitions) per account and Region: assumed equal to the documented cluster read bucket (50, 20 per second), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html' },
  'ecs.containerInstanceRead': { ratePerSecond: 20, burst: 50, source: 'ECS container instance read actions (ListContainerInstances, DescribeContainerInstances) per account and Region: assumed equal to the documented cluster read bucket (50, 20 per second), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html' },
  'ecs.taskRead': { ratePerSecond: 20, burst: 50, source: 'ECS task read actions (ListTasks, DescribeTasks) per account and Region: assumed equal to the documented cluster read bucket (50, 20 per second), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html' },
  'ecs.write': {
    ratePerSecond: 5,
    burst: 50,
    source: 'ECS per account and Region, assumed for RegisterTaskDefinition/CreateService/UpdateService together (50 burst, 5 per second: lower than the read actions; the page documents the bucket model but the simulation does not rely on its per-group write numbers), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html',
  },
  'ec2.nonMutating': {
    ratePerSecond: 20,
    burst: 100,
    source: 'EC2 request token bucket for non-mutating actions (Describe*), per account and Region: bucket 100, refill 20 per second, https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html',
  },
  'arm.reads': {
    ratePerSecond: 25,
    burst: 250,
    source: 'Azure Resource Manager regional throttling, token bucket per subscription (and service principal, operation type, region): reads 250 bucket, 25 per second refill, https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling (one principal, each simulated subscription in one region)',
  },
  'arm.writes': {
    ratePerSecond: 10,
    burst: 200,
    source: 'Azure Resource Manager, per subscription: writes 200 bucket, 10 per second refill (POST actions such as listClusterUserCredential count as writes), https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling',
  },
  'entra.token': {
    ratePerSecond: 200,
    burst: 200,
    source:
      "Entra ID token endpoint per tenant, assumed: Microsoft publishes no number for workforce tenants; 429 with Retry-After 60 for client credentials (https://learn.microsoft.com/entra/msal/dotnet/advanced/client-and-server-throttling); 200 requests per second per tenant is the only published Entra figure (External ID tenants, https://learn.microsoft.com/entra/external-id/customers/reference-service-limits). MSAL caches each scope's token per process",
  },
  'gke.api': {
    ratePerSecond: 50,
    burst: 50,
    windowSeconds: 100,
    source: 'Kubernetes Engine API per project: 3,000 requests per minute, enforced at intervals of every 100 seconds (modelled as 5,000 calls per aligned 100 s window), https://cloud.google.com/kubernetes-engine/quotas#limit_for_api_requests',
  },
  'google.sts': {
    ratePerSecond: 100,
    burst: 100,
    source: 'Google Security Token Service token exchange, assumed 100 per second for the whole simulation (no per-project number published; google-auth-library caches the token per process until 5 min before expiry, so a night exchanges a handful), https://cloud.google.com/iam/docs/workload-identity-federation',
  },
  'google.iamcredentials': {
    ratePerSecond: 100,
    burst: 100,
    source: 'IAM Service Account Credentials generateAccessToken per service account, assumed 100 per second (quota published per project and minute in the console only; tokens are cached as above), https://cloud.google.com/iam/docs/service-account-creds',
  },
};

/**
 * SQS FIFO quotas per queue and API action: 300 calls per second without high throughput, or, with high
 * throughput (DeduplicationScope messageGroup + FifoThroughputLimit perMessageGroupId, as serverless.yml's
 * WorkQueue declares), the documented regional figure. The simulated queues live in us-east-1, whose
 * high-throughput quota is 70,000 non-batched transactions per second per action (US East (N. Virginia),
 * US West (Oregon), Europe (Ireland); other regions have lower figures, down to 2,400),
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html.
 * A high-throughput queue spreads message groups over partitions of 300 calls per second each and adds
 * partitions as traffic grows; with one group per cluster the load spreads evenly, so the per-queue
 * figure is the one that applies.
 */
export function sqsLimits(): Record<string, BucketSpec> {
  const standard: BucketSpec = { ratePerSecond: 300, burst: 300, source: 'FIFO queue without high throughput: 300 API calls per second per action (3,000 messages with batches of 10), https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html' };
  const high: BucketSpec = { ratePerSecond: 70_000, burst: 70_000, source: 'high-throughput FIFO queue in us-east-1: 70,000 non-batched calls per second per action, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html' };
  const out: Record<string, BucketSpec> = {};
  for (const action of ['SendMessage', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility']) {
    out[`sqs.${action}`] = standard;
    out[`sqsHighThroughput.${action}`] = high;
  }
  return out;
}

/** Whether a queue's CloudFormation properties turn high throughput on (both attributes are needed). */
export function isHighThroughputFifo(properties: Record<string, unknown>): boolean {
  return properties.FifoQueue === true && properties.DeduplicationScope === 'messageGroup' && properties.FifoThroughputLimit === 'perMessageGroupId';
}

/** Modelled latencies (ms) per call of each simulated API. */
export const LATENCY_MS = { sqs: 10, sfn: 25, sts: 40, secretsmanager: 30 };
