import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';

/**
 * TLS for every sandbox HTTPS server (Kubernetes API, ARM, Entra, GKE, Google STS/IAM): one sandbox CA
 * per checkout, kept in `.sandbox/ca/` (git-ignored), and server certificates it signs for
 * https://127.0.0.1 (SAN IP:127.0.0.1, DNS:localhost). Processes that talk to the sandbox trust the CA
 * through NODE_EXTRA_CA_CERTS (Node's documented way to add a CA to the default store; the cloud SDKs
 * use that store), set by vitest.config.ts, scripts and `sensorfleet demo|sandbox`. The product has no
 * switch to skip TLS verification.
 */
export interface SandboxTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface SandboxCa {
  certPem: string;
  keyPem: string;
  /** File holding certPem, for NODE_EXTRA_CA_CERTS and kubeconfigs. */
  file: string;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SANDBOX_CA_DIR = join(REPO, '.sandbox', 'ca');
export const SANDBOX_CA_FILE = join(SANDBOX_CA_DIR, 'ca.pem');
const CA_KEY_FILE = join(SANDBOX_CA_DIR, 'ca-key.pem');

/** RSA keys come from node:crypto (native, fast); node-forge builds and signs the X.509 certificates. */
function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    privateKey: forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(pubPem) as forge.pki.rsa.PublicKey,
    keyPem,
  };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
}

/** A self-signed CA certificate (also used for per-cluster client CAs). */
export function createCa(commonName: string, years = 1): { certPem: string; keyPem: string } {
  const ca = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = ca.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 24 * 3600_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: ca.keyPem };
}

/** A certificate signed by `issuer`: server (SAN 127.0.0.1/localhost) or client (CN = user, O = groups). */
export function issueCertificate(
  issuer: { certPem: string; keyPem: string },
  o: { commonName: string; organizations?: string[]; usage: 'server' | 'client'; days?: number },
): { certPem: string; keyPem: string } {
  const keys = rsaKeys();
  const issuerCert = forge.pki.certificateFromPem(issuer.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + (o.days ?? 365) * 24 * 3600_000);
  // UTF8String, as Go's crypto/x509 writes names that are not PrintableString (user names with '_', '@');
  // @types/node-forge types valueTagClass as an asn1 class, but forge uses it as the value's tag
  const utf8 = forge.asn1.Type.UTF8 as unknown as forge.asn1.Class;
  cert.setSubject([{ name: 'commonName', value: o.commonName, valueTagClass: utf8 }, ...(o.organizations ?? []).map((value) => ({ name: 'organizationName', value, valueTagClass: utf8 }))]);
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    o.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    ...(o.usage === 'server'
      ? [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }, { type: 2, value: 'kubernetes.default.svc' }] }]
      : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(issuer.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

let cachedCa: SandboxCa | undefined;

/** The checkout's sandbox CA, created on first use (written atomically, so parallel test workers agree). */
export function sandboxCa(): SandboxCa {
  if (cachedCa) return cachedCa;
  if (!existsSync(SANDBOX_CA_FILE) || !existsSync(CA_KEY_FILE)) {
    // written in a folder of its own, then renamed into place: of parallel creators exactly one wins
    mkdirSync(dirname(SANDBOX_CA_DIR), { recursive: true });
    const tmp = `${SANDBOX_CA_DIR}.${process.pid}-${randomBytes(4).toString('hex')}`;
    mkdirSync(tmp);
    const ca = createCa('sensorfleet-sandbox-ca', 10);
    writeFileSync(join(tmp, 'ca-key.pem'), ca.keyPem, { mode: 0o600 });
    writeFileSync(join(tmp, 'ca.pem'), ca.certPem);
    try {
      renameSync(tmp, SANDBOX_CA_DIR);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  cachedCa = { certPem: readFileSync(SANDBOX_CA_FILE, 'utf8'), keyPem: readFileSync(CA_KEY_FILE, 'utf8'), file: SANDBOX_CA_FILE };
  return cachedCa;
}

/** A server certificate for 127.0.0.1 signed by the sandbox CA. */
export function generateSandboxTls(): SandboxTls {
  const ca = sandboxCa();
  const server = issueCertificate(ca, { commonName: 'sensorfleet-sandbox', usage: 'server' });
  return { caPem: ca.certPem, certPem: server.certPem, keyPem: server.keyPem };
}
