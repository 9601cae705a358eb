import { describe, expect, it } from 'vitest';
import { classifyGoogleError } from '../../shared/platforms/gke/container-api';
import { redact } from '../../shared/platforms/gke/credential';
import { CLUSTER_STATUS, gkeReadiness, statusName } from '../../shared/platforms/gke/readiness';

/** GKE Cluster.Status -> what sensorfleet does, table-driven, with statuses as names and as the ints of enum-encoding=int. */
const serving = { endpoint: '34.76.1.2', masterAuth: { clusterCaCertificate: 'LS0tLS1CRUdJTi0tLS0t' } };

describe('gkeReadiness', () => {
  const table: [string, Parameters<typeof gkeReadiness>[0], ReturnType<typeof gkeReadiness>][] = [
    ['RUNNING with endpoint and CA', { status: 'RUNNING', ...serving }, { kind: 'ready', status: 'RUNNING' }],
    ['RUNNING as int 2', { status: 2, ...serving }, { kind: 'ready', status: 'RUNNING' }],
    ['RUNNING without endpoint', { status: 'RUNNING', masterAuth: {} }, { kind: 'not-ready', status: 'RUNNING without an endpoint yet' }],
    ['PROVISIONING', { status: 'PROVISIONING' }, { kind: 'not-ready', status: 'PROVISIONING' }],
    ['PROVISIONING as int 1', { status: 1 }, { kind: 'not-ready', status: 'PROVISIONING' }],
    ['RECONCILING with message', { status: 3, statusMessage: 'Upgrading master.', ...serving }, { kind: 'not-ready', status: 'RECONCILING: Upgrading master.' }],
    ['STOPPING', { status: 'STOPPING', ...serving }, { kind: 'stopping' }],
    ['STOPPING as int 4', { status: 4 }, { kind: 'stopping' }],
    ['ERROR with message', { status: 'ERROR', statusMessage: 'Quota exceeded.' }, { kind: 'unhealthy', status: 'ERROR', detail: 'Quota exceeded.' }],
    [
      'DEGRADED as int 6 with conditions',
      { status: 6, conditions: [{ code: 'GKE_SERVICE_ACCOUNT_DELETED', message: 'SA deleted.' }, { canonicalCode: 'PERMISSION_DENIED', message: 'no access' }] },
      { kind: 'unhealthy', status: 'DEGRADED', detail: 'GKE_SERVICE_ACCOUNT_DELETED: SA deleted.; PERMISSION_DENIED: no access' },
    ],
    ['ERROR: message and the same condition once', { status: 'ERROR', statusMessage: 'boom', conditions: [{ message: 'boom' }] }, { kind: 'unhealthy', status: 'ERROR', detail: 'boom' }],
    ['STATUS_UNSPECIFIED', { status: 0 }, { kind: 'unknown', status: 'STATUS_UNSPECIFIED' }],
    ['missing status', {}, { kind: 'unknown', status: 'STATUS_UNSPECIFIED' }],
    ['an int newer than this client', { status: 9 }, { kind: 'unknown', status: 'STATUS_9' }],
  ];
  it.each(table)('%s', (_name, cluster, want) => {
    expect(gkeReadiness(cluster)).toEqual(want);
  });

  it('names every int of the proto enum', () => {
    expect(CLUSTER_STATUS.map((_, i) => statusName(i))).toEqual(['STATUS_UNSPECIFIED', 'PROVISIONING', 'RUNNING', 'RECONCILING', 'STOPPING', 'ERROR', 'DEGRADED']);
  });
});

describe('GKE API error classification', () => {
  const gaxios = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    name: 'GaxiosError',
    status,
    message: JSON.stringify(body),
    response: { status, data: undefined, headers: new Headers(headers) },
  });
  it.each([
    ['429 with RetryInfo 2.5s', gaxios(429, { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }] } }), { retry: true, waitMs: 2500 }],
    ['429 with Retry-After only', gaxios(429, { error: { code: 429, message: 'quota' } }, { 'retry-after': '3' }), { retry: true, waitMs: 3000 }],
    ['503', gaxios(503, { error: { code: 503, status: 'UNAVAILABLE', message: 'x' } }), { retry: true }],
    ['404 is an answer', gaxios(404, { error: { code: 404, status: 'NOT_FOUND', message: 'Not found' } }), { retry: false }],
    ['403 is an answer', gaxios(403, { error: { code: 403, status: 'PERMISSION_DENIED', message: 'no' } }), { retry: false }],
    ['GoogleError UNAVAILABLE (gRPC 14) with decoded RetryInfo', { code: 14, message: 'x', statusDetails: [{ retryDelay: { seconds: 1, nanos: 500_000_000 } }] }, { retry: true, waitMs: 1500 }],
    ['GoogleError NOT_FOUND (gRPC 5)', { code: 5, message: 'x' }, { retry: false }],
    ['connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { retry: true }],
    ['a credential error is never retried here', Object.assign(new Error('x'), { name: 'GoogleCredentialError' }), { retry: false }],
  ])('%s', (_name, err, want) => {
    expect(classifyGoogleError(err)).toEqual(want);
  });
});

describe('redact', () => {
  it('cuts JWTs and Google access tokens out of server text', () => {
    expect(redact('bad token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln and ya29.a0AfB_byC-xyz.123 end')).toBe('bad token [redacted] and [redacted] end');
  });
});
