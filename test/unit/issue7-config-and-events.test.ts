import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { normalizeRecords } from '../../shared/events/normalize';
import { ConfigError } from '../../shared/runtime/errors';

/**
 * Issue 7: an invalid maintenance-window time zone is a configuration error at validation time
 * (it used to pass and make every work item throw), and one payload that crashes a normaliser
 * becomes one rejected record with its reason while the good records of the same batch get through.
 */
describe('maintenance window time zones are validated with the configuration', () => {
  it('an unknown IANA zone is a ConfigError naming the path', () => {
    const load = () => parseConfig({ rollout: { maintenanceWindows: [{ start: '22:00', end: '02:00', timeZone: 'Mars/Olympus_Mons' }] } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/rollout\.maintenanceWindows\.0\.timeZone: an IANA time zone/);
  });

  it('a real zone passes', () => {
    expect(parseConfig({ rollout: { maintenanceWindows: [{ start: '22:00', end: '02:00', timeZone: 'Europe/Berlin' }] } }).rollout.maintenanceWindows[0]!.timeZone).toBe('Europe/Berlin');
  });
});

const eksCreate = JSON.parse(readFileSync('events/aws/eventbridge-eks-createcluster.json', 'utf8'));
const gkeNotification = JSON.parse(readFileSync('test/fixtures/events/reference/gcp-gke-notification-upgradeevent-controlplane-message.json', 'utf8'));
const grid = JSON.parse(readFileSync('events/azure/eventgrid-aks-resourcewritesuccess.json', 'utf8')) as unknown[];

/** A GKE UpgradeEvent whose payload attribute is the JSON text "null". */
const nullPayload = { ...gkeNotification, message_id: 'gke-null-1', attributes: { ...gkeNotification.attributes, payload: 'null' } };
/** An ECS container instance change without an envelope time whose updatedAt is far outside Date's range. */
const outOfRangeTime = {
  version: '0',
  id: 'ecs-time-1',
  'detail-type': 'ECS Container Instance State Change',
  source: 'aws.ecs',
  account: '111122223333',
  region: 'us-east-1',
  resources: [],
  detail: { clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/web', containerInstanceArn: 'arn:aws:ecs:us-east-1:111122223333:container-instance/web/1', updatedAt: 1e13, status: 'ACTIVE' },
};

const sqsRecord = (messageId: string, body: unknown) => ({ messageId, receiptHandle: 'rh', body: JSON.stringify(body), attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:q', awsRegion: 'us-east-1' });

describe('normalisers are total: a bad record never takes its batch down', () => {
  it('an SQS batch with a GKE notification whose payload is "null" and an out-of-range time: the good record gets through', () => {
    const batch = { Records: [sqsRecord('m-null', nullPayload), sqsRecord('m-good', eksCreate), sqsRecord('m-time', outOfRangeTime)] };
    const records = normalizeRecords(batch);
    expect(records.map((r) => r.id)).toEqual(['m-null', 'm-good', 'm-time']);
    expect(records[1]!.error).toBeUndefined();
    expect(records[1]!.events.map((e) => e.cluster)).toEqual(['aws-eks:111122223333:us-west-2:test']);
    expect(records[0]!.events).toEqual([]);
    expect(records[0]!.error?.reason).toMatch(/payload/);
    // an unusable time is replaced by the arrival time (like a payload without one), the event itself is good
    expect(records[2]!.error).toBeUndefined();
    expect(records[2]!.events).toHaveLength(1);
    expect(Number.isFinite(Date.parse(records[2]!.events[0]!.time))).toBe(true);
  });

  it('an Event Grid delivery (array) with one record that crashes its normaliser keeps the others', () => {
    const records = normalizeRecords([nullPayload, ...grid]);
    expect(records).toHaveLength(1 + grid.length);
    expect(records[0]!.error?.reason).toBeTruthy();
    expect(records.slice(1).flatMap((r) => r.events).map((e) => e.kind)).toContain('cluster-created');
  });
});
