/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels. Enough for /metrics without a dependency.
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  // Called on every observation (several per turn): no sort, regexes or array for the usual cases.
  if (keys.length === 0) return "";
  if (keys.length === 1) return `${keys[0]!}="${escapeLabel(labels[keys[0]!]!)}"`;
  return keys
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k]!)}"`)
    .join(",");
}

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

class Counter {
  readonly values = new Map<string, number>();
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  constructor(name: string, help: string, type: "counter" | "gauge") {
    this.name = name;
    this.help = help;
    this.type = type;
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly name: string;
  readonly help: string;
  readonly buckets: number[];
  constructor(name: string, help: string, buckets: number[]) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
  }
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const prefix = k ? `${k},` : "";
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${prefix}le="${b}"} ${s.counts[i]}`));
      lines.push(
        `${this.name}_bucket{${prefix}le="+Inf"} ${s.count}`,
        `${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`,
        `${this.name}_count${k ? `{${k}}` : ""} ${s.count}`,
      );
    }
    return lines.join("\n");
  }
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class GatewayMetrics {
  readonly turns = new Counter("pincer_turns_total", "Agent turns finished, by outcome.", "counter");
  readonly turnSeconds = new Histogram(
    "pincer_turn_duration_seconds",
    "Time from run start to reply.",
    LATENCY_BUCKETS,
  );
  readonly resets = new Counter("pincer_session_resets_total", "New session ids minted, by reason.", "counter");
  readonly compactions = new Counter("pincer_compactions_total", "Compactions, by trigger and result.", "counter");
  readonly prunedChars = new Counter(
    "pincer_pruned_chars_total",
    "Characters of old tool results pruned from model requests.",
    "counter",
  );
  readonly memoryFlushes = new Counter(
    "pincer_memory_flushes_total",
    "Silent pre-compaction memory flush turns.",
    "counter",
  );
  readonly queueDepth = new Counter("pincer_queue_depth", "Messages waiting in session queues.", "gauge");
  readonly leaseWaits = new Counter(
    "pincer_store_lease_waits_total",
    "Times a store write waited for another writer's lease.",
    "counter",
  );
  readonly storeSeconds = new Histogram(
    "pincer_store_operation_seconds",
    "Session store operation latency, by operation.",
    LATENCY_BUCKETS,
  );
  readonly securityEvents = new Counter(
    "pincer_security_events_total",
    "Security events (isolation guard refusals), by event.",
    "counter",
  );
  readonly httpRequests = new Counter("pincer_http_requests_total", "HTTP requests, by route and status.", "counter");
  readonly wsErrors = new Counter(
    "pincer_ws_errors_total",
    "WebSocket connections closed for a protocol error or a socket failure, by reason.",
    "counter",
  );
  readonly modelTokens = new Counter(
    "pincer_model_tokens_total",
    "Tokens of model calls, by agent, provider, model, kind (turn, memoryFlush, compaction) and type (input, output, cacheRead, cacheWrite).",
    "counter",
  );
  readonly modelCost = new Counter(
    "pincer_model_cost_usd_total",
    "Estimated cost of model calls (USD, from models.providers.*.models[].cost), by agent, provider, model and kind (turn, memoryFlush, compaction).",
    "counter",
  );
  readonly wsAuthTimeouts = new Counter(
    "pincer_ws_auth_timeouts_total",
    "WebSockets closed because they did not authenticate in time.",
    "counter",
  );
  readonly channelInbound = new Counter(
    "pincer_channel_inbound_total",
    "Channel messages, by channel, account and outcome (received, refused, pending, duplicate, skipped).",
    "counter",
  );
  readonly channelRefused = new Counter(
    "pincer_channel_refused_total",
    "Channel messages refused by the access gate, by channel and reason (dmPolicy, groupPolicy, pairing, ...).",
    "counter",
  );
  readonly channelDelivery = new Counter(
    "pincer_channel_delivery_total",
    "Outbound chunks, by channel, account and result (sent, retried, failed).",
    "counter",
  );
  readonly channelDeliverySeconds = new Histogram(
    "pincer_channel_delivery_seconds",
    "Time from enqueue to the platform's acknowledgement of a chunk.",
    LATENCY_BUCKETS,
  );

  render(): string {
    return (
      [
        this.turns,
        this.turnSeconds,
        this.resets,
        this.compactions,
        this.prunedChars,
        this.memoryFlushes,
        this.queueDepth,
        this.leaseWaits,
        this.storeSeconds,
        this.securityEvents,
        this.httpRequests,
        this.wsErrors,
        this.wsAuthTimeouts,
        this.channelInbound,
        this.channelRefused,
        this.channelDelivery,
        this.channelDeliverySeconds,
        this.modelTokens,
        this.modelCost,
      ]
        .map((m) => m.render())
        .join("\n") + "\n"
    );
  }
}
