import { describe, expect, it } from 'vitest';
import { LiveModel, type LiveModelMetric } from '../../aws/liveModel.ts';
import { publishModel } from '../../aws/modelPublication.ts';
import { type ModelPointer, ModelNotFound, type ModelStore, type PointerRead, sha256Of } from '../../aws/modelStore.ts';
import { btydArtifact } from '../../models/clv/btydModel.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';

/**
 * The refresh policy of a hot-loaded model, on a fake clock and an in-memory store that can be
 * taken down: cold start, pick-up within the interval, refusals, outages.
 */

const INTERVAL = 300_000;

function artifact(r: number) {
  return btydArtifact({
    horizonDays: 90,
    calibrationEnd: '2010-09-01',
    trainedOn: { customers: 100, events: 400 },
    bgnbd: { r, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -9582.4 },
    gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44, logLikelihood: -4055.9 },
  });
}

const BUNDLED = artifact(0.5);
const V1 = artifact(0.243);
const V2 = artifact(0.3);

/** Objects in a map; `down` makes every call fail as a network error would; `reads` counts artifact GETs. */
class MemoryStore implements ModelStore {
  readonly uri = 'memory://models';
  readonly objects = new Map<string, string>();
  down = false;
  reads = 0;
  pointerReads = 0;

  private guard() {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  }
  async readPointer(knownTag?: string): Promise<PointerRead> {
    this.guard();
    this.pointerReads++;
    const text = this.objects.get('current.json');
    if (text === undefined) return { status: 'missing' };
    const tag = sha256Of(text);
    return tag === knownTag ? { status: 'unchanged' } : { status: 'found', tag, text };
  }
  async writePointer(pointer: ModelPointer) {
    this.guard();
    this.objects.set('current.json', JSON.stringify(pointer));
  }
  async readArtifact(version: string) {
    this.guard();
    this.reads++;
    const text = this.objects.get(`${version}.json`);
    if (text === undefined) throw new ModelNotFound(version);
    return text;
  }
  async writeArtifact(version: string, text: string) {
    this.guard();
    this.objects.set(`${version}.json`, text);
  }
  async listVersions() {
    return [...this.objects.keys()].filter((k) => k !== 'current.json').map((k) => k.slice(0, -5));
  }
}

function harness(store = new MemoryStore()) {
  let now = 1_000_000;
  const metrics: LiveModelMetric[] = [];
  const logs: { level: string; message: string }[] = [];
  const log = {
    info: (message: string) => logs.push({ level: 'info', message }),
    warn: (message: string) => logs.push({ level: 'warn', message }),
    error: (message: string) => logs.push({ level: 'error', message }),
  };
  const open = () =>
    LiveModel.open({ store, load: loadModel, fallback: async () => loadModel(BUNDLED), intervalMs: INTERVAL, now: () => now, log, count: (m) => metrics.push(m) });
  return { store, metrics, logs, open, advance: (ms: number) => (now += ms) };
}

const publish = (store: ModelStore, a: ReturnType<typeof artifact>) => publishModel(store, a.version, JSON.stringify(a));

