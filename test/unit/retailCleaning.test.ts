import { describe, expect, it } from 'vitest';
import { parseIsoDay } from '../../models/time/calendar.ts';
import { cleanRetailRows, type RetailRow } from '../../models/evaluation/retailCleaning.ts';
import { ordersFromCleanLines } from '../../models/evaluation/customerEvaluation.ts';
import { OrderEventSchema } from '../../models/customer/orderEvent.ts';

let nextLine = 2;
function row(overrides: Partial<RetailRow>): RetailRow {
  return {
    line: nextLine++,
    invoice: '500000',
    stockCode: '85123A',
    description: 'WHITE HANGING HEART',
    quantity: 6,
    invoiceDate: '2010-03-01T10:00:00.000Z',
    price: 2.55,
    customerId: '13085',
    country: 'United Kingdom',
    ...overrides,
  };
}

const lineNumbers = (rows: RetailRow[]) => cleanRetailRows(rows).lines.map((line) => line.line);

describe('cleanRetailRows: product lines', () => {
  it('keeps codes of five digits and optional letters, after stripping spaces and upper-casing', () => {
    const kept = [row({ stockCode: '85123A' }), row({ stockCode: '21212' }), row({ stockCode: '85123a' }), row({ stockCode: ' 79323 w' })];
    const result = cleanRetailRows(kept);
    expect(result.lines.map((line) => line.productId)).toEqual(['85123A', '21212', '85123A', '79323W']);
  });

  it('drops every non-product code', () => {
    const codes = ['POST', 'DOT', 'M', 'C2', 'D', 'S', 'BANK CHARGES', 'AMAZONFEE', 'CRUK', 'B', 'ADJUST', 'PADS', 'TEST001', 'DCGS0058', 'GIFT_0001_10', '1234', '123456', '12345-A'];
    const result = cleanRetailRows(codes.map((stockCode) => row({ stockCode })));
    expect(result.lines).toEqual([]);
    expect(result.stats.nonProductRows).toBe(codes.length);
  });
});

describe('cleanRetailRows: quantity, price and duplicates', () => {
  it('drops write-offs (quantity <= 0) and free or negative-price lines', () => {
    const writeOff = row({ quantity: -10, customerId: null });
    const zero = row({ quantity: 0 });
    const free = row({ price: 0 });
    const badDebt = row({ invoice: 'A563185', price: -11062.06, customerId: null });
    const good = row({});
    expect(lineNumbers([writeOff, zero, free, badDebt, good])).toEqual([good.line]);
  });

  it('keeps exact duplicate rows, with and without a customer', () => {
    const a = row({});
    const b = { ...a, line: nextLine++ };
    const c = row({ customerId: null });
    const result = cleanRetailRows([a, b, c]);
    expect(result.lines).toHaveLength(3);
    expect(result.stats.linesWithCustomer).toBe(2);
    expect(result.stats.customers).toBe(1);
    expect(result.stats.products).toBe(1);
  });

  it('computes revenue and the calendar day as written', () => {
    const [line] = cleanRetailRows([row({ quantity: 4, price: 2.5, invoiceDate: '2010-03-01T23:59:00.000Z' })]).lines;
    expect(line.revenue).toBe(10);
    expect(line.day).toBe(parseIsoDay('2010-03-01'));
  });
});

