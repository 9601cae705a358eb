import * as z from 'zod';
import type { SensorfleetConfig } from '../config/schema';
import type { ClusterEvent } from '../domain/cluster-event';
import { chooseSensorVersion, type VersionChoice } from '../engine/desired-version';
import type { DynamoDbRolloutStore } from '../state/rollout-store';

/**
 * The worker's side of the desired version: what a work item may install on its cluster. A work item
 * of a rollout ring (detail.run, sent by the workflow) is that ring's release: it writes the cluster's
 * release record first, so every later path (node events, nightly drift, redeploys) reads the new
 * version too. Any other item reads the release record; an on-call redeploy with forceVersion
 * installs the target past the rings and its release record says who forced it and why.
 */
export const ringRunSchema = z.object({ id: z.string().min(1), ring: z.number().int().min(0), taskToken: z.string().min(1) });
export type RingRun = z.infer<typeof ringRunSchema>;

/** The ring this item belongs to; undefined for every other work item. */
export function ringRunOf(event: ClusterEvent): RingRun | undefined {
  const parsed = ringRunSchema.safeParse(event.detail.run);
  return parsed.success ? parsed.data : undefined;
}

export type ClusterVersion = { ok: true; choice: VersionChoice } | { ok: false; reason: string };

export async function clusterVersion(event: ClusterEvent, config: SensorfleetConfig, store: DynamoDbRolloutStore, now: Date): Promise<ClusterVersion> {
  const run = ringRunOf(event);
  if (run) return releaseRing(run, event.cluster, store, now);
  const target = config.sensor.version;
  const forced = forcedBy(event);
  if (forced) {
    await store.putRelease({ cluster: event.cluster, version: target, releasedAt: now.toISOString(), forced });
    return { ok: true, choice: chooseSensorVersion({ target, forced }) };
  }
  const release = await store.getRelease(event.cluster);
  const baseline = release ? undefined : await store.getBaseline();
  return { ok: true, choice: chooseSensorVersion({ target, ...(release ? { release } : {}), ...(baseline ? { baseline } : {}) }) };
}

async function releaseRing(run: RingRun, cluster: string, store: DynamoDbRolloutStore, now: Date): Promise<ClusterVersion> {
  const record = await store.getRun(run.id);
  if (!record) return { ok: false, reason: `rollout run ${run.id} is not in the fleet table` };
  if (record.status !== 'running') return { ok: false, reason: `rollout run ${run.id} is ${record.status}` };
  const release = { cluster, version: record.targetVersion, releasedAt: now.toISOString(), runId: run.id, ring: run.ring };
  await store.putRelease(release);
  return { ok: true, choice: chooseSensorVersion({ target: record.targetVersion, release }) };
}

/** An on-call redeploy asked for the target version explicitly (redeploy request forceVersion: true). */
function forcedBy(event: ClusterEvent): { by: string; reason: string } | undefined {
  if (event.kind !== 'redeploy-requested' || event.detail.forceVersion !== true) return undefined;
  return { by: String(event.detail.requestedBy ?? 'unknown'), reason: String(event.detail.reason ?? 'no reason given') };
}
