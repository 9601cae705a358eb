/**
 * Pure: splits the clusters that need a change into waves of growing size, so a bad sensor version
 * or a broken manifest shows up on one canary cluster before it reaches the rest of the fleet.
 * Sizes: 1 canary, then 10%, 25%, 50% of what is left, then the rest (at least one per wave).
 */
export function planWaves<T>(items: T[], fractions: number[] = [0.1, 0.25, 0.5]): T[][] {
  if (items.length === 0) return [];
  const waves: T[][] = [items.slice(0, 1)];
  let rest = items.slice(1);
  for (const f of fractions) {
    if (rest.length === 0) break;
    const size = Math.max(1, Math.ceil(items.length * f));
    waves.push(rest.slice(0, size));
    rest = rest.slice(size);
  }
  if (rest.length > 0) waves.push(rest);
  return waves;
}
