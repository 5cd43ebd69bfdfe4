import { atRiskCustomersRoute } from './atRiskCustomers.ts';
import { churnRoute } from './churn.ts';
import { clvRoute } from './clv.ts';
import { customerOrdersRoute } from './customerOrders.ts';
import { forecastRoute } from './forecast.ts';
import { priceElasticityRoute } from './priceElasticity.ts';
import { priceOptimizationRoute } from './priceOptimization.ts';
import { productsRoute } from './products.ts';
import type { Route } from './route.ts';
import { segmentMembersRoute } from './segmentMembers.ts';
import { segmentsRoute } from './segments.ts';

export type { Route } from './route.ts';

/** The seven endpoints of the old API, paths and parameters unchanged, then the three the dashboard adds. */
export const ROUTES: readonly Route[] = [
  segmentsRoute,
  forecastRoute,
  priceElasticityRoute,
  priceOptimizationRoute,
  clvRoute,
  churnRoute,
  atRiskCustomersRoute,
  segmentMembersRoute,
  customerOrdersRoute,
  productsRoute,
];

export const OPENAPI_PATH = '/demand-insights/openapi.json';
