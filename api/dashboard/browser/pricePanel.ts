import * as Plot from '@observablehq/plot';
import { API, ApiFailure, describeFailure, type PriceOptimizationResponse, postJson, type ProductsResponse } from './apiClient.ts';
import { waitForLake } from './lakeReadiness.ts';
import { decimal1, figure, LatestOnly, money, Panel } from './panel.ts';

const CURVE_POINTS = 80;
/** Unit cost offered before the user gives one: a share of the mean price. */
const DEFAULT_COST_SHARE = 0.6;

/** The demand curve implied by the elasticity (with its confidence band) and the profit curve over the allowed band, optimum marked. */
export function pricePanel(products: () => Promise<ProductsResponse | null>): { ready: Promise<void> } {
  const panel = new Panel('price');
  const select = document.getElementById('price-product') as HTMLSelectElement;
  const cost = document.getElementById('price-cost') as HTMLInputElement;
  const latest = new LatestOnly();
  let catalog: ProductsResponse | null = null;

  const product = () => catalog?.products.find((row) => row.product_id === select.value);
  const load = () => {
    const chosen = product();
    if (!chosen) return Promise.resolve(panel.set('empty', 'No product with priced sales in the lake: nothing to price.'));
    const unitCost = Number(cost.value);
    if (!Number.isFinite(unitCost) || unitCost < 0) return Promise.resolve(panel.set('error', 'The unit cost must be a number of at least 0.'));
    const request = { product_id: chosen.product_id, current_price: round2(chosen.mean_price), current_quantity: round2(chosen.weekly_units), cost_per_unit: unitCost };
    panel.set('loading', `Estimating the price response of product ${chosen.product_id}…`);
    return latest.run(
      () => postJson<PriceOptimizationResponse>(`${API}/price-optimization`, request),
      (answer) => show(panel, answer, request.cost_per_unit, catalog?.as_of ?? null),
      (error) =>
        error instanceof ApiFailure && error.status === 422
          ? panel.set('empty', `Product ${chosen.product_id}: ${error.message}. Pick another product.`)
          : waitForLake(panel, error, 'prices are', () => void load()) || panel.set('error', describeFailure(error, `the price response of product ${chosen.product_id}`)),
    );
  };
  const pickDefaultCost = () => {
    const chosen = product();
    if (chosen) cost.value = String(round2(chosen.mean_price * DEFAULT_COST_SHARE));
  };
  select.addEventListener('change', () => {
    pickDefaultCost();
    void load();
  });
  panel.part<HTMLFormElement>('form').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  const start = (): Promise<void> =>
    products().then(
      (answer) => {
        catalog = answer;
        if (!catalog || catalog.products.length === 0) return panel.set('empty', 'No product with priced sales in the lake: nothing to price.');
        for (const row of catalog.products) select.add(new Option(`Product ${row.product_id} (mean ${money(row.mean_price)})`, row.product_id));
        pickDefaultCost();
        return load();
      },
      // The catalog waits for the lake (the local stack's replay), and so do prices.
      (error: unknown) => void waitForLake(panel, error, 'prices are', () => void start()),
    );
  return { ready: start() };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

function show(panel: Panel, answer: PriceOptimizationResponse, unitCost: number, asOf: string | null): void {
  const b = answer.elasticity.coefficient;
  const [low, high] = answer.elasticity.ci;
  panel.root.dataset.product = answer.product_id;
  panel.meta(`Sales to ${asOf ?? 'unknown'} · model log-log OLS elasticity, ${answer.elasticity.observations} product-weeks, r² ${answer.elasticity.r_squared.toFixed(2)}`);
  panel.part('figures').replaceChildren(
    figure('Elasticity', 'elasticity', b, (v) => v.toFixed(2)),
    figure('Current price', 'current_price', answer.current.price, money),
    figure('Optimal price', 'optimal_price', answer.optimal.price, money),
    figure('Profit change', 'profit_change', answer.profit_change, money),
  );
  // The API's constant-elasticity curve through the current point: q(p) = q0 · (p / p0)^b, band from the CI of b.
  const { price: p0, quantity: q0 } = answer.current;
  const { min_price: pMin, max_price: pMax } = answer.band;
  const curve = Array.from({ length: CURVE_POINTS }, (_, i) => {
    const price = pMin + ((pMax - pMin) * i) / (CURVE_POINTS - 1);
    const at = (e: number) => q0 * (price / p0) ** e;
    const quantity = at(b);
    return { price, quantity, low: Math.min(at(low), at(high)), high: Math.max(at(low), at(high)), profit: (price - unitCost) * quantity };
  });
  const width = Math.max(240, Math.floor(panel.part('chart').clientWidth || 300));
  panel.part('chart').replaceChildren(
    Plot.plot({
      width,
      height: 220,
      marginLeft: 50,
      x: { label: 'Price →' },
      y: { label: '↑ Units per week', grid: true },
      marks: [
        Plot.areaY(curve, { x: 'price', y1: 'low', y2: 'high', fill: '#9ec5fe', fillOpacity: 0.6 }),
        Plot.lineY(curve, { x: 'price', y: 'quantity', stroke: '#0550ae', strokeWidth: 2 }),
        Plot.dot([answer.current], { x: 'price', y: 'quantity', fill: '#57606a', r: 4, title: () => 'current price' }),
      ],
    }),
  );
  panel.part('chart2').replaceChildren(
    Plot.plot({
      width: Math.max(240, Math.floor(panel.part('chart2').clientWidth || 300)),
      height: 220,
      marginLeft: 56,
      marginTop: 24,
      x: { label: 'Price →' },
      y: { label: '↑ Profit per week', grid: true },
      marks: [
        Plot.ruleY([0]),
        Plot.lineY(curve, { x: 'price', y: 'profit', stroke: '#15803d', strokeWidth: 2 }),
        Plot.ruleX([answer.optimal.price], { stroke: '#c2410c', strokeDasharray: '4 3' }),
        Plot.dot([answer.optimal], { x: 'price', y: 'profit', fill: '#c2410c', r: 5, title: () => 'optimal price' }),
        Plot.text([answer.optimal], { x: 'price', y: 'profit', text: (d: { price: number }) => `optimal ${money(d.price)}`, dy: 14, dx: 6, textAnchor: 'start' }),
      ],
    }),
  );
  panel.set('ready', `${answer.explanation} (${answer.regime}, ${answer.position}; elasticity 95% CI ${decimal1(low)} to ${decimal1(high)}).`);
}
