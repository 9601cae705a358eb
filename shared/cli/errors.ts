import { InvalidClusterRefError } from '../domain/cluster-ref';
import { ConfigError, errorMessage, InvalidInputError } from '../runtime/errors';
import { UsageError } from './args';

/** Errors that mean "the command line or the configuration is wrong" (exit 2), not "the work failed". */
export function isUsageLike(err: unknown): boolean {
  return err instanceof UsageError || err instanceof ConfigError || err instanceof InvalidInputError || err instanceof InvalidClusterRefError;
}

/** The message, then each cause's message where it adds something (the provider's own words). */
export function describeError(err: unknown): string {
  const parts = [errorMessage(err)];
  for (let cause = (err as { cause?: unknown })?.cause; cause !== undefined && parts.length < 4; cause = (cause as { cause?: unknown })?.cause) {
    const text = errorMessage(cause);
    if (!parts.some((p) => p.includes(text))) parts.push(text);
  }
  return parts.join(': ');
}
