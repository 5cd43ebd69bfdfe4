import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderEventSchema } from '../../models/customer/orderEvent.ts';
import { readOnlineRetail, readOnlineRetailRows, SKIP_REASONS } from '../../producers/datasets/onlineRetail.ts';
import { ONLINE_RETAIL_II } from '../support/sharedData.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'online-retail-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, lines: string[], gzip = false): Promise<string> {
  const path = join(dir, name);
  const text = lines.join('\n') + '\n';
  await writeFile(path, gzip ? gzipSync(text) : text);
  return path;
}

// Line numbers in comments: the header is line 1.
const RETAIL_II = [
  'Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country', // 1
  '489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom', // 2
  '489434, 79323w ,"WHITE CHERRY LIGHTS, ""BIG""",12,2009-12-01 07:46:00,6.75,13085,United Kingdom', // 3
  '489434,22041,FREE SAMPLE,1,2009-12-01 07:45:00,0,13085,United Kingdom', // 4
  'C489449,22087,PAPER BUNTING WHITE LACE,-12,2009-12-01 10:33:00,2.95,16321,Australia', // 5
  'C489449,85206A,CREAM FELTCRAFT HEART,-6,2009-12-01 10:33:00,1.65,16321,Australia', // 6
  '489436,21523,NO CUSTOMER,10,2009-12-01 09:06:00,5.95,,United Kingdom', // 7
  '489437,POST,POSTAGE,3,2009-12-01 09:08:00,18.00,12533,Germany', // 8
  '489437,BANK CHARGES,Bank Charges,1,2009-12-01 09:08:00,15.00,12533,Germany', // 9
  '489437,gift_0001_40,Dotcomgiftshop Gift Voucher,1,2009-12-01 09:08:00,34.04,12533,Germany', // 10
  '489438,21524,WRITE OFF,-5,2009-12-01 09:24:00,0,12533,Germany', // 11
  '489438,21525,ZERO QUANTITY,0,2009-12-01 09:24:00,1,12533,Germany', // 12
  'A506401,21526,ADJUST BAD DEBT,1,2010-04-29 13:36:00,-53594.36,12533,United Kingdom', // 13
  '489439,21527,TOO FEW FIELDS,1,2009-12-01 09:30:00,1.00,12533', // 14
  '489439,21528,BAD QUANTITY,twelve,2009-12-01 09:30:00,1.00,12533,Germany', // 15
  '489439,21529,BAD PRICE,1,2009-12-01 09:30:00,"1,5",12533,Germany', // 16
  '489439,21530,BAD DATE,1,2009-12-01 25:30:00,1.00,12533,Germany', // 17
  '489439,21531,NO SUCH DAY,1,2010-02-30 09:30:00,1.00,12533,Germany', // 18
  '489439,21532,BAD CUSTOMER,1,2009-12-01 09:30:00,1.00,C12533,Germany', // 19
  '489440,21533,"MULTI', // 20: no retail field spans lines, so this is a broken quote
  'LINE DESCRIPTION",2,2009-12-01 09:40:00,3.00,12533,Germany', // 21
  '', // 22: blank lines are not rows
  '489441,21534,AFTER THE BREAK,1.5,2009-12-01 09:41:00,3.00,12533,Germany', // 23
  '489442,21535,LAST ROW,4,2009-12-01 09:42:00,2.00,12533,Germany', // 24
];

describe('readOnlineRetailRows', () => {
  it('types every readable row and keeps skipped-by-rule rows for protocols that clean themselves', async () => {
    const { rows, report } = await readOnlineRetailRows(await fixture('rows.csv', RETAIL_II));
    expect(report.rows).toBe(22);
    expect(rows.map((row) => row.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 24]);
    expect(rows[0]).toEqual({
      line: 2,
      invoice: '489434',
      stockCode: '85048',
      description: '15CM CHRISTMAS GLASS BALL 20 LIGHTS',
      quantity: 12,
      invoiceDate: '2009-12-01T07:45:00.000Z',
      price: 6.95,
      customerId: '13085',
      country: 'United Kingdom',
    });
    expect(rows[1]).toMatchObject({ stockCode: '79323W', description: 'WHITE CHERRY LIGHTS, "BIG"', customerId: '13085' });
    expect(rows[3]).toMatchObject({ invoice: 'C489449', quantity: -12 });
    expect(rows[5].customerId).toBeNull();
    expect(rows[7].stockCode).toBe('BANKCHARGES');
    expect(rows[8].stockCode).toBe('GIFT_0001_40');
    expect(rows[11]).toMatchObject({ invoice: 'A506401', price: -53594.36 });
    expect(rows[12]).toMatchObject({ line: 24, description: 'LAST ROW', quantity: 4 });
  });

  it('reports each unreadable row with its line number and reason', async () => {
    const { report } = await readOnlineRetailRows(await fixture('bad.csv', RETAIL_II));
    expect(report.unreadableCount).toBe(9);
    expect(report.issues.map((issue) => issue.line)).toEqual([14, 15, 16, 17, 18, 19, 20, 21, 23]);
    const reasons = Object.fromEntries(report.issues.map((issue) => [issue.line, issue.reason]));
    expect(reasons[14]).toBe('expected 8 fields, got 7');
    expect(reasons[15]).toMatch(/^Quantity is not an integer: "twelve"/);
    expect(reasons[16]).toMatch(/^Price is not a number: "1,5"/);
    expect(reasons[17]).toMatch(/^InvoiceDate is not/);
    expect(reasons[18]).toMatch(/^InvoiceDate is not.*2010-02-30/);
    expect(reasons[19]).toMatch(/^Customer ID is not an integer: "C12533"/);
    expect(reasons[20]).toBe('a quoted field runs over lines 20-21 (unbalanced quote)');
    expect(reasons[21]).toBe(reasons[20]);
    expect(reasons[23]).toMatch(/^Quantity is not an integer: "1.5"/);
  });
});

