/**
 * The server's Prometheus metrics, written in the text exposition format (version 0.0.4)
 * without a client library: counters and histograms keyed by a few bounded labels.
 */

/** Latency buckets in seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

class Counter {
  readonly #values = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Record<string, string> = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  get(labels: Record<string, string> = {}): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#values.values()) lines.push(`${this.name}${labelText(labels)} ${formatNumber(value)}`);
    return lines;
  }
}

class Histogram {
  readonly #series = new Map<string, { labels: Record<string, string>; counts: Float64Array; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Record<string, string>, value: number): void {
    const key = labelText(labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(le) })} ${counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${formatNumber(sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

function gauge(name: string, help: string, samples: [Record<string, string>, number][]): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map(([labels, v]) => `${name}${labelText(labels)} ${formatNumber(v)}`)];
}

export class ServerMetrics {
  readonly requests = new Counter('quarry_http_requests_total', 'HTTP requests answered, by route, method and status ("aborted": the client left first).');
  readonly latency = new Histogram('quarry_http_request_duration_seconds', 'Time from request arrival to the end of the response, by route.', LATENCY_BUCKETS);
  readonly queries = new Counter('quarry_search_queries_total', 'Queries searched, by pipeline (a batch counts each of its queries).');
  readonly searchLatency = new Histogram('quarry_search_duration_seconds', 'Time spent in pipeline search (queue wait excluded), by pipeline.', LATENCY_BUCKETS);
  readonly rejected = new Counter('quarry_http_rejected_total', 'Requests refused by the concurrency limit, the deadline or the work budget, by reason.');
  inFlight = 0;
  readonly #started = Date.now();

  constructor(private readonly state: () => { searching: number; waiting: number; pipelines: { name: string; docs: number }[] }) {}

  render(): string {
    const { searching, waiting, pipelines } = this.state();
    const mem = process.memoryUsage();
    const lines = [
      ...this.requests.render(),
      ...this.latency.render(),
      ...gauge('quarry_http_requests_in_flight', 'Requests received and not yet answered (this scrape included).', [[{}, this.inFlight]]),
      ...this.queries.render(),
      ...this.searchLatency.render(),
      ...this.rejected.render(),
      ...gauge('quarry_search_active', 'Searches running now.', [[{}, searching]]),
      ...gauge('quarry_search_queued', 'Searches waiting for a slot now.', [[{}, waiting]]),
      ...gauge(
        'quarry_pipeline_documents',
        'Documents served by each pipeline.',
        pipelines.map((p) => [{ pipeline: p.name }, p.docs]),
      ),
      ...gauge('process_resident_memory_bytes', 'Resident memory of the server process.', [[{}, mem.rss]]),
      ...gauge('nodejs_heap_used_bytes', 'V8 heap in use.', [[{}, mem.heapUsed]]),
      ...gauge('quarry_uptime_seconds', 'Seconds since the server started.', [[{}, (Date.now() - this.#started) / 1000]]),
    ];
    return `${lines.join('\n')}\n`;
  }
}
