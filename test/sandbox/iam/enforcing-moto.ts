import { startMoto, type MotoServer } from '../aws/moto';
import { queryCall, xmlValue, type Credentials } from './signed-request';

/**
 * A moto_server of its own with IAM enforcement on (toolchain.md §7): started with
 * INITIAL_NO_AUTH_ACTION_COUNT=3, whose three free requests create an admin user (CreateUser,
 * PutUserPolicy `*` on `*`, CreateAccessKey); from then on every request must be signed by an IAM
 * user or an assumed role of moto's and be allowed by its policies. A member account gets its admin
 * the same way: `/moto-api/reset-auth` grants three more free requests, made in that account.
 */
export interface EnforcingMoto {
  url: string;
  /** Admin user per account (the default account's first). */
  admins: Map<string, { arn: string; credentials: Credentials }>;
  addAccountAdmin(accountId: string): Promise<void>;
  stop(): Promise<void>;
}

const ADMIN_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
const UNSIGNED: Credentials = { accessKeyId: 'AKIABOOTSTRAPNOAUTH00', secretAccessKey: 'bootstrap' };

export async function startEnforcingMoto(defaultAccount: string): Promise<EnforcingMoto> {
  const moto: MotoServer = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
  const admins = new Map<string, { arn: string; credentials: Credentials }>();
  const bootstrap = async (accountId: string) => {
    const iam = (params: Record<string, string>) =>
      queryCall({ endpoint: moto.url, service: 'iam', region: 'us-east-1', creds: UNSIGNED, version: '2010-05-08', params, headers: { 'x-moto-account-id': accountId } });
    const user = `sandbox-admin-${accountId}`;
    const created = await iam({ Action: 'CreateUser', UserName: user });
    await iam({ Action: 'PutUserPolicy', UserName: user, PolicyName: 'admin', PolicyDocument: ADMIN_POLICY });
    const key = await iam({ Action: 'CreateAccessKey', UserName: user });
    const accessKeyId = xmlValue(key.body, 'AccessKeyId');
    const secretAccessKey = xmlValue(key.body, 'SecretAccessKey');
    const arn = xmlValue(created.body, 'Arn');
    if (!accessKeyId || !secretAccessKey || !arn) throw new Error(`admin bootstrap in ${accountId} failed: HTTP ${created.status}/${key.status}`);
    admins.set(accountId, { arn, credentials: { accessKeyId, secretAccessKey } });
  };
  try {
    await bootstrap(defaultAccount);
  } catch (err) {
    await moto.stop();
    throw err;
  }
  return {
    url: moto.url,
    admins,
    async addAccountAdmin(accountId) {
      const res = await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', body: '3' });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`moto reset-auth answered ${res.status}`);
      await bootstrap(accountId);
    },
    stop: () => moto.stop(),
  };
}
