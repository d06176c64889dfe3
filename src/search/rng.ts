import seedrandom from "seedrandom";
import type { Rng } from "./types.ts";

/** A seeded random source (seedrandom's ARC4), so a run with the same coder outputs replays exactly. */
export function seededRng(seed: number | string): Rng {
  const prng = seedrandom(String(seed));
  return { next: () => prng() };
}

/** Picks one element uniformly; the array must not be empty. */
export function choose<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("choose() from an empty list");
  return items[Math.min(items.length - 1, Math.floor(rng.next() * items.length))]!;
}