describe('cleanRetailRows: cancellations', () => {
  it('drops every cancellation and the purchase line it exactly reverses', () => {
    const purchase = row({ invoice: '500001', quantity: 12, invoiceDate: '2010-03-01T10:00:00.000Z' });
    const other = row({ invoice: '500001', stockCode: '21212', quantity: 12, invoiceDate: '2010-03-01T10:00:00.000Z' });
    const cancel = row({ invoice: 'C500002', quantity: -12, invoiceDate: '2010-03-02T10:00:00.000Z' });
    const result = cleanRetailRows([purchase, other, cancel]);
    expect(result.lines.map((line) => line.line)).toEqual([other.line]);
    expect(result.matches).toEqual([{ cancellation: cancel.line, purchase: purchase.line }]);
    expect(result.stats.cancellationsMatched).toBe(1);
    expect(result.stats.cancellationLines).toBe(1);
  });

  it('matches the latest earlier purchase, with a timestamp equal to its own allowed', () => {
    const early = row({ invoice: '500001', invoiceDate: '2010-03-01T10:00:00.000Z' });
    const same = row({ invoice: '500002', invoiceDate: '2010-03-05T10:00:00.000Z' });
    const later = row({ invoice: '500003', invoiceDate: '2010-03-06T10:00:00.000Z' });
    const cancel = row({ invoice: 'C500004', quantity: -6, invoiceDate: '2010-03-05T10:00:00.000Z' });
    const result = cleanRetailRows([early, same, later, cancel]);
    expect(result.matches).toEqual([{ cancellation: cancel.line, purchase: same.line }]);
    expect(result.lines.map((line) => line.line)).toEqual([early.line, later.line]);
  });

  it('breaks ties between purchases at the same time by row order (the later row is the latest)', () => {
    const first = row({ invoice: '500001' });
    const second = row({ invoice: '500002' });
    const cancel = row({ invoice: 'C500003', quantity: -6, invoiceDate: '2010-03-02T10:00:00.000Z' });
    expect(cleanRetailRows([first, second, cancel]).matches).toEqual([{ cancellation: cancel.line, purchase: second.line }]);
  });

  it('leaves partial returns, other customers, later purchases, missing customers and free lines unmatched', () => {
    const purchase = row({ invoice: '500001', quantity: 12 });
    const free = row({ invoice: '500001', stockCode: '21212', quantity: 5, price: 0 });
    const cancellations = [
      row({ invoice: 'C500010', quantity: -6, invoiceDate: '2010-03-02T10:00:00.000Z' }),
      row({ invoice: 'C500011', quantity: -12, customerId: '99999', invoiceDate: '2010-03-02T10:00:00.000Z' }),
      row({ invoice: 'C500012', quantity: -12, invoiceDate: '2010-02-01T10:00:00.000Z' }),
      row({ invoice: 'C500013', quantity: -12, customerId: null, invoiceDate: '2010-03-02T10:00:00.000Z' }),
      row({ invoice: 'C500014', stockCode: '21212', quantity: -5, invoiceDate: '2010-03-02T10:00:00.000Z' }),
    ];
    const result = cleanRetailRows([purchase, free, ...cancellations]);
    expect(result.matches).toEqual([]);
    expect(result.lines.map((line) => line.line)).toEqual([purchase.line]);
  });

  it('uses a purchase line once', () => {
    const purchase = row({ invoice: '500001' });
    const first = row({ invoice: 'C500002', quantity: -6, invoiceDate: '2010-03-02T10:00:00.000Z' });
    const second = row({ invoice: 'C500003', quantity: -6, invoiceDate: '2010-03-03T10:00:00.000Z' });
    const result = cleanRetailRows([purchase, first, second]);
    expect(result.matches).toEqual([{ cancellation: first.line, purchase: purchase.line }]);
  });

  it('is greedy in cancellation time order, not file order', () => {
    // Purchases on the 1st and 2nd; a cancellation on the 5th comes first in the file, one on the
    // 3rd second. In time order the 3rd's cancellation goes first and takes the latest purchase
    // (the 2nd), leaving the 1st to the 5th's. File order would pair them the other way round.
    const p1 = row({ invoice: '500001', invoiceDate: '2010-03-01T10:00:00.000Z' });
    const p2 = row({ invoice: '500002', invoiceDate: '2010-03-02T10:00:00.000Z' });
    const c5 = row({ invoice: 'C500005', quantity: -6, invoiceDate: '2010-03-05T10:00:00.000Z' });
    const c3 = row({ invoice: 'C500003', quantity: -6, invoiceDate: '2010-03-03T10:00:00.000Z' });
    const result = cleanRetailRows([p1, p2, c5, c3]);
    expect(result.matches).toEqual([
      { cancellation: c3.line, purchase: p2.line },
      { cancellation: c5.line, purchase: p1.line },
    ]);
  });

  it('breaks ties between cancellations at the same time by row order', () => {
    const purchase = row({ invoice: '500001' });
    const a = row({ invoice: 'C500002', quantity: -6, invoiceDate: '2010-03-02T10:00:00.000Z' });
    const b = row({ invoice: 'C500003', quantity: -6, invoiceDate: '2010-03-02T10:00:00.000Z' });
    expect(cleanRetailRows([purchase, a, b]).matches).toEqual([{ cancellation: a.line, purchase: purchase.line }]);
  });

  it('matches on the normalised StockCode', () => {
    const purchase = row({ invoice: '500001', stockCode: '85123a' });
    const cancel = row({ invoice: 'C500002', stockCode: '85123A', quantity: -6, invoiceDate: '2010-03-02T10:00:00.000Z' });
    expect(cleanRetailRows([purchase, cancel]).lines).toEqual([]);
  });
});

describe('ordersFromCleanLines: the retail protocol’s orders', () => {
  it('carries each invoice’s country onto its order, and none when the rows have none', () => {
    const lines = cleanRetailRows([
      row({ invoice: '600001', customerId: '12346', country: ' Germany ' }),
      row({ invoice: '600001', customerId: '12346', stockCode: '21212', country: 'Germany' }),
      row({ invoice: '600002', customerId: '12347', country: '' }),
      row({ invoice: '600003', customerId: null, country: 'France' }),
    ]).lines;
    const orders = ordersFromCleanLines(lines);
    expect(orders.map((order) => [order.orderId, order.customerId, order.country, order.lines.length])).toEqual([
      ['600001', '12346', 'Germany', 2],
      ['600002', '12347', undefined, 1],
    ]);
    expect('country' in orders[1]).toBe(false);
    for (const order of orders) expect(OrderEventSchema.safeParse(order).data).toEqual(order);
  });
});
