import type { Producer } from 'kafkajs';
import { ALERT_SOURCE } from '../../models/customer/alertEvent.ts';
import type { DeadLetter, DeadLetterSink } from './deadLetterSink.ts';

/**
 * Dead letters as messages on a Kafka topic: the original bytes as the value (so the message can
 * be fixed and produced again as it was; for a refused alert, the alert's JSON), the original key, and why and where from in headers
 * (`dead-letter-reason`, `-source`, `-position`, `-at`, and `-error-code` for a refused alert).
 * A send that fails throws: the consumer then fails those records, which are delivered again.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  constructor(private readonly config: { producer: Producer; topic: string }) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.config.producer.send({
      topic: this.config.topic,
      acks: -1,
      messages: letters.map((letter) => ({
        key: letter.partitionKey ?? null,
        // A record's data is its base64 payload; a refused alert's is the alert as JSON.
        value: Buffer.from(letter.data, letter.source === ALERT_SOURCE ? 'utf8' : 'base64'),
        headers: headersOf(letter),
      })),
    });
  }
}

function headersOf(letter: DeadLetter): Record<string, string> {
  const headers: Record<string, string> = {
    'dead-letter-reason': letter.reason,
    'dead-letter-source': letter.source,
    'dead-letter-position': letter.position,
    'dead-letter-at': letter.deadLetteredAt,
  };
  if (letter.errorCode !== undefined) headers['dead-letter-error-code'] = letter.errorCode;
  return headers;
}
