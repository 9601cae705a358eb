import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The CloudWatch alarms in serverless.yml: one per dead-letter queue (anything in it needs a person) and
 * one on the fleet's coverage below a configurable threshold, on the metric the nightly publishes.
 */
const yml = parse(readFileSync('serverless.yml', 'utf8')) as Record<string, any>;
const resources = yml.resources.Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
const queues = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
/** A queue is a DLQ when another queue's RedrivePolicy, or a function's on-failure destination, points at it. */
const deadLetterQueues = queues
  .map(([id]) => id)
  .filter(
    (id) =>
      Object.values(resources).some((r) => r.Properties?.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0] === id) ||
      Object.values(yml.functions as Record<string, any>).some((f) => f.destinations?.onFailure?.arn?.['Fn::GetAtt']?.[0] === id),
  );

describe('alarms in serverless.yml', () => {
  it('every dead-letter queue has an alarm on ApproximateNumberOfMessagesVisible > 0', () => {
    expect(deadLetterQueues.sort()).toEqual(['IngestDeadLetterQueue', 'WorkDeadLetterQueue']);
    for (const dlq of deadLetterQueues) {
      const found = alarms.filter(([, a]) => a.Properties.Namespace === 'AWS/SQS' && JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }]));
      expect(found, `alarm on ${dlq}`).toHaveLength(1);
      expect(found[0]![1].Properties).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('fleet coverage below the configurable threshold (default 95 %) alarms, on the metric with the service dimension only', () => {
    const [, coverage] = alarms.find(([, a]) => a.Properties.MetricName === 'fleet_coverage_percent')!;
    expect(coverage.Properties).toMatchObject({
      Namespace: yml.provider.environment.POWERTOOLS_METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: '${self:service}' }],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: '${self:custom.coverageAlarmThreshold}',
      Statistic: 'Minimum',
    });
    // the functions publish with POWERTOOLS_SERVICE_NAME = the service: the alarm's dimension value
    expect(yml.provider.environment.POWERTOOLS_SERVICE_NAME).toBe('${self:service}');
    expect(yml.custom.coverageAlarmThreshold).toBe("${param:coverageAlarmThreshold, '95'}");
    // no data (the nightly did not run) is itself a reason to look
    expect(coverage.Properties.TreatMissingData).toBe('breaching');
  });

  it('every alarm notifies the optional SNS topic, and names itself per stage', () => {
    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const [id, a] of alarms) {
      expect(a.Properties.AlarmActions, id).toEqual({ 'Fn::If': ['HasAlarmTopic', ['${self:custom.alarmTopicArn}'], { Ref: 'AWS::NoValue' }] });
      expect(a.Properties.OKActions, id).toEqual(a.Properties.AlarmActions);
      expect(a.Properties.AlarmName, id).toMatch(/^\$\{self:service\}-\$\{sls:stage\}-/);
    }
    expect(yml.resources.Conditions.HasAlarmTopic).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['${self:custom.alarmTopicArn}', ''] }] });
  });

  it('the reports bucket is private and encrypted, and only the worker may write reports into it', () => {
    const bucket = resources.ReportsBucket!.Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(yml.functions['reconcile-worker'].environment.SENSORFLEET_REPORTS_BUCKET).toEqual(bucket.BucketName);
    const writers = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .filter(([, r]) => JSON.stringify(r.Properties.Policies).includes('s3:'))
      .map(([id]) => id);
    expect(writers).toEqual(['ReconcileWorkerRole']);
  });
});
