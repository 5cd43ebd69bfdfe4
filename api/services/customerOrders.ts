import { parseEventTime } from '../../models/time/eventTime.ts';
import { NotFoundError } from '../errors.ts';
import type { LakeOrderTotal, LakeOrderTotals, LakeQueries } from '../lake/lakeQueries.ts';
import type { CustomerOrdersRequest, CustomerOrdersResponse } from '../schemas.ts';
import type { ServiceContext } from './serviceContext.ts';

/** GET customer-orders: one customer's orders and returns from the lake, oldest first (the dashboard's time line). */
export class CustomerOrdersService {
  constructor(private readonly context: ServiceContext) {}

  async customerOrders(request: CustomerOrdersRequest): Promise<CustomerOrdersResponse> {
    const id = request.customer_id;
    const [range, totals] = await Promise.all([this.context.dateRange(), orderTotalsOf(this.context.lake, id)]);
    if (!range || totals.length === 0) throw new NotFoundError('customer', [id], `unknown customer: ${JSON.stringify(id)}`);
    const orders = totals
      .map((total) => ({
        order_id: total.orderId,
        type: total.type,
        occurred_at: new Date(parseEventTime(total.occurredAt)).toISOString(),
        value: total.cents / 100,
        units: total.units,
      }))
      .sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || (a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : 0));
    return { customer_id: id, as_of: range.last, orders };
  }
}

/** Order totals from the lake's order-level query when it has one, else summed from its lines. */
async function orderTotalsOf(lake: LakeQueries & Partial<LakeOrderTotals>, customerId: string): Promise<LakeOrderTotal[]> {
  if (lake.customerOrderTotals) return lake.customerOrderTotals([customerId]);
  const totals = new Map<string, LakeOrderTotal>();
  for (const line of await lake.customerOrderLines([customerId])) {
    const key = `${line.type}\u0000${line.orderId}\u0000${line.occurredAt}`;
    const total = totals.get(key) ?? { orderId: line.orderId, customerId, type: line.type, occurredAt: line.occurredAt, cents: 0, units: 0, country: line.country };
    total.cents += Math.round(line.quantity * line.unitPrice * 100);
    total.units += line.quantity;
    totals.set(key, total);
  }
  return [...totals.values()];
}
