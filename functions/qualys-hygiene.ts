// Placeholder created by the events/deployment helper so `serverless package` has every handler;
// the Qualys hygiene helper replaces this file.
export async function handler(): Promise<never> {
  throw new Error('not implemented');
}