describe('LiveModel refresh policy', () => {
  it('starts on the store\'s current model and picks up a newer one at the first look after the interval, not before', async () => {
    const h = harness();
    await publish(h.store, V1);
    const live = await h.open();
    expect(live.version).toBe(V1.version);
    expect(live.source).toBe('store');
    await publish(h.store, V2);
    h.advance(INTERVAL - 1);
    expect(await live.refresh()).toEqual({ status: 'not-due' });
    expect(live.version).toBe(V1.version);
    h.advance(1);
    expect(await live.refresh()).toEqual({ status: 'loaded', version: V2.version, previous: V1.version });
    expect(live.version).toBe(V2.version);
    expect(live.score({ x: 2, tx: 10, T: 20, repeatMeanSpend: 30 } as never).churnProbability).toBe(loadModel(V2).score({ x: 2, tx: 10, T: 20, repeatMeanSpend: 30 } as never).churnProbability);
    expect(h.metrics.filter((m) => m === 'ModelsLoaded')).toHaveLength(2);
  });

  it('an unchanged pointer costs one pointer read per interval and no artifact read', async () => {
    const h = harness();
    await publish(h.store, V1);
    const live = await h.open();
    const reads = h.store.reads;
    const pointerReads = h.store.pointerReads;
    for (let i = 0; i < 5; i++) {
      h.advance(INTERVAL);
      expect(await live.refresh()).toEqual({ status: 'unchanged' });
    }
    expect(h.store.reads).toBe(reads);
    expect(h.store.pointerReads - pointerReads).toBe(5);
  });

  it.each([
    ['bytes corrupted in place (truncated JSON)', (s: MemoryStore) => s.objects.set(`${V2.version}.json`, '{"kind":"btyd", trunc'), 'checksum-mismatch'],
    ['a checksum mismatch', (s: MemoryStore) => s.objects.set(`${V2.version}.json`, JSON.stringify({ ...V2, horizonDays: 91 })), 'checksum-mismatch'],
    ['an artifact its validation refuses', (s: MemoryStore) => republish(s, V2.version, JSON.stringify({ ...V2, horizonDays: 91 })), 'incompatible'],
    ['unparseable bytes under a matching checksum', (s: MemoryStore) => republish(s, V2.version, '{"kind":"btyd", trunc'), 'bad-json'],
    ['a pointer that names a missing artifact', (s: MemoryStore) => republish(s, 'btyd-000000000000', JSON.stringify(V2), false), 'missing-artifact'],
    ['a pointer that is not a pointer', (s: MemoryStore) => s.objects.set('current.json', '{"version":"../../etc/passwd"}'), 'bad-pointer'],
  ])('refuses %s, keeps serving, logs and counts it once, and does not fetch it again until the pointer moves', async (_, corrupt, reason) => {
    const h = harness();
    await publish(h.store, V1);
    const live = await h.open();
    await publish(h.store, V2);
    corrupt(h.store);
    h.advance(INTERVAL);
    expect(await live.refresh()).toMatchObject({ status: 'refused', reason });
    expect(live.version).toBe(V1.version);
    expect(h.metrics.filter((m) => m === 'ModelsRefused')).toHaveLength(1);
    expect(h.logs.filter((l) => l.level === 'error')[0].message).toMatch(new RegExp(`refused \\(${reason}\\).*keeping the model that serves`));
    const reads = h.store.reads;
    h.advance(INTERVAL);
    expect(await live.refresh()).toEqual({ status: 'unchanged' });
    expect(h.store.reads).toBe(reads);
    // A good publish moves the pointer: taken at the next look.
    await publish(h.store, V2);
    h.advance(INTERVAL);
    expect(await live.refresh()).toMatchObject({ status: 'loaded', version: V2.version });
  });

  it('store down at cold start: the bundled model serves, and the store is tried again one interval later', async () => {
    const h = harness();
    await publish(h.store, V1);
    h.store.down = true;
    const live = await h.open();
    expect(live.version).toBe(BUNDLED.version);
    expect(live.source).toBe('bundled');
    expect(h.metrics).toEqual(['ModelStoreUnreachable', 'ModelFallbackServed']);
    h.store.down = false;
    h.advance(INTERVAL - 1);
    expect(await live.refresh()).toEqual({ status: 'not-due' });
    h.advance(1);
    expect(await live.refresh()).toMatchObject({ status: 'loaded', version: V1.version, previous: BUNDLED.version });
  });

  it('nothing published yet: the bundled model serves without an error', async () => {
    const h = harness();
    const live = await h.open();
    expect(live.version).toBe(BUNDLED.version);
    expect(h.logs.some((l) => l.level === 'error')).toBe(false);
  });

  it('store down later: keeps serving, looks again each interval (not on every call), picks up once it is back', async () => {
    const h = harness();
    await publish(h.store, V1);
    const live = await h.open();
    await publish(h.store, V2);
    h.store.down = true;
    h.advance(INTERVAL);
    expect(await live.refresh()).toMatchObject({ status: 'unreachable' });
    for (let i = 0; i < 10; i++) expect(await live.refresh()).toEqual({ status: 'not-due' });
    expect(live.version).toBe(V1.version);
    h.advance(INTERVAL);
    expect(await live.refresh()).toMatchObject({ status: 'unreachable' });
    expect(h.metrics.filter((m) => m === 'ModelStoreUnreachable')).toHaveLength(2);
    h.store.down = false;
    h.advance(INTERVAL);
    expect(await live.refresh()).toMatchObject({ status: 'loaded', version: V2.version });
  });

  it('concurrent callers share one look at the store', async () => {
    const h = harness();
    await publish(h.store, V1);
    const live = await h.open();
    await publish(h.store, V2);
    h.advance(INTERVAL);
    const before = h.store.pointerReads;
    const outcomes = await Promise.all([live.refresh(), live.refresh(), live.refresh()]);
    expect(outcomes.map((o) => o.status)).toEqual(['loaded', 'loaded', 'loaded']);
    expect(h.store.pointerReads - before).toBe(1);
  });
});

/** Points the pointer at `version` with the checksum of `text`, writing `text` as that version unless told not to. */
function republish(store: MemoryStore, version: string, text: string, write = true): void {
  if (write) store.objects.set(`${version}.json`, text);
  const pointer: ModelPointer = { formatVersion: 1, version, sha256: sha256Of(text), bytes: text.length, publishedAt: new Date(0).toISOString(), previous: null, reason: 'published' };
  store.objects.set('current.json', JSON.stringify(pointer));
}
