/**
 * `/api/stats`: counts of the whole store, the ingest counters of this
 * process, and what the background side (writer, worker, retention) last
 * reported.
 *
 * Known shortcoming: the counts of events by type and of outbox rows by
 * state read an index entry per row (SQLite keeps no running counts): about
 * 150 ms of the HTTP thread on a million events, during which it answers
 * nothing else. So the answer is kept for `STATS_CACHE_MS`, and per handler
 * only the rows not done are counted. Counting in a thread with a reading
 * connection of its own, or keeping counters in the writer, would remove it.
 * `/metrics` does not use these counts; it counts only what is cheap.
 */
import { Elysia, t } from "elysia";
import { OUTBOX_STATES } from "../store/schema.ts";
import type { IngestStats, Store } from "../store/types.ts";
import type { BearerAuth } from "./bearer-auth.ts";
import { apiDetail, Timestamp, toIso, UnauthorizedBody } from "./schemas.ts";

/** How long an answer is reused. */
export const STATS_CACHE_MS = 15_000;

const DAY_MS = 24 * 60 * 60 * 1000;

const Counts = (description: string) =>
  t.Record(t.String(), t.Number(), { description, examples: [{ "subscriber.created": 120 }] });

const StatsSchema = t.Object(
  {
    at: Timestamp("When these counts were taken."),
    events: t.Object({
      total: t.Number(),
      byType: Counts(
        "Events by `type`, as the worker has processed them (an event not processed yet " +
          "is in `total` only).",
      ),
    }),
    outbox: t.Object({
      byState: Counts("Outbox rows by state."),
      unfinishedByHandler: t.Record(t.String(), Counts("Rows of the handler by state."), {
        description: "Outbox rows not done, by handler, then state.",
      }),
    }),
    deliveries: t.Object({
      last24h: t.Object({ byOutcome: Counts("Requests of the last 24 hours by outcome.") }),
    }),
    subscribers: t.Object({ byStatus: Counts("Contacts of the mirror by status.") }),
    ingest: t.Object(
      {
        commits: t.Number(),
        accepted: t.Number(),
        duplicates: t.Number(),
        duplicateBodyMismatches: t.Number(),
        storageFailures: t.Number(),
        shed: t.Number(),
      },
      { description: "Counters of this process since it started." },
    ),
    background: t.Union([t.Record(t.String(), t.Unknown()), t.Null()], {
      description:
        "The last heartbeat of the writer thread: its counters, `ageMs`, and each component's " +
        "status (`worker`, `retention`, …); `null` before the first.",
    }),
  },
  { description: "Counts and status." },
);

export interface StatsRouteDeps {
  readonly store: Store;
  readonly auth: BearerAuth;
  readonly now?: () => number;
}

/** The stats controller. */
export function createStatsRoutes({ store, auth, now = Date.now }: StatsRouteDeps) {
  let cached: { at: number; counts: ReturnType<typeof countStore> } | null = null;

  function countStore(at: number) {
    const counts = store.queries.count(at - DAY_MS);
    const byState: Record<string, number> = Object.fromEntries(
      OUTBOX_STATES.map((state) => [state, counts.outboxByState[state] ?? 0]),
    );
    return {
      events: {
        total: counts.eventsTotal,
        byType: counts.eventsByType,
      },
      outbox: { byState, unfinishedByHandler: counts.unfinishedByHandler },
      deliveries: { last24h: { byOutcome: counts.deliveriesByOutcome } },
      subscribers: { byStatus: store.subscribers.countByStatus() },
    };
  }

  return new Elysia({ prefix: "/stats" }).use(auth).get(
    "",
    () => {
      const at = now();
      if (!cached || at - cached.at >= STATS_CACHE_MS) cached = { at, counts: countStore(at) };
      const background = store.backgroundStatus();
      return {
        at: toIso(cached.at),
        ...cached.counts,
        ingest: { ...(store.ingest.stats as IngestStats) },
        background: background ? { ...background, ageMs: at - background.at } : null,
      };
    },
    {
      response: { 200: StatsSchema, 401: UnauthorizedBody },
      detail: apiDetail(
        "Stats",
        "Counts and status",
        `Counts of events, outbox rows, recent deliveries and subscribers (recounted at most ` +
          `every ${STATS_CACHE_MS / 1000} s), this process's ingest counters, and the last ` +
          "heartbeat of the writer thread and its components.",
      ),
    },
  );
}
