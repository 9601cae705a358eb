import { describe, expect, it } from 'vitest';
import { KubeconfigError, parseKubeconfig } from '../../shared/platforms/aks/kubeconfig';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBsandboxCA\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBclientCert\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretKeyMaterial\n-----END RSA PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** As `az aks get-credentials` writes them (the shape listClusterUserCredential returns, base64-decoded). */
const cluster = (server = 'https://aks1-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443') => `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${b64(CA)}
    server: ${server}
  name: aks1
contexts:
- context:
    cluster: aks1
    user: clusterUser_rg1_aks1
  name: aks1
current-context: aks1
kind: Config
preferences: {}
`;

const ENTRA_EXEC = `${cluster()}users:
- name: clusterUser_rg1_aks1
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --environment
      - AzurePublicCloud
      - --server-id
      - 6dae42f8-4368-4678-94ff-3960e28e3630
      - --client-id
      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a
      - --tenant-id
      - 72f988bf-86f1-41af-91ab-2d7cd011db47
      - --login
      - devicecode
      command: kubelogin
      env: null
      interactiveMode: IfInteractive
      provideClusterInfo: false
`;

const ENTRA_AZURE = `${cluster()}users:
- name: clusterUser_rg1_aks1
  user:
    auth-provider:
      config:
        apiserver-id: 6dae42f8-4368-4678-94ff-3960e28e3630
        client-id: 80faf920-1908-4b52-b5ef-a8e7bedfc67a
        config-mode: '1'
        environment: AzurePublicCloud
        tenant-id: 72f988bf-86f1-41af-91ab-2d7cd011db47
      name: azure
`;

const LOCAL = `${cluster()}users:
- name: clusterUser_rg1_aks1
  user:
    client-certificate-data: ${b64(CERT)}
    client-key-data: ${b64(KEY)}
    token: 7d3f1c0e9a8b4c2d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d
`;

describe('AKS user kubeconfig', () => {
  it('Entra cluster (exec = kubelogin): server and CA, the plugin only named', () => {
    expect(parseKubeconfig(ENTRA_EXEC)).toEqual({ context: 'aks1', server: 'https://aks1-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443', caPem: CA, user: { exec: 'kubelogin' } });
  });

  it('Entra cluster, legacy format=azure: the auth provider named', () => {
    expect(parseKubeconfig(ENTRA_AZURE).user).toEqual({ authProvider: 'azure' });
  });

  it('local accounts: client certificate + key (PEM) and the static token', () => {
    expect(parseKubeconfig(LOCAL).user).toEqual({ clientCertificate: { certPem: CERT, keyPem: KEY }, token: '7d3f1c0e9a8b4c2d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d' });
  });

  it('a private cluster kubeconfig keeps its privatelink server', () => {
    const server = 'https://aks1-dns-1a2b3c4d.5e6f7a8b-1c2d-3e4f-5a6b-7c8d9e0f1a2b.privatelink.westeurope.azmk8s.io:443';
    expect(parseKubeconfig(`${cluster(server)}users: []\n`).server).toBe(server);
  });

  it.each([
    ['not YAML', ':\n  - : [', /not valid YAML/],
    ['empty', '', /is empty/],
    ['no current context and several', 'contexts: [{name: a, context: {}}, {name: b, context: {}}]', /no current-context/],
    ['unknown context', 'current-context: x\ncontexts: []', /context "x" is not defined/],
    ['no server', LOCAL.replace(/ {4}server: .*\n/, ''), /has no server/],
    ['no CA', LOCAL.replace(/ {4}certificate-authority-data: .*\n/, ''), /no certificate-authority-data/],
    ['CA not PEM', LOCAL.replace(b64(CA), b64('garbage')), /certificate-authority-data does not decode to PEM/],
  ])('%s is a KubeconfigError saying what is wrong', (_label, text, message) => {
    expect(() => parseKubeconfig(text)).toThrow(KubeconfigError);
    expect(() => parseKubeconfig(text)).toThrow(message);
  });

  it('errors never carry credential values', () => {
    const broken = LOCAL.replace(b64(KEY), b64('secretKeyMaterial-but-not-pem'));
    const err = (() => {
      try {
        parseKubeconfig(broken, 'user kubeconfig of cluster azure-aks:s:rg1:aks1');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toBe('user kubeconfig of cluster azure-aks:s:rg1:aks1: client-key-data does not decode to PEM (PRIVATE KEY)');
    expect(err?.message).not.toContain('secretKeyMaterial');
  });
});
