import { API, getJson, type ProductsResponse } from './apiClient.ts';
import { isLakeBuilding } from './lakeReadiness.ts';
import { customerPanel } from './customerPanel.ts';
import { demandPanel } from './demandPanel.ts';
import { pricePanel } from './pricePanel.ts';
import { riskPanel } from './riskPanel.ts';
import { segmentsPanel } from './segmentsPanel.ts';

/** What the page reports about itself (the e2e test reads it): when every panel first settled. */
declare global {
  interface Window {
    dashboard?: { firstRenderMs?: number };
  }
}

function start(): void {
  window.dashboard = {};
  // Asked once; asked again after the lake was not built yet (that failure goes to the panels, which wait).
  let catalog: Promise<ProductsResponse | null> | undefined;
  const products = () =>
    (catalog ??= getJson<ProductsResponse>(`${API}/products`, { limit: 50 }).catch((error: unknown) => {
      if (!isLakeBuilding(error)) return null;
      catalog = undefined;
      throw error;
    }));
  const customer = customerPanel();
  const segments = segmentsPanel();
  const risk = riskPanel((customerId) => {
    void customer.show(customerId);
    document.getElementById('customer')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  });
  // Open the customer with the most at stake, so the panel shows a real customer from the start.
  const firstCustomer = risk.ready.then((answer) => {
    const input = document.getElementById('customer-id') as HTMLInputElement;
    const top = answer?.customers[0]?.customer_id;
    if (top && !input.value) return customer.show(top);
  });
  const demand = demandPanel(products);
  const price = pricePanel(products);
  void Promise.allSettled([segments.ready, risk.ready, firstCustomer, demand.ready, price.ready]).then(() => {
    // Rendering happened in the microtasks before; the next frame is the first paint of every panel.
    requestAnimationFrame(() => {
      window.dashboard!.firstRenderMs = Math.round(performance.now());
      document.body.dataset.rendered = 'true';
    });
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
