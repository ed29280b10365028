/**
 * The components that live in the writer thread beside the writing
 * connection, built from the configuration the thread was started with.
 */
import { createAdminTokenComponent } from "./store/admin-token-store.ts";
import { createRetention } from "./store/retention.ts";
import type { ComponentFactory } from "./store/writer-service.ts";

/** Builds the writer thread's components. */
export const createWriterComponents: ComponentFactory = ({ sqlite, log, options }) => [
  createAdminTokenComponent(sqlite),
  createRetention(sqlite, log.child({ component: "retention" }), options.config.retention),
];
