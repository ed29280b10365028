/**
 * The components that live in the writer thread beside the writing
 * connection, built from the configuration the thread was started with.
 */
import { createAdminTokenComponent } from "./store/admin-token-store.ts";
import { createRetention } from "./store/retention.ts";
import type { ComponentFactory } from "./store/writer-service.ts";
import { createWorkerComponent } from "./worker/writer-component.ts";

/** Builds the writer thread's components. */
export const createWriterComponents: ComponentFactory = (context) => [
  createWorkerComponent(context),
  createAdminTokenComponent(context.sqlite),
  createRetention(
    context.sqlite,
    context.log.child({ component: "retention" }),
    context.options.config.retention,
  ),
];
