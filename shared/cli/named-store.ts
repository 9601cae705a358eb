import { withContext } from '../runtime/errors';
import type { FleetStore } from '../state/store';

/** The fleet table, with failures that name it ("Requested resource not found" says neither which table nor where). */
export function namedStore(store: FleetStore, table: string): FleetStore {
  const where = `the fleet table ${table} in ${process.env.AWS_REGION ?? 'us-east-1'} (state.tableName, $SENSORFLEET_TABLE)`;
  return {
    recordReconcile: (record, inventory) => withContext(`recording ${record.cluster} in ${where}`, () => store.recordReconcile(record, inventory)),
    getCluster: (cluster) => withContext(`reading ${where}`, () => store.getCluster(cluster)),
    listClusters: () => withContext(`reading ${where}`, () => store.listClusters()),
    listReconciles: (cluster, limit) => withContext(`reading ${where}`, () => store.listReconciles(cluster, limit)),
  };
}
