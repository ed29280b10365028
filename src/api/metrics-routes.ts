/**
 * `GET /metrics`: Prometheus text. Open by default, on the same port (the
 * common practice: it carries counts, no data), or behind `METRICS_TOKEN`
 * when that is set; never behind the admin token, which a scraper should not
 * hold.
 *
 * Everything is read at scrape time, cheaply: the ingest counters and
 * histogram kept in this thread, the outbox rows that are not done (a partial
 * index; done rows are not depth), and the writer's last heartbeat.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../log.ts";
import type { Store } from "../store/types.ts";
import { numberOrUndefined, viewBackground } from "./background-status.ts";
import { createBearerAuth } from "./bearer-auth.ts";
import type { IngestMetrics } from "./ingest-metrics.ts";
import { CONTENT_TYPE, type Labels, MetricsText } from "./prometheus-text.ts";
import { UnauthorizedBody } from "./schemas.ts";

const UNFINISHED_STATES = ["pending", "processing", "dead"] as const;

export interface MetricsRouteDeps {
  readonly store: Store;
  readonly ingest: IngestMetrics;
  /** `null`: `/metrics` is open. */
  readonly token: string | null;
  readonly log: Logger;
  readonly now?: () => number;
}

/** The metrics endpoint. */
export function createMetricsRoutes(deps: MetricsRouteDeps) {
  const { store, ingest, token, now = Date.now } = deps;
  const startedAtSeconds = Math.floor(Date.now() / 1000);
  const routes = new Elysia();
  if (token !== null) routes.use(createBearerAuth(() => token, deps.log));

  return routes.get(
    "/metrics",
    () => {
      const text = new MetricsText();
      const stats = store.ingest.stats;
      text
        .counter(
          "maildesk_webhook_requests_total",
          "Requests to the webhook endpoint.",
          ingest.requests(),
        )
        .histogram(
          "maildesk_webhook_request_duration_seconds",
          "Time from a webhook request's arrival to its answer (after the commit).",
          ingest.latencies(),
        )
        .counter("maildesk_ingest_commits_total", "Group commits answered.", [[{}, stats.commits]])
        .counter("maildesk_ingest_shed_total", "Requests refused: too many waiting for a commit.", [
          [{}, stats.shed],
        ])
        .counter("maildesk_ingest_storage_failures_total", "Commits that failed (answered 503).", [
          [{}, stats.storageFailures],
        ])
        .counter(
          "maildesk_ingest_duplicate_body_mismatches_total",
          "Known eventIds that arrived with a different body.",
          [[{}, stats.duplicateBodyMismatches]],
        );

      const unfinished = store.queries.countUnfinishedOutbox();
      text.gauge(
        "maildesk_outbox_rows",
        "Outbox rows not done, by state (dead: the dead letter).",
        UNFINISHED_STATES.map((state) => [{ state }, unfinished[state] ?? 0] as const),
      );

      const background = viewBackground(store.backgroundStatus(), now());
      const writerUp = store.checkReadiness().writer === "up" && background.fresh;
      text.gauge("maildesk_writer_up", "Whether the writer thread is up and beating.", [
        [{}, writerUp ? 1 : 0],
      ]);
      if (background.ageMs !== null) {
        text.gauge("maildesk_writer_heartbeat_age_seconds", "Age of the writer's last heartbeat.", [
          [{}, background.ageMs / 1000],
        ]);
      }
      optionalCounter(
        text,
        "maildesk_delivery_log_rows_dropped_total",
        "Delivery-log rows dropped while storage was failing.",
        background.counters.deliveriesDropped,
      );

      const worker = background.worker;
      optionalCounter(
        text,
        "maildesk_worker_attempts_total",
        "Handler runs by the outbox worker.",
        worker?.attempts,
      );
      optionalCounter(
        text,
        "maildesk_worker_failures_total",
        "Handler runs that failed.",
        worker?.failures,
      );
      optionalCounter(
        text,
        "maildesk_worker_dead_lettered_total",
        "Outbox rows moved to the dead letter.",
        worker?.deadLetters,
      );
      optionalCounter(
        text,
        "maildesk_retention_deliveries_deleted_total",
        "Delivery-log rows deleted by retention.",
        background.retention?.deliveriesDeleted,
      );
      optionalCounter(
        text,
        "maildesk_retention_events_deleted_total",
        "Events deleted by retention.",
        background.retention?.eventsDeleted,
      );

      text
        .gauge("process_resident_memory_bytes", "Resident memory.", [
          [{}, process.memoryUsage.rss()],
        ])
        .gauge("process_start_time_seconds", "Start time, seconds since the epoch.", [
          [{}, startedAtSeconds],
        ]);
      return new Response(text.toString(), { headers: { "content-type": CONTENT_TYPE } });
    },
    {
      response: {
        200: t.String({ description: "Prometheus text format 0.0.4." }),
        401: UnauthorizedBody,
      },
      detail: {
        tags: ["Operations"],
        summary: "Prometheus metrics",
        description:
          "Webhook requests by outcome and status, ingest latency, outbox rows by state, worker " +
          "attempts, failures and dead letters, writer up. Needs `METRICS_TOKEN` as a bearer " +
          "token when that is set.",
        security: token !== null ? [{ metricsToken: [] }] : [],
      },
    },
  );
}

function optionalCounter(text: MetricsText, name: string, help: string, value: unknown): void {
  const number = numberOrUndefined(value);
  if (number !== undefined) text.counter(name, help, [[{} as Labels, number]]);
}
