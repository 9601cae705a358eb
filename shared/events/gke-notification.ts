import * as z from 'zod';
import { MalformedEventError } from './errors';
import { clusterEvent, isObject, isoTime, NOTHING, oneLine, only, type Normalized, type NormalizeOptions } from './types';

/**
 * GKE cluster notifications (https://cloud.google.com/kubernetes-engine/docs/concepts/cluster-notifications):
 * the structure is in the Pub/Sub message attributes (`data` is a human sentence, not parsed).
 * Only an UpgradeEvent of a NODE_POOL changes the nodes; every other type (control-plane upgrade,
 * UpgradeAvailableEvent, SecurityBulletinEvent, types GKE adds later) is not a cluster event.
 *
 * `project_id` here is the project NUMBER. The canonical reference wants the project id: it is
 * taken from options.gcpProjectIds when mapped (gcpProjectIdsByNumber(targets.gcp) builds it from the
 * configured pairs), else from the payload's `resource` path when that names the project by id;
 * otherwise the number is kept as the scope and detail.projectNumber says so (the GKE adapter then
 * refuses the ref with the id to use, so one cluster never becomes two inventory items).
 */
const attributesSchema = z.object({
  type_url: z.string().min(1),
  cluster_name: z.string().min(1),
  cluster_location: z.string().min(1),
  project_id: z.string().min(1),
  payload: z.string().optional(),
});

export function isGkeNotification(attributes: unknown): boolean {
  return typeof (attributes as { type_url?: unknown } | undefined)?.type_url === 'string' && String((attributes as { type_url: string }).type_url).includes('google.container.');
}

export function normalizeGkeNotification(attributes: unknown, delivery: { id: string; time?: string | undefined }, opts: NormalizeOptions): Normalized {
  const parsed = attributesSchema.safeParse(attributes);
  if (!parsed.success) throw new MalformedEventError(`GKE cluster notification attributes: ${oneLine(parsed.error.issues)}`, delivery.id);
  const a = parsed.data;
  const type = a.type_url.split('.').at(-1);
  if (type !== 'UpgradeEvent') return NOTHING;
  let json: unknown;
  try {
    json = JSON.parse(a.payload ?? '{}');
  } catch {
    throw new MalformedEventError('GKE UpgradeEvent: attributes.payload is not JSON', delivery.id);
  }
  if (!isObject(json)) throw new MalformedEventError('GKE UpgradeEvent: attributes.payload is not a JSON object', delivery.id);
  const payload: { resourceType?: unknown; resource?: unknown; targetVersion?: unknown } = json;
  if (payload.resourceType !== 'NODE_POOL') return NOTHING;
  const projectId = opts.gcpProjectIds?.[a.project_id] ?? projectIdOfResource(payload.resource);
  return only(
    clusterEvent(delivery.id, {
      id: `gcp-pubsub:${delivery.id}`,
      time: isoTime([delivery.time], opts),
      kind: 'nodes-changed',
      cluster: { platform: 'gcp-gke', scope: projectId ?? a.project_id, location: a.cluster_location, name: a.cluster_name },
      source: 'gke.UpgradeEvent',
      detail: {
        resourceType: 'NODE_POOL',
        resource: typeof payload.resource === 'string' ? payload.resource : undefined,
        targetVersion: typeof payload.targetVersion === 'string' ? payload.targetVersion : undefined,
        ...(projectId ? {} : { projectNumber: a.project_id }),
      },
    }),
  );
}

/** `projects/<id>/locations/…` → the id, when the path names the project by id rather than by number. */
function projectIdOfResource(resource: unknown): string | undefined {
  const project = typeof resource === 'string' ? /^(?:\/\/container\.googleapis\.com\/)?projects\/([^/]+)\//.exec(resource)?.[1] : undefined;
  return project && !/^\d+$/.test(project) ? project : undefined;
}
