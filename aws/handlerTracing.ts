import type { Tracer } from '@aws-lambda-powertools/tracer';

/** What tracedHandler uses of Powertools' Tracer (a Tracer satisfies it as it is). */
export type HandlerTracer = Pick<Tracer, 'isTracingEnabled' | 'getSegment' | 'setSegment' | 'annotateColdStart' | 'addServiceNameAnnotation' | 'addErrorAsMetadata'>;

/**
 * A Lambda handler inside an X-Ray subsegment of its own (`## <name>`), annotated with the cold
 * start and the service, its error recorded; the AWS SDK calls the handler makes appear under it
 * because the Tracer captures outgoing HTTPS requests. The response is deliberately not recorded
 * as metadata: it holds customer scores, and X-Ray is not where they should be kept. Outside
 * Lambda (tests, the local stack) the Tracer is disabled and the handler runs as it is.
 */
export function tracedHandler<A extends unknown[], R>(tracer: HandlerTracer, name: string, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    if (!tracer.isTracingEnabled()) return handler(...args);
    const parent = tracer.getSegment();
    const subsegment = parent?.addNewSubsegment(`## ${name}`);
    if (subsegment) tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(...args);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment?.close();
      if (parent) tracer.setSegment(parent);
    }
  };
}
