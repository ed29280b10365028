/**
 * Liveness and readiness. `/healthz` answers while the process can answer at
 * all; `/readyz` also checks the database and every registered component
 * (the worker, when it runs) and answers 503 when one is not ready.
 */
import { Elysia } from "elysia";
import type { Store } from "../store/types.ts";

/** A named readiness check beside the store's own, e.g. the worker's heartbeat. */
export type ReadinessCheck = () => { readonly ok: boolean; readonly [detail: string]: unknown };

export function createHealthRoutes(
  store: Store,
  checks: Readonly<Record<string, ReadinessCheck>> = {},
) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ status }) => {
      const components: Record<string, { ok: boolean }> = { store: store.checkReadiness() };
      for (const [name, check] of Object.entries(checks)) components[name] = check();

      const ready = Object.values(components).every((component) => component.ok);
      return status(ready ? 200 : 503, { status: ready ? "ready" : "not_ready", ...components });
    });
}
