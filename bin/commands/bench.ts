/** `demand-insights bench <which>`: each benchmark lives in bench/. */
export async function run(options: Record<string, unknown>, which: string): Promise<void> {
  switch (which) {
    case 'consumer':
      return (await import('../../bench/consumerBench.ts')).run(options);
    case 'score':
      return (await import('../../bench/scoreBench.ts')).run(options);
    case 'train':
      return (await import('../../bench/trainBench.ts')).run(options);
    case 'api':
      return (await import('../../bench/apiBench.ts')).run(options);
    case 'kafka':
      return (await import('../../bench/kafkaBench.ts')).run(options);
    case 'local':
      return (await import('../../bench/localBench.ts')).run(options);
    case 'dynamo':
      return (await import('../../bench/dynamoBench.ts')).run(options);
    default:
      throw new Error(`unknown benchmark "${which}": expected consumer, kafka, score, train, api, dynamo or local`);
  }
}
