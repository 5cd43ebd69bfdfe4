/** A record that can never be processed, set aside with the reason, never blocking its shard. */
export interface DeadLetter {
  reason: string;
  /** Shard or partition, and the sequence number or offset of the record. */
  source: string;
  position: string;
  partitionKey?: string;
  /** The record's data exactly as received (base64 for Kinesis and Kafka). */
  data: string;
  deadLetteredAt: string;
}

/** Dead-letter destinations: SQS in AWS, a JSONL file locally, memory in tests and benchmarks. */
export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}
