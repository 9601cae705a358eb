import * as z from 'zod';

/**
 * Response shapes (qualys-cs-api.md §1.3-1.7). Loose objects: unknown fields pass through, and
 * only what we rely on is required, because the v1.3 echo fields are partly undocumented [I].
 * Timestamps are epoch-millisecond strings on the wire; numbers are accepted too.
 */
const epochMs = z.union([z.string(), z.number()]).nullish();

export const sensorSchema = z.looseObject({
  sensorId: z.string().nullish(),
  uuid: z.string().nullish(),
  hostname: z.string().nullish(),
  name: z.string().nullish(),
  status: z.string().nullish(),
  sensorType: z.string().nullish(),
  sensorVersion: z.string().nullish(),
  lastCheckedIn: epochMs,
  created: epochMs,
  cluster: z
    .looseObject({
      type: z.string().nullish(),
      k8s: z.looseObject({ node: z.looseObject({ name: z.string().nullish() }).nullish() }).nullish(),
    })
    .nullish(),
});
export type Sensor = z.infer<typeof sensorSchema>;

export const registrySchema = z.looseObject({
  registryUuid: z.string(),
  registryUri: z.string(),
  registryName: z.string().nullish(),
  registryType: z.string().nullish(),
});
export type Registry = z.infer<typeof registrySchema>;

export const repoTagWireSchema = z.looseObject({ repo: z.string(), tag: z.string().nullish() });
export const scheduleFilterSchema = z.looseObject({ repoTags: z.array(repoTagWireSchema).nullish(), days: z.number().nullish() });

export const scheduleSchema = z.looseObject({
  scheduleUuid: z.string(),
  name: z.string(),
  onDemand: z.boolean().nullish(),
  schedule: z.string().nullish(),
  status: z.string().nullish(),
  filters: z.array(scheduleFilterSchema).nullish(),
  // Echo fields newer than the v1.1 swagger: present or not depending on the API version [I].
  scheduleScanIntervalInDays: z.number().nullish(),
  weekDay: z.string().nullish(),
  forceScan: z.boolean().nullish(),
});
export type Schedule = z.infer<typeof scheduleSchema>;

export function listEnvelope<T extends z.ZodTypeAny>(item: T) {
  return z.looseObject({ count: z.number().nullish(), data: z.array(item).nullish() });
}

export const deletionJobSchema = z.looseObject({ deletionJobId: z.string() });
/** Create answers: an object with the id, or a bare JSON string (qualys-cs-api.md §1.7 [C3/I]). */
export const registryCreatedSchema = z.union([z.looseObject({ registryUuid: z.string() }), z.string()]);
export const scheduleCreatedSchema = z.union([z.looseObject({ scheduleId: z.string().nullish(), scheduleUuid: z.string().nullish() }), z.string()]);
export const errorBodySchema = z.looseObject({ message: z.string().nullish(), errorMessage: z.string().nullish() });
