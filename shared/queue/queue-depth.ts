import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from '../platforms/aws/clients';

/** Messages waiting in a queue (ApproximateNumberOfMessages: visible ones), e.g. a DLQ's depth for its metric. */
export async function queueDepth(queueUrl: string, region = process.env.AWS_REGION ?? 'us-east-1'): Promise<number> {
  const out = await awsClient(SQSClient, { region }).send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}
