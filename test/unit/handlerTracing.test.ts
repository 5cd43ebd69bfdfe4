import { Tracer } from '@aws-lambda-powertools/tracer';
import { describe, expect, it } from 'vitest';
import { type HandlerTracer, tracedHandler } from '../../aws/handlerTracing.ts';

/** A tracer that records what tracedHandler asks of it, with segments that record their own lifecycle. */
function recordingTracer(enabled = true) {
  const log: string[] = [];
  const segment = (name: string) => ({
    name,
    addNewSubsegment(child: string) {
      log.push(`open ${child} under ${name}`);
      return segment(child);
    },
    close() {
      log.push(`close ${name}`);
    },
  });
  let current: ReturnType<typeof segment> | undefined = segment('facade');
  const tracer = {
    isTracingEnabled: () => enabled,
    getSegment: () => current,
    setSegment: (s: ReturnType<typeof segment>) => {
      current = s;
      log.push(`active ${s.name}`);
    },
    annotateColdStart: () => log.push(`cold start on ${current?.name}`),
    addServiceNameAnnotation: () => log.push(`service on ${current?.name}`),
    addErrorAsMetadata: (error: Error) => log.push(`error ${error.message} on ${current?.name}`),
  };
  return { tracer: tracer as unknown as HandlerTracer, log };
}

describe('tracedHandler', () => {
  it('runs the handler in its own subsegment, annotated, and makes the facade active again', async () => {
    const { tracer, log } = recordingTracer();
    const handler = tracedHandler(tracer, 'api', async (a: number, b: number) => {
      log.push('handler');
      return a + b;
    });
    expect(await handler(2, 3)).toBe(5);
    expect(log).toEqual(['open ## api under facade', 'active ## api', 'cold start on ## api', 'service on ## api', 'handler', 'close ## api', 'active facade']);
  });

  it('records the error on the subsegment, rethrows it, and still closes the subsegment', async () => {
    const { tracer, log } = recordingTracer();
    const handler = tracedHandler(tracer, 'sweep', async () => {
      throw new Error('table throttled');
    });
    await expect(handler()).rejects.toThrow('table throttled');
    expect(log.slice(-3)).toEqual(['error table throttled on ## sweep', 'close ## sweep', 'active facade']);
  });

  it('is the bare handler when tracing is off (outside Lambda: a real Tracer disables itself)', async () => {
    const real = new Tracer({ serviceName: 'test' });
    expect(real.isTracingEnabled()).toBe(false);
    const handler = tracedHandler(real, 'consumer', async (event: { records: number }) => ({ batchItemFailures: [], seen: event.records }));
    expect(await handler({ records: 3 })).toEqual({ batchItemFailures: [], seen: 3 });
    await expect(tracedHandler(real, 'consumer', async () => Promise.reject(new Error('boom')))()).rejects.toThrow('boom');
    const { tracer, log } = recordingTracer(false);
    await tracedHandler(tracer, 'api', async () => 1)();
    expect(log).toEqual([]);
  });
});
