import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeCluster } from '../sandbox/kube/cluster';
import { RESOURCE_TYPES } from '../sandbox/kube/resources';
import { sandboxCa } from '../sandbox/kube/tls';

/** The sandbox API server stores a Secret as the real one does: stringData merged into data, never kept. */
const SECRET = RESOURCE_TYPES.find((t) => t.kind === 'Secret')!;
let cluster: FakeKubeCluster | undefined;
afterEach(() => cluster?.stop());

describe('sandbox Secret writes', () => {
  it('a patch with stringData changes data (base64) and leaves no stringData', () => {
    cluster = new FakeKubeCluster('secrets', 'https://127.0.0.1:1', sandboxCa().certPem, { nodes: [] });
    cluster.registry.create(SECRET, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, data: { ACTIVATIONID: Buffer.from('old').toString('base64'), CUSTOMERID: Buffer.from('c').toString('base64') } }, { fieldManager: 'test' });
    cluster.registry.patch(SECRET, 'default', 'creds', 'application/merge-patch+json', JSON.stringify({ stringData: { ACTIVATIONID: 'by-hand' } }), { fieldManager: 'kubectl-edit' });
    const stored = cluster.get('v1', 'Secret', 'default', 'creds');
    expect(stored.data).toEqual({ ACTIVATIONID: Buffer.from('by-hand').toString('base64'), CUSTOMERID: Buffer.from('c').toString('base64') });
    expect(stored.stringData).toBeUndefined();
  });
});
