import { describe, expect, it } from 'vitest';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { armOperation } from '../../shared/platforms/aks/arm';
import { entraReason, redactTokens } from '../../shared/platforms/aks/credential';
import { unreachableReason } from '../../shared/platforms/aks/reachability';
import { aksRefFromResourceId, aksResourceId } from '../../shared/platforms/aks/refs';
import { InvalidInputError } from '../../shared/runtime/errors';

describe('AKS refs from ARM resource ids', () => {
  it.each([
    ['/subscriptions/5F3B2C1A-0D9E-4F8A-B7C6-D5E4F3A2B1C0/resourcegroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod-1', 'azure-aks:5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0:rg-prod:aks-prod-1'],
    ['/subscriptions/5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0/resourceGroups/RG-Platform.EU(1)/providers/microsoft.containerservice/managedclusters/Core', 'azure-aks:5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0:RG-Platform.EU(1):Core'],
    ['/subscriptions/5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1/', 'azure-aks:5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0:rg:aks1'],
    ['/subscriptions/5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0/resourcegroups/rg_prod_01/providers/Microsoft.ContainerService/managedClusters/aks_prod', 'azure-aks:5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0:rg_prod_01:aks_prod'],
  ])('%s -> %s', (id, ref) => {
    const r = aksRefFromResourceId(id);
    expect(formatClusterRef(r)).toBe(ref);
    expect(parseClusterRef(ref)).toEqual(r);
  });

  it('refuses ids of other resource types', () => {
    for (const id of [
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1/agentPools/np1',
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
      'aks1',
    ]) {
      expect(() => aksRefFromResourceId(id)).toThrow(InvalidInputError);
    }
  });

  it('back to the resource id for messages', () => {
    expect(aksResourceId(parseClusterRef('azure-aks:5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0:rg1:aks1'))).toBe('/subscriptions/5f3b2c1a-0d9e-4f8a-b7c6-d5e4f3a2b1c0/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1');
  });
});

describe('ARM operation names for call counts', () => {
  const base = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters';
  it.each([
    ['GET', '/subscriptions/s/providers/Microsoft.ContainerService/managedClusters', 'managedClusters.list'],
    ['GET', base, 'managedClusters.list'],
    ['GET', `${base}/aks1`, 'managedClusters.get'],
    ['POST', `${base}/aks1/listClusterUserCredential`, 'managedClusters.listClusterUserCredential'],
    ['GET', `${base}/aks1/agentPools`, 'agentPools.list'],
    ['GET', `${base}/aks1/agentPools/np1`, 'agentPools.get'],
    ['GET', '/subscriptions/s/resourcegroups', 'GET other'],
  ])('%s %s -> %s', (method, path, op) => {
    expect(armOperation(method, path)).toBe(op);
  });
});

describe('Entra refusals in errors', () => {
  it("keeps Entra's AADSTS sentence, drops trace ids", () => {
    const msal = 'ClientAssertionCredential authentication failed. invalid_client: Error(s): 700213 - Timestamp: 2026-12-01 10:00:00Z - Description: AADSTS700213: No matching federated identity record found for presented assertion subject \'arn:aws:iam::123456789012:role/x\'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. Trace ID: 1 Correlation ID: 2 Timestamp: 3\r\nmore';
    expect(entraReason(new Error(msal))).toBe("AADSTS700213: No matching federated identity record found for presented assertion subject 'arn:aws:iam::123456789012:role/x'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.");
  });

  it('cuts out anything shaped like a JWT', () => {
    expect(redactTokens('assertion eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl was refused')).toBe('assertion <token> was refused');
    expect(entraReason(new Error('bad token eyJhbGciOiJub25lIn0.eyJhIjoxfQ.'))).toBe('bad token <token>');
  });
});

describe('private API server reachability reasons', () => {
  it.each([
    ['ENOTFOUND', 'does not resolve from here'],
    ['EAI_AGAIN', 'does not resolve from here'],
    ['ECONNREFUSED', 'refused the connection'],
    ['ETIMEDOUT', 'did not answer within 3 s'],
    ['EHOSTUNREACH', 'is not routable from here'],
    ['ECONNRESET', 'could not be reached (ECONNRESET)'],
  ])('%s -> %s', (code, text) => {
    expect(unreachableReason(code, 'aks1-dns-1a2b.privatelink.westeurope.azmk8s.io', 443, 3000)).toContain(text);
  });
});
