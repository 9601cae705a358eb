import type { TestProject } from 'vitest/node';
import { startMoto } from './sandbox/aws/moto';

/**
 * vitest globalSetup: one moto_server for the whole run (DESIGN §6). Tests read its URL with
 * `inject('motoUrl')` and start their own sandbox (AWS front, ECS scheduler, Kubernetes API server)
 * in front of it. Tests never reset moto: they run in parallel and use unique names.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    motoUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  project.provide('motoUrl', moto.url);
  return () => moto.stop();
}
