import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * kinesalite's sequence-number arithmetic on native BigInt. kinesalite parses and builds every
 * record's 56-digit sequence number with bignumber.js (decimal ↔ hex through its generic base
 * conversion): profiled on a 50,000-record put and read, that conversion was 35% of the CPU of
 * the whole exchange, SDK included. The replacements below compute the same strings for the
 * version-2 numbers kinesalite writes (test/unit/kinesaliteSequences.test.ts holds them equal
 * to the originals) and hand anything else (older versions, non-decimal input, which the
 * original rejects with its own errors) to the original functions.
 */
interface SequenceParts {
  shardCreateTime: number;
  seqIx?: string | number;
  byte1?: string;
  seqTime?: number;
  shardIx?: number;
  version?: number | null;
}

interface KinesaliteDb {
  parseSequence(seq: string): SequenceParts;
  stringifySequence(parts: SequenceParts): string;
  incrementSequence(parts: SequenceParts | string, seqTime?: number): string;
  partitionKeyToHashKey(partitionKey: string): HashKeyComparable;
  shardIxToHex(shardIx: number | undefined): string;
}

/** All kinesalite's put actions ask of a partition key's hash key: how it compares with a shard's bounds. */
export interface HashKeyComparable {
  comparedTo(other: string | number): number;
}

const POW_2_124 = 1n << 124n;
const POW_2_124_NEXT = (1n << 125n) * 16n;
const POW_2_185 = 1n << 185n;
const POW_2_185_NEXT = 3n << 184n;
const DECIMAL = /^\d{1,80}$/;

let installed: KinesaliteDb | undefined;

/** The db module kinesalite's actions call through (they read `db.parseSequence` at each call). */
export function kinesaliteDb(): KinesaliteDb {
  return createRequire(import.meta.url)('kinesalite/db') as KinesaliteDb;
}

/** Replaces kinesalite's sequence functions with the BigInt ones, once per process. Returns the originals. */
export function installFastSequences(): KinesaliteDb {
  const db = kinesaliteDb();
  if (installed) return installed;
  const original: KinesaliteDb = { ...db };
  installed = original;
  db.parseSequence = (seq) => parseSequence(seq, original);
  db.stringifySequence = (parts) => stringifySequence(parts, original);
  db.incrementSequence = (parts, seqTime) => {
    const from = typeof parts === 'string' ? db.parseSequence(parts) : parts;
    return db.stringifySequence({ shardCreateTime: from.shardCreateTime, seqIx: from.seqIx, seqTime: seqTime || (from.seqTime as number) + 1000, shardIx: from.shardIx });
  };
  db.partitionKeyToHashKey = partitionKeyToHashKey;
  return original;
}

export function parseSequence(seq: string, original: Pick<KinesaliteDb, 'parseSequence'>): SequenceParts {
  if (typeof seq !== 'string' || !DECIMAL.test(seq)) return original.parseSequence(seq);
  let value = BigInt(seq);
  if (value < POW_2_124) value += POW_2_124;
  if (value < POW_2_124_NEXT || !(value > POW_2_185 && value < POW_2_185_NEXT)) return original.parseSequence(seq);
  const hex = value.toString(16);
  if (hex[hex.length - 1] !== '2') return original.parseSequence(seq);
  const seqIxHex = hex.slice(11, 27);
  let shardIxHex = hex.slice(38, 46);
  const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
  // The original's own errors, for the same inputs.
  if (parseInt(seqIxHex[0], 16) > 7 || shardCreateSecs >= 16025175000) return original.parseSequence(seq);
  if (parseInt(shardIxHex[0], 16) > 7) shardIxHex = `-${shardIxHex}`;
  return {
    shardCreateTime: shardCreateSecs * 1000,
    seqIx: BigInt(`0x${seqIxHex}`).toString(),
    byte1: hex.slice(27, 29),
    seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
    shardIx: parseInt(shardIxHex, 16),
    version: 2,
  };
}

export function stringifySequence(parts: SequenceParts, original: Pick<KinesaliteDb, 'stringifySequence' | 'shardIxToHex'>): string {
  if (!(parts.version == null || parts.version === 2)) return original.stringifySequence(parts);
  const seqIx = parts.seqIx || 0;
  if (!(Number.isSafeInteger(seqIx) && (seqIx as number) >= 0) && !(typeof seqIx === 'string' && DECIMAL.test(seqIx))) return original.stringifySequence(parts);
  const hex = [
    '2',
    `00000000${Math.floor(parts.shardCreateTime / 1000).toString(16)}`.slice(-9),
    (parts.shardIx || 0).toString(16).slice(-1),
    `0000000000000000${BigInt(seqIx).toString(16)}`.slice(-16),
    parts.byte1 || '00',
    `00000000${Math.floor((parts.seqTime || parts.shardCreateTime) / 1000).toString(16)}`.slice(-9),
    original.shardIxToHex(parts.shardIx),
    '2',
  ].join('');
  if (!/^[0-9a-f]+$/.test(hex)) return original.stringifySequence(parts);
  return BigInt(`0x${hex}`).toString();
}

/** The md5 of the partition key as a 128-bit integer, as kinesalite computes it, compared on BigInt. */
export function partitionKeyToHashKey(partitionKey: string): HashKeyComparable {
  return new HashKey(BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`));
}

/** Shard bounds are a handful of decimal strings, parsed once each. */
const bounds = new Map<string | number, bigint>();

class HashKey implements HashKeyComparable {
  constructor(private readonly value: bigint) {}

  comparedTo(other: string | number): number {
    let bound = bounds.get(other);
    if (bound === undefined) {
      bound = BigInt(other);
      if (bounds.size < 10_000) bounds.set(other, bound);
    }
    return this.value < bound ? -1 : this.value > bound ? 1 : 0;
  }
}
