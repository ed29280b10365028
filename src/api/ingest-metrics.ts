/**
 * Metrics of the webhook endpoint, taken from the delivery-log record that
 * the ingest route writes for every request (status, outcome, latency): the
 * route itself is not touched, its `IngestWriter` is wrapped.
 */
import type { DeliveryRecord, IngestWriter } from "../store/types.ts";
import { Histogram, type Labels } from "./prometheus-text.ts";

/** Upper bounds of the latency buckets, in seconds. */
const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Requests and latencies of the webhook endpoint since start. */
export interface IngestMetrics {
  /** `[{outcome, status}, requests]`. */
  requests(): [Labels, number][];
  /** `[{outcome}, latency histogram]`. */
  latencies(): [Labels, Histogram][];
  observe(record: DeliveryRecord): void;
}

export function createIngestMetrics(): IngestMetrics {
  const requests = new Map<string, { labels: Labels; count: number }>();
  const latencies = new Map<string, Histogram>();

  return {
    observe(record) {
      const key = `${record.outcome} ${record.status}`;
      const entry = requests.get(key);
      if (entry) entry.count++;
      else {
        requests.set(key, {
          labels: { outcome: record.outcome, status: String(record.status) },
          count: 1,
        });
      }

      let histogram = latencies.get(record.outcome);
      if (!histogram) {
        histogram = new Histogram(LATENCY_BUCKETS_SECONDS);
        latencies.set(record.outcome, histogram);
      }
      histogram.observe(record.latencyMs / 1000);
    },
    requests: () => [...requests.values()].map(({ labels, count }) => [labels, count]),
    latencies: () => [...latencies].map(([outcome, histogram]) => [{ outcome }, histogram]),
  };
}

/** `ingest`, with every delivery-log record also counted in `metrics`. */
export function observeIngest(ingest: IngestWriter, metrics: IngestMetrics): IngestWriter {
  return {
    get stats() {
      return ingest.stats;
    },
    submit: (event) => ingest.submit(event),
    recordDelivery(record) {
      metrics.observe(record);
      ingest.recordDelivery(record);
    },
    drain: () => ingest.drain(),
    close: () => ingest.close(),
  };
}
