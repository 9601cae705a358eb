import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EKSClient } from '@aws-sdk/client-eks';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * SDK clients the sandbox itself uses (fleet builders, ECS scheduler), talking to moto directly, not
 * through the AWS front, so they never show up in `front.requests`. The account is chosen with moto's
 * `x-moto-account-id` header (moto/core/responses.py `get_current_account`, priority 2).
 */
type Ctor<C> = new (config: any) => C;

export class MotoClients {
  private readonly cache = new Map<string, unknown>();

  constructor(readonly motoUrl: string) {}

  ecs(account: string, region: string): ECSClient {
    return this.client(ECSClient, account, region);
  }
  ec2(account: string, region: string): EC2Client {
    return this.client(EC2Client, account, region);
  }
  eks(account: string, region: string): EKSClient {
    return this.client(EKSClient, account, region);
  }
  secrets(account: string, region: string): SecretsManagerClient {
    return this.client(SecretsManagerClient, account, region);
  }

  destroy(): void {
    for (const c of this.cache.values()) (c as { destroy(): void }).destroy();
    this.cache.clear();
  }

  private client<C extends { middlewareStack: any }>(ClientCtor: Ctor<C>, account: string, region: string): C {
    const key = `${ClientCtor.name}|${account}|${region}`;
    const hit = this.cache.get(key) as C | undefined;
    if (hit) return hit;
    const client = new ClientCtor({ endpoint: this.motoUrl, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 });
    client.middlewareStack.add(
      (next: any) => async (args: any) => {
        args.request.headers['x-moto-account-id'] = account;
        return next(args);
      },
      { step: 'build', name: 'motoAccount' },
    );
    this.cache.set(key, client);
    return client;
  }
}
