import * as z from 'zod';
import type { QualysClient } from './client';
import { listAllPages, type PageListener } from './paging';
import {
  deletionJobSchema,
  registryCreatedSchema,
  registrySchema,
  scheduleCreatedSchema,
  scheduleSchema,
  sensorSchema,
  type Registry,
  type Schedule,
  type Sensor,
} from './schemas';

/** Request body of a registry scan schedule (DOCS-SCHED-CREATE; nesting per SWAGGER11 ScheduleRequest). */
export interface ScheduleBody {
  name: string;
  onDemand: boolean;
  scheduleScanIntervalInDays: number;
  weekDay?: string;
  schedule: string;
  forceScan: boolean;
  filters: Array<{ repoTags: Array<{ repo: string; tag: string }>; days: number | null }>;
}

/** The CS API endpoints the hygiene run uses (qualys-cs-api.md §1.5-1.7). */
export class QualysApi {
  constructor(
    readonly client: QualysClient,
    private readonly pageSize: number,
    private readonly onPage?: PageListener,
  ) {}

  listSensors(filter?: string): Promise<Sensor[]> {
    return listAllPages(this.client, { operation: 'listSensors', path: '/sensors', item: sensorSchema, pageSize: this.pageSize, query: { filter }, onPage: this.onPage });
  }

  /** DELETE /sensors with JSON {sensorIds} → {deletionJobId}; only UNKNOWN sensors can be deleted (DOCS-SENSOR-DEL [C]). */
  async deleteSensors(sensorIds: string[]): Promise<string> {
    const res = await this.client.request({ operation: 'deleteSensors', method: 'DELETE', path: '/sensors', body: { sensorIds }, schema: deletionJobSchema });
    if (!res.data) throw new Error('deleteSensors answered no deletion job');
    return res.data.deletionJobId;
  }

  listRegistries(): Promise<Registry[]> {
    return listAllPages(this.client, { operation: 'listRegistries', path: '/registry', item: registrySchema, pageSize: this.pageSize, onPage: this.onPage });
  }

  /** POST /registry → {registryUuid}. Not retried blindly on an ambiguous failure: see createOnce. */
  async createRegistry(body: Record<string, unknown>): Promise<string | undefined> {
    const res = await this.client.request({ operation: 'createRegistry', method: 'POST', path: '/registry', body, schema: registryCreatedSchema, retryAmbiguous: false });
    return typeof res.data === 'string' ? res.data || undefined : res.data?.registryUuid;
  }

  listSchedules(registryId: string): Promise<Schedule[]> {
    return listAllPages(this.client, { operation: 'listSchedules', path: `/registry/${encodeURIComponent(registryId)}/schedule`, item: scheduleSchema, pageSize: this.pageSize, onPage: this.onPage });
  }

  async createSchedule(registryId: string, body: ScheduleBody): Promise<string | undefined> {
    const res = await this.client.request({
      operation: 'createSchedule',
      method: 'POST',
      path: `/registry/${encodeURIComponent(registryId)}/schedule`,
      body,
      schema: scheduleCreatedSchema,
      retryAmbiguous: false,
    });
    if (typeof res.data === 'string') return res.data || undefined;
    return res.data?.scheduleId ?? res.data?.scheduleUuid ?? undefined;
  }

  /** PUT: only Automatic, non-Running schedules; onDemand, repo, tag and days cannot change (DOCS-SCHED-UPDATE [C]). */
  async updateSchedule(registryId: string, scheduleId: string, body: ScheduleBody): Promise<void> {
    await this.client.request({
      operation: 'updateSchedule',
      method: 'PUT',
      path: `/registry/${encodeURIComponent(registryId)}/schedule/${encodeURIComponent(scheduleId)}`,
      body,
      schema: z.unknown(),
    });
  }

  async deleteSchedule(registryId: string, scheduleId: string): Promise<void> {
    await this.client.request({
      operation: 'deleteSchedule',
      method: 'DELETE',
      path: `/registry/${encodeURIComponent(registryId)}/schedule/${encodeURIComponent(scheduleId)}`,
      schema: z.unknown(),
    });
  }
}
