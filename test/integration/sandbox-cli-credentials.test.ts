import { describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { CredentialLedger } from '../sandbox/aws/accounts';
import { verifyEksToken } from '../sandbox/aws/eks-token';
import { execConfig, execCredential, ExecCredentialError } from '../sandbox/exec-credential';
import { renderKubeconfig } from '../sandbox/kubeconfig';

/** The sandbox kubeconfig's credential plugin and the kubeconfig it goes into. */
const REF = 'aws-eks:123456789012:us-east-1:web-eks';
const AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };

describe('sandbox exec credential plugin', () => {
  it('EKS: an aws-iam-authenticator token the sandbox API server admits for that cluster only, refreshed before it expires', async () => {
    const before = Date.now();
    const cred = await execCredential(REF, { ...AWS, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } }) });
    expect(cred).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
    const url = new URL(Buffer.from(cred.status.token!.slice('k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.host).toBe('sts.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    const expires = Date.parse(cred.status.expirationTimestamp!);
    expect(expires).toBeGreaterThan(before + 30_000);
    expect(expires).toBeLessThan(before + 60_000);
    const check = { accountId: '123456789012', motoUrl: inject('motoUrl'), ledger: new CredentialLedger() };
    expect(await verifyEksToken(cred.status.token!, { ...check, clusterName: 'web-eks' })).toMatchObject({ ok: true, arn: expect.stringMatching(/^arn:aws:/) });
    expect(await verifyEksToken(cred.status.token!, { ...check, clusterName: 'data-eks' })).toMatchObject({ ok: false, reason: expect.stringMatching(/SignatureDoesNotMatch/) });
  });

  it('answers in the API version kubectl asks for, and says what is missing instead of inventing a credential', async () => {
    const beta = await execCredential(REF, { ...AWS, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', spec: {} }) });
    expect(beta.apiVersion).toBe('client.authentication.k8s.io/v1beta1');
    await expect(execCredential(REF, {})).rejects.toThrow(new ExecCredentialError(`no AWS credentials in the environment to sign a token for ${REF} (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`));
    await expect(execCredential('aws-ecs:123456789012:us-east-1:payments-ecs', AWS)).rejects.toThrow(/no credential plugin for aws-ecs clusters/);
  });
});

describe('sandbox kubeconfig', () => {
  it('one cluster, exec user and context per cluster; contexts named after clusters, qualified only where names clash', () => {
    const cli = { node: '/usr/bin/node', bin: '/repo/bin/sensorfleet.mjs' };
    const refs = [REF, 'aws-eks:123456789012:eu-west-1:web-eks', 'aws-eks:123456789012:us-east-1:data-eks'];
    const doc = YAML.parse(renderKubeconfig(refs.map((ref) => ({ ref, server: `https://127.0.0.1:1/clusters/${ref.split(':')[3]}`, caPem: 'CA PEM', exec: execConfig(ref, cli, { ...AWS, KUBECONFIG: '/k' }) }))));
    expect(doc.contexts.map((c: any) => c.name)).toEqual(['aws-eks-123456789012-us-east-1-web-eks', 'aws-eks-123456789012-eu-west-1-web-eks', 'data-eks']);
    expect(doc['current-context']).toBe('aws-eks-123456789012-us-east-1-web-eks');
    expect(doc.clusters[0].cluster['certificate-authority-data']).toBe(Buffer.from('CA PEM').toString('base64'));
    expect(doc.users[2]).toEqual({
      name: 'aws-eks:123456789012:us-east-1:data-eks',
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/usr/bin/node', args: ['/repo/bin/sensorfleet.mjs', 'sandbox', 'token', '--cluster', 'aws-eks:123456789012:us-east-1:data-eks'], env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'test' }, { name: 'AWS_SECRET_ACCESS_KEY', value: 'test' }, { name: 'AWS_REGION', value: 'us-east-1' }], interactiveMode: 'Never', provideClusterInfo: false } },
    });
  });
});
