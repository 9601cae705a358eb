/**
 * kube-apiserver's x509 client certificate authenticator (--client-ca-file;
 * k8s.io/apiserver/pkg/authentication/request/x509): the peer certificate must chain to the client CA,
 * be within its validity, and allow client authentication (extended key usage clientAuth, or no EKU at
 * all, as Go's x509 verification with ExtKeyUsageClientAuth accepts); the user name is the subject CN and
 * the groups its O values (CommonNameUserConversion). A certificate with an empty CN authenticates no one.
 */
import { X509Certificate } from 'node:crypto';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const ANY_EKU_OID = '2.5.29.37.0';

export interface CertificateUser {
  name: string;
  groups: string[];
}

/** The user a certificate names, when the client CA issued it and it is valid for client auth now. */
export function verifyClientCertificate(caPem: string, cert: X509Certificate, now: Date = new Date()): CertificateUser | null {
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return null;
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return null;
  const eku = cert.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(CLIENT_AUTH_OID) && !eku.includes(ANY_EKU_OID)) return null;
  const subject = subjectOf(cert);
  const name = subject.CN?.[0];
  return name ? { name, groups: subject.O ?? [] } : null;
}

/** ClusterOptions.authenticateCertificate for a cluster whose client CA is `caPem`. */
export function clientCaAuthenticator(caPem: string): (cert: X509Certificate) => string | null {
  return (cert) => verifyClientCertificate(caPem, cert)?.name ?? null;
}

function subjectOf(cert: X509Certificate): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of cert.subject.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) (out[line.slice(0, at)] ??= []).push(line.slice(at + 1));
  }
  return out;
}
