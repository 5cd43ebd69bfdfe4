import * as Plot from '@observablehq/plot';
import { API, ApiFailure, type ChurnResponse, type ClvResponse, type CustomerOrdersResponse, describeFailure, getJson, postJson } from './apiClient.ts';
import { isLakeBuilding } from './lakeReadiness.ts';
import { dateTime, decimal1, figure, LatestOnly, money, Panel, percent } from './panel.ts';

type Found<T> = Extract<T, { found: true }>;
type ClvRow = Found<ClvResponse['customers'][number]>;
type ChurnRow = Found<ChurnResponse['customers'][number]>;

/** One customer: purchase history on a time line, churn probability, CLV and the purchases expected over the horizon. */
export function customerPanel(): { show(customerId: string): Promise<void> } {
  const panel = new Panel('customer');
  const input = document.getElementById('customer-id') as HTMLInputElement;
  const latest = new LatestOnly();

  const show = (customerId: string) => {
    const id = customerId.trim();
    input.value = id;
    if (!id) {
      panel.set('empty', 'Search a customer id, or pick one in the risk table.');
      return Promise.resolve();
    }
    // The previous customer's as-of line must not stay under another customer's answer.
    panel.meta('');
    panel.set('loading', `Loading customer ${id}…`);
    return latest.run(
      () => loadCustomer(id),
      (customer) => render(panel, id, customer),
      (error) =>
        panel.set(error instanceof ApiFailure && error.status === 404 ? 'empty' : 'error', error instanceof ApiFailure && error.status === 404 ? `No customer ${JSON.stringify(id)} in the lake or the scorer's state.` : describeFailure(error, `customer ${id}`)),
    );
  };
  panel.part<HTMLFormElement>('form').addEventListener('submit', (event) => {
    event.preventDefault();
    void show(input.value);
  });
  return { show };
}

interface Customer {
  clv: ClvRow;
  churn: ChurnRow;
  horizonDays: number;
  /** null when the lake has no orders of this customer (the stream has seen it, the lake not yet); 'building' while the replay builds the lake. */
  orders: CustomerOrdersResponse | null | 'building';
}

async function loadCustomer(id: string): Promise<Customer> {
  const [clv, churn, orders] = await Promise.all([
    postJson<ClvResponse>(`${API}/clv`, { customer_ids: [id] }),
    postJson<ChurnResponse>(`${API}/churn`, { customer_ids: [id] }),
    getJson<CustomerOrdersResponse>(`${API}/customer-orders`, { customer_id: id }).catch((error: unknown) => {
      if (error instanceof ApiFailure && error.status === 404) return null;
      if (isLakeBuilding(error)) return 'building' as const;
      throw error;
    }),
  ]);
  const clvRow = clv.customers[0];
  const churnRow = churn.customers[0];
  if (!clvRow?.found || !churnRow?.found) throw new ApiFailure(404, 'not_found', `unknown customer ${id}`);
  return { clv: clvRow, churn: churnRow, horizonDays: clv.horizon_days, orders };
}

function render(panel: Panel, id: string, customer: Customer): void {
  const { clv, churn, horizonDays, orders } = customer;
  panel.root.dataset.customer = id;
  panel.meta(`Scored as of ${dateTime(clv.as_of)} from the ${clv.source === 'stream' ? "scorer's live state" : 'lake'} · model ${clv.model_version}${orders && orders !== 'building' ? ` · orders to ${orders.as_of}` : ''}`);
  panel.part('figures').replaceChildren(
    figure('Churn probability', 'churn_probability', churn.churn_probability, percent),
    figure(`CLV (${horizonDays} days)`, 'clv', clv.clv, money),
    figure(`Expected purchases (${horizonDays} days)`, 'expected_purchases', clv.expected_purchases, (v) => v.toFixed(2)),
    figure('Purchase days', 'frequency', churn.frequency, decimal1),
    figure('Total spend', 'total_spend', clv.total_spend, money),
  );
  if (orders === 'building') {
    panel.part('chart').replaceChildren();
    panel.set('ready', `Customer ${id}: scored from the live state; the purchase history is available when the replay ends (the lake is being built).`);
    return;
  }
  if (!orders || orders.orders.length === 0) {
    panel.part('chart').replaceChildren();
    panel.set('ready', `Customer ${id}: scored, but the lake has no orders of it yet (the stream saw them first).`);
    return;
  }
  const points = orders.orders.map((order) => ({ ...order, time: new Date(order.occurred_at) }));
  const asOf = new Date(clv.as_of);
  const horizonEnd = new Date(asOf.getTime() + horizonDays * 86_400_000);
  const top = Math.max(1, ...points.map((point) => Math.abs(point.value)));
  panel.part('chart').replaceChildren(
    Plot.plot({
      width: panel.chartWidth(),
      height: 220,
      marginLeft: 56,
      x: { type: 'utc', label: 'Order time', domain: [points[0].time, horizonEnd] },
      y: { label: '↑ Order value', grid: true },
      color: { legend: true, domain: ['order', 'return'], range: ['#0550ae', '#c2410c'] },
      marks: [
        Plot.rectX([{ from: asOf, to: horizonEnd }], { x1: 'from', x2: 'to', y1: 0, y2: top, fill: '#0550ae', fillOpacity: 0.08 }),
        Plot.text([{ at: horizonEnd }], { x: 'at', y: top, text: () => `${clv.expected_purchases.toFixed(1)} purchases expected`, textAnchor: 'end', dx: -4, dy: 8 }),
        Plot.ruleY([0]),
        Plot.ruleX(points, { x: 'time', y1: 0, y2: 'value', stroke: 'type' }),
        Plot.dot(points, { x: 'time', y: 'value', fill: 'type', r: 3, title: (d: (typeof points)[number]) => `${d.order_id} · ${d.occurred_at.slice(0, 10)} · ${money(d.value)}` }),
      ],
    }),
  );
  panel.set('ready', `Customer ${id}: ${orders.orders.length} orders and returns; the shaded span is the ${horizonDays}-day horizon of the scores.`);
}
