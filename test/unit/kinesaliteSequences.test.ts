import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { installFastSequences, partitionKeyToHashKey } from '../../bin/localStack/kinesaliteSequences.ts';

/** A seeded 32-bit generator, so a failure names the inputs it ran on. */
function random(seed: number) {
  let state = seed >>> 0;
  return (n: number) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return Math.floor((state / 2 ** 32) * n);
  };
}

function outcome(call: () => unknown): unknown {
  try {
    return { value: call() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe("kinesalite's sequence numbers on BigInt", () => {
  const original = installFastSequences();
  const db = createRequire(import.meta.url)('kinesalite/db') as typeof original;
  const next = random(20_261_205);

  it('builds and reads every number as bignumber.js does', () => {
    for (let i = 0; i < 5_000; i++) {
      const shardCreateTime = (1_400_000_000 + next(400_000_000)) * 1000;
      const parts = {
        shardCreateTime,
        shardIx: next(64),
        seqIx: i % 3 === 0 ? String(next(2 ** 31) * 2 ** 31 + next(2 ** 31)) : next(2 ** 30),
        seqTime: i % 5 === 0 ? undefined : shardCreateTime + next(2 ** 30) * 1000,
        byte1: i % 7 === 0 ? 'ab' : undefined,
      };
      const fast = db.stringifySequence(parts);
      expect(fast).toBe(original.stringifySequence(parts));
      expect(db.parseSequence(fast)).toEqual(original.parseSequence(fast));
      expect(db.incrementSequence(fast)).toBe(original.incrementSequence(fast));
      expect(db.incrementSequence(fast, shardCreateTime + 5_000)).toBe(original.incrementSequence(fast, shardCreateTime + 5_000));
    }
  });

  it('answers hostile and older-version input exactly as the original, errors included', () => {
    const inputs = ['', 'abc', '1.5', '-7', '0', '1e30', ' 12', '9'.repeat(90), '49590338271490256608559692538361571095921575989136588898'];
    for (let i = 0; i < 2_000; i++) inputs.push(Array.from({ length: 1 + next(60) }, () => next(10)).join(''));
    for (const input of inputs) expect(outcome(() => db.parseSequence(input))).toEqual(outcome(() => original.parseSequence(input)));
  });

  it('places partition keys in the same shard as bignumber.js', () => {
    const top = 2n ** 128n;
    for (const shards of [1, 2, 3, 4, 7, 16, 64]) {
      const width = top / BigInt(shards);
      const edges = Array.from({ length: shards }, (_, i) => [width * BigInt(i), i === shards - 1 ? top - 1n : width * BigInt(i + 1) - 1n]).flat().map(String);
      for (let k = 0; k < 300; k++) {
        const key = `customer-${next(1_000_000)}-${k}`;
        const fast = partitionKeyToHashKey(key);
        const reference = original.partitionKeyToHashKey(key) as unknown as ReturnType<typeof partitionKeyToHashKey>;
        for (const edge of edges) expect(fast.comparedTo(edge)).toBe(reference.comparedTo(edge));
      }
    }
  });
});
