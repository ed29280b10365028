/**
 * The Prometheus text exposition format (version 0.0.4), written by hand.
 *
 * Why not prom-client: most series here are snapshots taken at scrape time
 * (counters the writer thread reports in its heartbeat, counts from a query),
 * which its push-style counters model only by resetting and re-adding; and
 * the format is this small. Only the ingest histogram is kept in-process.
 */

/** Label names to values; values are escaped when written. */
export type Labels = Readonly<Record<string, string>>;

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Collects metric families and writes them as one exposition. */
export class MetricsText {
  private readonly lines: string[] = [];

  /** A counter: one sample per label set. */
  counter(name: string, help: string, samples: readonly (readonly [Labels, number])[]): this {
    return this.family(name, "counter", help, samples);
  }

  gauge(name: string, help: string, samples: readonly (readonly [Labels, number])[]): this {
    return this.family(name, "gauge", help, samples);
  }

  histogram(name: string, help: string, series: readonly (readonly [Labels, Histogram])[]): this {
    this.header(name, "histogram", help);
    for (const [labels, histogram] of series) {
      const { bounds, counts, sum, count } = histogram.snapshot();
      let cumulative = 0;
      bounds.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        this.sample(`${name}_bucket`, { ...labels, le: formatNumber(bound) }, cumulative);
      });
      this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, count);
      this.sample(`${name}_sum`, labels, sum);
      this.sample(`${name}_count`, labels, count);
    }
    return this;
  }

  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }

  private family(
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: readonly (readonly [Labels, number])[],
  ): this {
    this.header(name, type, help);
    for (const [labels, value] of samples) this.sample(name, labels, value);
    return this;
  }

  private header(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    this.lines.push(`# TYPE ${name} ${type}`);
  }

  private sample(name: string, labels: Labels, value: number): void {
    const pairs = Object.entries(labels).map(([key, text]) => `${key}="${escapeLabel(text)}"`);
    const labelText = pairs.length > 0 ? `{${pairs.join(",")}}` : "";
    this.lines.push(`${name}${labelText} ${formatNumber(value)}`);
  }
}

/** A histogram with fixed upper bounds (the `le` of each bucket). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bucket = this.bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
  }

  /** Per-bucket (not cumulative) counts, the sum and the count. */
  snapshot() {
    return { bounds: this.bounds, counts: [...this.counts], sum: this.sum, count: this.count };
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
