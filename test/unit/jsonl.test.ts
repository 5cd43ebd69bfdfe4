import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readJsonl } from '../../producers/datasets/jsonl.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsonl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const order: OrderEvent = {
  type: 'order',
  orderId: 'o-1',
  customerId: 'c-1',
  occurredAt: '2024-01-02T10:00:00.000Z',
  currency: 'EUR',
  lines: [{ productId: 'P0001', categoryId: 'C01', quantity: 2, unitPrice: 9.5 }],
};
const refund: OrderEvent = { ...order, type: 'return', orderId: 'o-1-R', occurredAt: '2024-01-05T10:00:00+02:00' };

const LINES = [
  JSON.stringify(order), // 1
  '', // 2: blank lines are not rows
  '{"type":"order", "orderId": ', // 3: broken JSON
  JSON.stringify({ ...order, lines: [] }), // 4: no lines
  JSON.stringify({ ...order, occurredAt: '02/01/2024' }), // 5: not ISO
  JSON.stringify({ ...order, lines: [{ productId: 'P1', quantity: 0, unitPrice: 1 }] }), // 6: zero quantity
  '[1, 2]', // 7: not an object
  `  ${JSON.stringify(refund)}  `, // 8
];

async function write(name: string, text: string, gzip = false): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, gzip ? gzipSync(text) : text);
  return path;
}

describe('readJsonl', () => {
  it('reads valid events and reports each bad line with its number and the reason', async () => {
    const { events, report } = await readJsonl(await write('events.jsonl', LINES.join('\n')));
    expect(events).toEqual([order, refund]);
    expect(report.rows).toBe(7);
    expect(report.events).toBe(2);
    expect(report.issues.map((issue) => issue.line)).toEqual([3, 4, 5, 6, 7]);
    const reasons = report.issues.map((issue) => issue.reason);
    expect(reasons[0]).toMatch(/^invalid JSON: /);
    expect(reasons[1]).toMatch(/^not an OrderEvent: lines: /);
    expect(reasons[2]).toMatch(/^not an OrderEvent: occurredAt: /);
    expect(reasons[3]).toMatch(/^not an OrderEvent: lines\.0\.quantity: /);
    expect(reasons[4]).toMatch(/^not an OrderEvent: \(root\): /);
    expect(report.unreadableCount).toBe(5);
  });

  it('reads gzip (detected by content, not name), CRLF line ends and a byte-order mark', async () => {
    const text = '\uFEFF' + LINES.join('\r\n') + '\r\n';
    const plain = await readJsonl(await write('events.jsonl', LINES.join('\n')));
    const packed = await readJsonl(await write('packed.jsonl', text, true));
    expect(packed.events).toEqual(plain.events);
    expect(packed.report.toJSON()).toEqual(plain.report.toJSON());
  });

  it('reads an empty file as no events and fails clearly on a missing one', async () => {
    const { events, report } = await readJsonl(await write('empty.jsonl', ''));
    expect(events).toEqual([]);
    expect(report.rows).toBe(0);
    await expect(readJsonl(join(dir, 'missing.jsonl'))).rejects.toThrow(/ENOENT.*missing\.jsonl/);
  });
});