describe('readOnlineRetail', () => {
  it('groups rows into one event per invoice and counts every skipped row by reason', async () => {
    const { events, report } = await readOnlineRetail(await fixture('events.csv', RETAIL_II));
    expect(events).toEqual([
      {
        type: 'order',
        orderId: '489434',
        customerId: '13085',
        occurredAt: '2009-12-01T07:45:00.000Z',
        lines: [
          { productId: '85048', quantity: 12, unitPrice: 6.95 },
          { productId: '79323W', quantity: 12, unitPrice: 6.75 },
          { productId: '22041', quantity: 1, unitPrice: 0 },
        ],
        country: 'United Kingdom',
      },
      {
        type: 'return',
        orderId: 'C489449',
        customerId: '16321',
        occurredAt: '2009-12-01T10:33:00.000Z',
        lines: [
          { productId: '22087', quantity: 12, unitPrice: 2.95 },
          { productId: '85206A', quantity: 6, unitPrice: 1.65 },
        ],
        country: 'Australia',
      },
      {
        type: 'order',
        orderId: '489442',
        customerId: '12533',
        occurredAt: '2009-12-01T09:42:00.000Z',
        lines: [{ productId: '21535', quantity: 4, unitPrice: 2 }],
        country: 'Germany',
      },
    ]);
    expect(report.events).toBe(3);
    expect(report.skipped).toEqual({
      [SKIP_REASONS.noCustomer]: 1,
      [SKIP_REASONS.nonProduct]: 3,
      [SKIP_REASONS.writeOff]: 2,
      [SKIP_REASONS.badDebt]: 1,
    });
    expect(report.unreadableCount).toBe(9);
    // Nothing is lost: every data row is an event line, skipped by a rule, or reported unreadable.
    const lines = events.reduce((sum, event) => sum + event.lines.length, 0);
    const skipped = Object.values(report.skipped).reduce((sum, count) => sum + count, 0);
    expect(lines + skipped + report.unreadableCount).toBe(report.rows);
    for (const event of events) expect(OrderEventSchema.safeParse(event).success).toBe(true);
  });

  it('reads the original UCI spelling, any column order, M/D/YYYY dates and gzip detected by content', async () => {
    const path = await fixture(
      'original.csv', // gzip behind a .csv name: detection is by magic bytes
      [
        'InvoiceNo,Description,StockCode,CustomerID,InvoiceDate,UnitPrice,Quantity,Country',
        '536365,WHITE HANGING HEART,85123a,17850,12/1/2010 8:26,2.55,6,United Kingdom',
        '536365,WHITE METAL LANTERN,71053,17850,12/1/2010 8:26,3.39,6,United Kingdom',
        'C536379,Discount,D,14527,12/1/2010 9:41,27.5,-1,United Kingdom',
        'C536383,SET OF 3 CAKE TINS,35004C,15311,12/1/2010 9:49,4.65,-1,United Kingdom',
        '581587,CHILDRENS APRON,23254,12680,12/9/2011 12:50,4.15,4,France',
        '581588,BAD DATE,23254,12680,13/9/2011 12:50,4.15,4,France',
      ],
      true,
    );
    const { events, report } = await readOnlineRetail(path);
    expect(events.map((event) => [event.type, event.orderId, event.customerId, event.occurredAt])).toEqual([
      ['order', '536365', '17850', '2010-12-01T08:26:00.000Z'],
      ['return', 'C536383', '15311', '2010-12-01T09:49:00.000Z'],
      ['order', '581587', '12680', '2011-12-09T12:50:00.000Z'],
    ]);
    expect(events[0].lines[0]).toEqual({ productId: '85123A', quantity: 6, unitPrice: 2.55 });
    expect(report.skipped).toEqual({ [SKIP_REASONS.nonProduct]: 1 });
    expect(report.issues).toEqual([{ line: 7, reason: expect.stringMatching(/^InvoiceDate is not.*13\/9\/2011/) }]);
  });

  it('carries each invoice’s country, trimmed, and none when the row has none', async () => {
    const row = (invoice: string, customer: string, country: string) => `${invoice},85048,ITEM,1,2010-03-01 10:00:00,1.25,${customer},${country}`;
    const path = await fixture('countries.csv', [
      RETAIL_II[0],
      row('1', '12346', '  EIRE '),
      row('2', '12347', ''),
      row('3', '12348', '   '),
      row('4', '12349', 'X'.repeat(65)),
      row('C5', '12346', 'EIRE'),
    ]);
    const { events, report } = await readOnlineRetail(path);
    expect(events.map((event) => [event.orderId, event.country])).toEqual([
      ['1', 'EIRE'],
      ['2', undefined],
      ['3', undefined],
      ['4', undefined],
      ['C5', 'EIRE'],
    ]);
    expect(events.filter((event) => 'country' in event).map((event) => event.orderId)).toEqual(['1', 'C5']);
    expect(report.events).toBe(5);
    expect(report.issues).toEqual([]);
  });

  it('reads a gzipped Online Retail II file the same as the plain one', async () => {
    const plain = await readOnlineRetail(await fixture('plain.csv', RETAIL_II));
    const gzipped = await readOnlineRetail(await fixture('packed.csv.gz', RETAIL_II, true));
    expect(gzipped.events).toEqual(plain.events);
    expect(gzipped.report.toJSON()).toEqual(plain.report.toJSON());
  });

  it('refuses a file that is not Online Retail, naming the missing columns', async () => {
    const path = await fixture('other.csv', ['Invoice,StockCode,Quantity,Price,Country', '1,2,3,4,5']);
    await expect(readOnlineRetail(path)).rejects.toThrow(/header lacks description, invoicedate, customerid/);
    await expect(readOnlineRetail(await fixture('empty.csv', []))).rejects.toThrow(/empty file/);
  });

  it('splits an invoice longer than an event may be, and rejects every row of an invoice that cannot be an event', async () => {
    const row = (invoice: string, code: number) => `${invoice},${code},ITEM,1,2010-03-01 10:00:00,1.25,12346,France`;
    const path = await fixture('long.csv', [
      RETAIL_II[0],
      ...Array.from({ length: 2001 }, (_, at) => row('500000', 10000 + at)), // lines 2..2002
      row('9'.repeat(129), 20001), // 2003: an order id longer than the schema allows
      row('9'.repeat(129), 20002), // 2004
    ]);
    const { events, report } = await readOnlineRetail(path);
    expect(events.map((event) => [event.orderId, event.lines.length])).toEqual([
      ['500000', 1000],
      ['500000/2', 1000],
      ['500000/3', 1],
    ]);
    expect(events.flatMap((event) => event.lines).map((line) => line.productId)).toEqual(
      Array.from({ length: 2001 }, (_, at) => String(10000 + at)),
    );
    expect(report.events).toBe(3);
    expect(report.issues.map((issue) => issue.line)).toEqual([2003, 2004]);
    expect(report.issues[0].reason).toMatch(/^invoice 9+ is not a valid OrderEvent: orderId: /);
  });

  it('reports every line an unbalanced quote swallows, and reads on after it', async () => {
    const row = (invoice: string, description: string) =>
      `${invoice},85048,${description},12,2009-12-01 07:45:00,6.95,13085,United Kingdom`;
    const path = await fixture('quotes.csv', [
      RETAIL_II[0],
      row('1', 'GOOD'), // 2
      row('2', '"NEVER CLOSED'), // 3
      row('3', 'SWALLOWED'), // 4
      row('4', '"CLOSES THE QUOTE OF LINE 3"'), // 5
      row('5', 'RECORD FRAME 7" SINGLE'), // 6: a stray quote inside a field is text
      row('6', '"LAST ONE NEVER CLOSED'), // 7
      row('7', 'SWALLOWED TO THE END'), // 8
    ]);
    const { events, report } = await readOnlineRetail(path);
    expect(events.map((event) => event.orderId)).toEqual(['1', '5']);
    expect(report.rows).toBe(7);
    expect(report.issues.map((issue) => issue.line)).toEqual([3, 4, 5, 7, 8]);
    expect(report.issues[0].reason).toBe('a quoted field runs over lines 3-5 (unbalanced quote)');
    expect(report.issues[3].reason).toMatch(/^malformed CSV: Quote Not Closed/);
    const { rows } = await readOnlineRetailRows(path);
    expect(rows[1].description).toBe('RECORD FRAME 7" SINGLE');
  });
});

const SHARED = ONLINE_RETAIL_II;

describe.skipIf(!existsSync(SHARED))('the shared Online Retail II 2009-2010 file', () => {
  it('reads every row into schema-valid events with the expected counts', async () => {
    const { events, report } = await readOnlineRetail(SHARED);
    expect(report.rows).toBe(502_938);
    expect(report.unreadable).toEqual({});
    expect(report.skipped).toEqual({ [SKIP_REASONS.noCustomer]: 100_207, [SKIP_REASONS.nonProduct]: 1_752 });
    expect(report.events).toBe(22_091);
    expect(events.filter((event) => event.type === 'return')).toHaveLength(3_899);
    expect(new Set(events.map((event) => event.customerId)).size).toBeGreaterThan(4_000);
    expect(events.every((event) => OrderEventSchema.safeParse(event).success)).toBe(true);
    expect(events.every((event) => typeof event.country === 'string')).toBe(true);
  }, 60_000);
});
