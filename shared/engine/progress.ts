/**
 * What a long run reports while it works (the CLI shows it on stderr; the functions pass no listener).
 * Listeners must be cheap and must not throw: they are called inline.
 */
export type FleetProgress =
  /** observe + plan of one cluster finished */
  | { kind: 'assessed'; cluster: string; done: number; total: number }
  /** a wave of changes starts */
  | { kind: 'wave'; wave: number; waves: number; clusters: string[] }
  /** a rollout wait polled again: nodes running the current sensor out of the nodes in scope */
  | { kind: 'rollout'; cluster: string; updated: number; total: number; message: string }
  /** one cluster is done */
  | { kind: 'cluster'; cluster: string; outcome: string; done: number; total: number };

export type ProgressListener = (event: FleetProgress) => void;
