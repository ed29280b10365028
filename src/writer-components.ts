/**
 * The components that live in the writer thread beside the writing
 * connection, built from the configuration the thread was started with.
 */
import type { ComponentFactory } from "./store/writer-service.ts";
import { createWorkerComponent } from "./worker/writer-component.ts";

/** Builds the writer thread's components: the outbox worker and its commands. */
export const createWriterComponents: ComponentFactory = (context) => [
  createWorkerComponent(context),
];
