/**
 * OpenAPI v3 discovery (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3): `/openapi/v3`
 * lists one document per group-version, `/openapi/v3/<api/v1|apis/g/v>?hash=…` is that document. kubectl reads
 * them before `apply`/`create`/`replace` to learn whether the server validates fields itself (a PATCH operation
 * with the `fieldValidation` query parameter, matched by x-kubernetes-group-version-kind); without any OpenAPI
 * it refuses ("failed to download openapi") unless given --validate=false. These documents describe the
 * operations only: no schemas, so `kubectl explain` has nothing to show, and strategic-merge patches are built
 * from kubectl's compiled-in types (as for any server whose OpenAPI lacks them).
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, groupVersions, RESOURCE_TYPES, type ResourceType } from './resources';

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

const QUERY_PARAMS = [
  { name: 'dryRun', description: 'When present, indicates that modifications should not be persisted.' },
  { name: 'fieldManager', description: 'fieldManager is a name associated with the actor or entity that is making these changes.' },
  { name: 'fieldValidation', description: 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict' },
].map((p) => ({ ...p, in: 'query', schema: { type: 'string', uniqueItems: true } }));

function operations(t: ResourceType, item: boolean): Record<string, unknown> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const op = (action: string, verb: string, extra: Record<string, unknown> = {}) => ({
    operationId: `${verb}${t.kind}`,
    tags: [apiVersionOf(t).replace(/[./]/g, '_')],
    parameters: verb === 'read' || verb === 'list' ? [] : QUERY_PARAMS,
    responses: { '200': { description: 'OK' }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  if (!item) return { get: op('list', 'list'), post: op('post', 'create') };
  return {
    get: op('get', 'read'),
    put: op('put', 'replace'),
    patch: op('patch', 'patch', {
      requestBody: { content: Object.fromEntries(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].map((c) => [c, { schema: { type: 'object' } }])) },
    }),
    delete: op('delete', 'delete'),
  };
}

function document(group: string, version: string): unknown {
  const paths: Record<string, unknown> = {};
  for (const t of RESOURCE_TYPES.filter((r) => r.group === group && r.version === version)) {
    const base = `/${gvPath(group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
    paths[base] = operations(t, false);
    paths[`${base}/{name}`] = operations(t, true);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: {} };
}

const DOCS = new Map<string, { doc: unknown; hash: string }>(
  groupVersions().map(({ group, version }) => {
    const doc = document(group, version);
    return [gvPath(group, version), { doc, hash: createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase().slice(0, 128) }];
  }),
);

/**
 * GET /openapi/v3. `prefix` is where the cluster lives on this server (/clusters/<id>): client-go requests a
 * serverRelativeURL as given (Request.RequestURI replaces the whole path), so it must carry the prefix.
 */
export function openApiV3Index(prefix: string): unknown {
  return { paths: Object.fromEntries([...DOCS].map(([p, d]) => [p, { serverRelativeURL: `${prefix}/openapi/v3/${p}?hash=${d.hash}` }])) };
}

/** GET /openapi/v3/<path>; undefined for an unknown group-version. */
export function openApiV3Document(path: string): unknown | undefined {
  return DOCS.get(path)?.doc;
}
