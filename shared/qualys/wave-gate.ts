import { setTimeout as sleep } from 'node:timers/promises';
import type { SensorfleetConfig } from '../config/schema';
import type { WaveGate } from '../engine/run-fleet';
import { errorMessage } from '../runtime/errors';
import { checkInGate, clusterNodesOf, sensorCheckIn, type ClusterNodes } from './checkin';
import { qualysApiFor } from './sync';

/**
 * The Qualys check-in as the health gate of a version wave: the next wave starts only when every
 * node of this wave's clusters runs a sensor that checked in to Qualys at the desired version.
 * Sensors check in some time after they start, so the gate polls until its deadline.
 */
export function qualysCheckInGate(config: SensorfleetConfig): WaveGate {
  const { deadlineSeconds, pollSeconds } = config.rollout.checkInGate;
  return async (wave) => {
    const clusters: ClusterNodes[] = wave.map((r) => clusterNodesOf(r.cluster, r.verified, config.sensor.version));
    const deadline = Date.now() + deadlineSeconds * 1000;
    try {
      const api = await qualysApiFor(config);
      for (;;) {
        const gate = checkInGate(await sensorCheckIn(api, clusters));
        if (gate.pass || Date.now() >= deadline) return gate.pass ? gate : { pass: false, reason: `after ${deadlineSeconds}s: ${gate.reason}` };
        await sleep(Math.min(pollSeconds * 1000, Math.max(0, deadline - Date.now())));
      }
    } catch (err) {
      return { pass: false, reason: `Qualys check-in could not be read: ${errorMessage(err)}` };
    }
  };
}
