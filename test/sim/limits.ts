/**
 * The request budgets the simulated providers enforce, with where each is documented. Where a
 * provider documents no number, the figure used is named as an assumption.
 */
import type { BucketSpec } from './rate-limit';

export const PROVIDER_LIMITS: Record<string, BucketSpec> = {
  'eks.api': {
    ratePerSecond: 20,
    burst: 50,
    source:
      'EKS documents no per-operation rate; assumed equal to the ECS Describe* token bucket per account and Region (20/s sustained, 50 burst), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html',
  },
  'sts.api': { ratePerSecond: 600, burst: 600, source: 'STS request quota 600 per second per account and Region, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html' },
  'secretsmanager.GetSecretValue': { ratePerSecond: 10_000, burst: 10_000, source: 'GetSecretValue 10,000 per second, https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html' },
  'sqs.SendMessage': { ratePerSecond: 300, burst: 300, source: 'FIFO queue without high throughput: 300 API calls per second per action (3,000 messages with batches of 10), https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html' },
  'sqs.ReceiveMessage': { ratePerSecond: 300, burst: 300, source: 'as sqs.SendMessage' },
  'sqs.DeleteMessage': { ratePerSecond: 300, burst: 300, source: 'as sqs.SendMessage' },
  'sqs.ChangeMessageVisibility': { ratePerSecond: 300, burst: 300, source: 'as sqs.SendMessage' },
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
    ratePerSecond: 5,
    burst: 10,
    source: "per cluster: client-go's default client rate (QPS 5, burst 10, https://pkg.go.dev/k8s.io/client-go/rest#Config); over it the API server's priority and fairness answers 429 with Retry-After, https://kubernetes.io/docs/concepts/cluster-administration/flow-control/",
  },
};

/** Modelled latencies (ms) per call of each simulated API. */
export const LATENCY_MS = { sqs: 10, sfn: 25, sts: 40, secretsmanager: 30 };
