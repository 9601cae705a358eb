/**
 * A rollout workflow message (`{"type": "rollout-gate" | "rollout-halted" | "rollout-finished", ...}`),
 * not a cluster work item (those have `kind`)? Cheap: the worker asks this of every record before it
 * loads the code that handles them (run-messages.ts).
 */
export function isRunMessageBody(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { type?: unknown; kind?: unknown };
    return typeof parsed === 'object' && parsed !== null && typeof parsed.type === 'string' && parsed.type.startsWith('rollout-') && parsed.kind === undefined;
  } catch {
    return false;
  }
}
