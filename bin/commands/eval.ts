/** `demand-insights eval [protocol]`: each protocol lives in its own module. */
export async function run(options: Record<string, unknown>, protocol?: string): Promise<void> {
  switch (protocol) {
    case 'forecast':
      return (await import('./evalForecast.ts')).run(options);
    case 'elasticity':
      return (await import('./evalElasticity.ts')).run(options);
    case 'alerts':
      return (await import('./evalAlerts.ts')).run(options);
    case 'cdnow':
    case undefined:
      return (await import('./evalCustomers.ts')).run(options, protocol);
    default:
      throw new Error(`unknown protocol "${protocol}": expected cdnow, alerts, forecast or elasticity`);
  }
}
