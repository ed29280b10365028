/**
 * Liveness and readiness. `/healthz` answers while the process can answer at
 * all; `/readyz` also checks the database, its migrations, the writer and
 * every registered component (the worker, when it reports) and answers 503
 * when one is not ready.
 */
import { Elysia, t } from "elysia";
import type { Store } from "../store/types.ts";

/** A named readiness check beside the store's own, e.g. the worker's heartbeat. */
export type ReadinessCheck = () => { readonly ok: boolean; readonly [detail: string]: unknown };

const Readiness = (description: string) =>
  t.Object(
    {
      status: t.UnionEnum(["ready", "not_ready"], { default: undefined }),
      store: t.Object(
        {
          ok: t.Boolean(),
          database: t.String({ examples: ["ok"] }),
          writer: t.String({ examples: ["up"] }),
          migrations: t.Object({ applied: t.Number(), expected: t.Number() }),
        },
        { additionalProperties: true },
      ),
    },
    {
      description,
      additionalProperties: t.Object({ ok: t.Boolean() }, { additionalProperties: true }),
    },
  );

export function createHealthRoutes(
  store: Store,
  checks: Readonly<Record<string, ReadinessCheck>> = {},
) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }, { description: "Alive." }) },
      detail: {
        tags: ["Operations"],
        summary: "Liveness",
        security: [],
        description: "Answers 200 while the process answers at all.",
      },
    })
    .get(
      "/readyz",
      ({ status }) => {
        const components: Record<string, { ok: boolean }> = { store: store.checkReadiness() };
        for (const [name, check] of Object.entries(checks)) components[name] = check();

        const ready = Object.values(components).every((component) => component.ok);
        return status(ready ? 200 : 503, {
          status: ready ? "ready" : "not_ready",
          ...components,
        } as never);
      },
      {
        response: {
          200: Readiness("Ready: every check passes."),
          503: Readiness("Not ready: the failing checks have `ok: false`."),
        },
        detail: {
          tags: ["Operations"],
          summary: "Readiness",
          security: [],
          description:
            "The database answers and every migration is applied (`store`), the writer thread " +
            "beats (`heartbeat`), and the outbox worker runs (`worker`, once it reports).",
        },
      },
    );
}
