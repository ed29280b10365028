/**
 * The components that live in the writer thread beside the writing
 * connection, built from the configuration the thread was started with.
 */
import type { ComponentFactory } from "./store/writer-service.ts";

/** Builds the writer thread's components. */
export const createWriterComponents: ComponentFactory = () => [];
