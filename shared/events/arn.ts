/** arn:partition:service:region:account:resource */
export interface Arn {
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function parseArn(text: unknown): Arn | undefined {
  if (typeof text !== 'string' || !text.startsWith('arn:')) return undefined;
  const parts = text.split(':');
  if (parts.length < 6) return undefined;
  return { service: parts[2]!, region: parts[3]!, account: parts[4]!, resource: parts.slice(5).join(':') };
}

/** `cluster/<name>` of an ECS or EKS cluster ARN. */
export function clusterNameFromArn(text: unknown): string | undefined {
  const arn = parseArn(text);
  const m = arn && /^cluster\/(.+)$/.exec(arn.resource);
  return m?.[1];
}
