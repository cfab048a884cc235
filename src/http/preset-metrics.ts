import type { Metric, Registry } from 'prom-client';

/**
 * Metrics whose series are all created when the app is wired (each route, each error code), so
 * that an alert has a series at 0 to watch before anything happened. The request path keeps the
 * series it was handed and adds to plain numbers on it: prom-client's own labelled `observe` and
 * `inc` hash their label object on every call, which is an allocation per request.
 */
type Labels<L extends string> = Readonly<Record<L, string>>;

interface ExportedValue {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

abstract class PresetMetric<L extends string, S extends { readonly labels: Labels<L> }> {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, S>();

  protected constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly L[],
    registry: Registry,
  ) {
    // prom-client's registry reads any object with a name and get(); its types name only its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series with these labels, at 0 when first asked for: ask once, keep it, add to it. */
  seriesFor(labels: Labels<L>): S {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let found = this.series.get(key);
    if (found === undefined) {
      found = this.create(labels);
      this.series.set(key, found);
    }
    return found;
  }

  get() {
    const values = [...this.series.values()].flatMap((series) => this.exported(series));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.series.values()) this.clear(series);
  }

  protected abstract create(labels: Labels<L>): S;
  protected abstract exported(series: S): ExportedValue[];
  protected abstract clear(series: S): void;
}

export class CounterSeries<L extends string = string> {
  count = 0;
  constructor(readonly labels: Labels<L>) {}
}

export class PresetCounter<L extends string> extends PresetMetric<L, CounterSeries<L>> {
  constructor(registry: Registry, name: string, labelNames: readonly L[], help: string) {
    super(name, help, 'counter', labelNames, registry);
  }

  protected create(labels: Labels<L>) {
    return new CounterSeries(labels);
  }

  protected exported(series: CounterSeries<L>): ExportedValue[] {
    return [{ metricName: this.name, labels: { ...series.labels }, value: series.count }];
  }

  protected clear(series: CounterSeries<L>): void {
    series.count = 0;
  }
}

/** Counts per bucket as observations fall, not cumulative: cumulated only when scraped. */
export class HistogramSeries<L extends string = string> {
  readonly inBucket: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels<L>, private readonly bounds: readonly number[]) {
    this.inBucket = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]!) bucket += 1;
    if (bucket < bounds.length) this.inBucket[bucket]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

export class PresetHistogram<L extends string> extends PresetMetric<L, HistogramSeries<L>> {
  private readonly bounds: readonly number[];

  constructor(registry: Registry, name: string, labelNames: readonly L[], buckets: readonly number[], help: string) {
    super(name, help, 'histogram', labelNames, registry);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  protected create(labels: Labels<L>) {
    return new HistogramSeries(labels, this.bounds);
  }

  protected exported(series: HistogramSeries<L>): ExportedValue[] {
    const bucketName = `${this.name}_bucket`;
    let cumulative = 0;
    const buckets = this.bounds.map((bound, i) => {
      cumulative += series.inBucket[i]!;
      return { metricName: bucketName, labels: { ...series.labels, le: String(bound) }, value: cumulative };
    });
    return [
      ...buckets,
      { metricName: bucketName, labels: { ...series.labels, le: '+Inf' }, value: series.count },
      { metricName: `${this.name}_sum`, labels: { ...series.labels }, value: series.sum },
      { metricName: `${this.name}_count`, labels: { ...series.labels }, value: series.count },
    ];
  }

  protected clear(series: HistogramSeries<L>): void {
    series.inBucket.fill(0);
    series.sum = 0;
    series.count = 0;
  }
}
