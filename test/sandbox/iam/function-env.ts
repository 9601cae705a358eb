import { resolveTemplateValue, type TemplateContext } from './roles';

/**
 * The environment Lambda gives a function: provider.environment merged with functions.<name>.environment
 * from serverless.yml, variables and intrinsics resolved against the sandbox stack (`${param:config}` comes
 * from ctx.params.config, as `serverless deploy --param` would pass it).
 */
export function functionEnvironment(doc: Record<string, any>, fn: string, ctx: TemplateContext): Record<string, string> {
  const def = doc.functions?.[fn];
  if (!def) throw new Error(`no function ${fn} in serverless.yml`);
  const merged = { ...(doc.provider?.environment ?? {}), ...(def.environment ?? {}) };
  const resolved = resolveTemplateValue(doc, merged, ctx) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, String(v)]));
}
