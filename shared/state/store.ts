import type { ClusterInventoryItem, ReconcileRecord } from './records';

/** Persistence for the fleet inventory and the reconcile trail (one interface, one file per backend). */
export interface FleetStore {
  /** Writes the reconcile record and updates the cluster's inventory item. */
  recordReconcile(record: ReconcileRecord, inventory: ClusterInventoryItem): Promise<void>;
  /** Audit: the intent of a reconcile, before its first write (recordReconcile replaces it with the outcome). */
  recordIntent?(intent: ReconcileRecord): Promise<void>;
  getCluster(cluster: string): Promise<ClusterInventoryItem | undefined>;
  listClusters(): Promise<ClusterInventoryItem[]>;
  /** Newest first. */
  listReconciles(cluster: string, limit?: number): Promise<ReconcileRecord[]>;
}
