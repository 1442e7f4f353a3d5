/**
 * Unknown keys of options objects: refused with ERR_INVALID_ARG naming the key and suggesting the known key the
 * caller probably meant. Internal (not exported by the package).
 */
import { NativeSidecarError, type ErrorClass } from './errors.js';

/**
 * Refuses keys of the options object `value` (named `name`) that are not in `known`: ERR_INVALID_ARG (of class
 * `Kind`) naming the first unknown one as `name.key` and suggesting the closest known key (a small edit distance,
 * ignoring case, or a known key that starts with it), or listing the known keys when none is close. Own enumerable
 * string keys only, like Object.keys(); no allocation when every key is known.
 */
export function checkKnownKeys(name: string, value: object, known: readonly string[], Kind?: ErrorClass): void {
  for (const key in value) {
    if (known.includes(key) || !Object.hasOwn(value, key)) continue; // the common case first: send()/request() hot path
    const K = Kind ?? NativeSidecarError;
    const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    const closest = closestKey(key, known);
    const list = known.map((k) => `'${k}'`);
    const rest = closest !== undefined
      ? `did you mean '${name}.${closest}'?`
      : list.length === 1
        ? `the only option is ${list[0]}.`
        : `the options are ${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}.`;
    throw new K('ERR_INVALID_ARG', `The argument '${name}.${shown}' is not a known option; ${rest}`);
  }
}

/** The known key closest to `key`, or undefined when none is close enough to be a likely misspelling. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const d = editDistance(k, c);
    const limit = Math.max(1, Math.floor(Math.max(k.length, c.length) * 0.4));
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined) return best;
  // A known key that starts with it: 'memory' for 'memoryBytes', 'restart' for 'restartPolicy'.
  if (k.length >= 3) return known.find((candidate) => candidate.toLowerCase().startsWith(k) || k.startsWith(candidate.toLowerCase()));
  return undefined;
}

/** Edit distance of `a` and `b`: insertions, deletions, substitutions and swaps of two neighbours cost 1 each. */
export function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length); // a key this long is no misspelling
  let before: number[] = [];
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
