import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { eksBearerToken } from '../../shared/platforms/eks/token';

const CREDS = { accessKeyId: 'AKIAUNITTEST00000001', secretAccessKey: 'unit/secret/key/0000000000000000000000', sessionToken: 'unit-session-token' };
const NOW = new Date('2026-11-23T10:00:00Z');

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const body = token.slice('k8s-aws-v1.'.length);
  expect(body).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(body, 'base64url').toString('utf8'));
}

describe('EKS token (aws-iam-authenticator format)', () => {
  it('is a presigned STS GetCallerIdentity URL for the cluster region, signing x-k8s-aws-id, valid 60 s', async () => {
    const url = decode(await eksBearerToken({ clusterName: 'prod-eks', region: 'eu-west-1', credentials: CREDS, now: NOW }));
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIAUNITTEST00000001/20261123/eu-west-1/sts/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20261123T100000Z');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-SignedHeaders')!.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(q.get('X-Amz-Security-Token')).toBe('unit-session-token');
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the signature verifies for this cluster name only (what STS checks when the authenticator replays it)', async () => {
    const url = decode(await eksBearerToken({ clusterName: 'prod-eks', region: 'eu-west-1', credentials: CREDS, now: NOW }));
    const resign = async (cluster: string) => {
      const signer = new SignatureV4({ service: 'sts', region: 'eu-west-1', credentials: CREDS, sha256: Sha256 });
      const req = new HttpRequest({ method: 'GET', protocol: 'https:', hostname: url.host, path: '/', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' }, headers: { host: url.host, 'x-k8s-aws-id': cluster } });
      return (await signer.presign(req, { signingDate: NOW, expiresIn: 60 })).query!['X-Amz-Signature'];
    };
    expect(await resign('prod-eks')).toBe(url.searchParams.get('X-Amz-Signature'));
    expect(await resign('other-eks')).not.toBe(url.searchParams.get('X-Amz-Signature'));
  });

  it('never carries the secret key', async () => {
    const token = await eksBearerToken({ clusterName: 'c', region: 'us-east-1', credentials: CREDS, now: NOW });
    expect(Buffer.from(token.slice(11), 'base64url').toString()).not.toContain(CREDS.secretAccessKey);
  });
});
