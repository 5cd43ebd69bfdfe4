import { parseIsoDay } from '../../models/time/calendar.ts';
import { hasAggregates, type ProductSales } from '../lake/lakeQueries.ts';
import type { ProductsRequest, ProductsResponse } from '../schemas.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { STORE_KEY, type ServiceContext } from './serviceContext.ts';

interface Catalog {
  asOf: string | null;
  spanWeeks: number;
  /** Products with priced sales. */
  total: number;
  /** By units, highest first; ties by id (at least the API's largest limit of them). */
  products: ProductSales[];
  categories: ProductsResponse['categories'];
}

/** GET products: the best sellers with their mean price and weekly units, and every category (the dashboard's pickers and price defaults). */
export class ProductCatalogService {
  private readonly cache: RefreshingCache<string, Catalog>;

  constructor(private readonly context: ServiceContext) {
    this.cache = context.lakeCache(1, 'product catalog');
  }

  async products(request: ProductsRequest): Promise<ProductsResponse> {
    const catalog = await this.catalog();
    return {
      as_of: catalog.asOf,
      total: catalog.total,
      products: catalog.products.slice(0, request.limit).map((product) => ({
        product_id: product.productId,
        category_id: product.categoryId,
        units: product.units,
        revenue: product.revenue,
        mean_price: product.units > 0 ? product.revenue / product.units : 0,
        weekly_units: product.units / catalog.spanWeeks,
      })),
      categories: catalog.categories,
    };
  }

  private catalog(): Promise<Catalog> {
    return this.cache.get(STORE_KEY, async () => {
      const lake = this.context.lake;
      if (hasAggregates(lake)) {
        // The best sellers and the categories, aggregated by the lake: two bounded results.
        const [range, top, categories] = await Promise.all([this.context.dateRange(), lake.topProducts(), lake.productCategories()]);
        const spanWeeks = range ? Math.max(1, (parseIsoDay(range.last) - parseIsoDay(range.first) + 1) / 7) : 1;
        return {
          asOf: range?.last ?? null,
          spanWeeks,
          total: top.total,
          products: top.products,
          categories: categories.map((row) => ({ category_id: row.categoryId, products: row.products, units: row.units })),
        };
      }
      const [range, sales] = await Promise.all([this.context.dateRange(), this.context.lake.productSales()]);
      const spanWeeks = range ? Math.max(1, (parseIsoDay(range.last) - parseIsoDay(range.first) + 1) / 7) : 1;
      const products = [...sales].sort((a, b) => b.units - a.units || (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
      const byCategory = new Map<string, { category_id: string; products: number; units: number }>();
      for (const product of products) {
        if (product.categoryId === null) continue;
        const row = byCategory.get(product.categoryId) ?? { category_id: product.categoryId, products: 0, units: 0 };
        row.products++;
        row.units += product.units;
        byCategory.set(product.categoryId, row);
      }
      const categories = [...byCategory.values()].sort((a, b) => b.units - a.units || (a.category_id < b.category_id ? -1 : 1));
      return { asOf: range?.last ?? null, spanWeeks, total: products.length, products, categories };
    });
  }
}
