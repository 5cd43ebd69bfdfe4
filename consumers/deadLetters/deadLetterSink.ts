/**
 * A record that can never be processed, set aside with the reason, never blocking its shard; or
 * an alert the event bus refused for good, set aside so it stops occupying its customer's outbox.
 */
export interface DeadLetter {
  reason: string;
  /** Shard or partition, and the sequence number or offset of the record; for an alert, ALERT_SOURCE and its event id. */
  source: string;
  position: string;
  /** The record's partition key; for an alert, its customer id. */
  partitionKey?: string;
  /** The record's data exactly as received (base64 for Kinesis and Kafka); for an alert, the alert as JSON. */
  data: string;
  /** For an alert, the bus's error code for it (EventBridge's ErrorCode), so it can be told from a poison record. */
  errorCode?: string;
  deadLetteredAt: string;
}

/** Dead-letter destinations: SQS in AWS, a JSONL file locally, memory in tests and benchmarks. */
export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}
