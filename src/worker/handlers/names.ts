/**
 * The handlers' names, and which handlers are on. Each new event gets one
 * outbox row per handler on at the time it is stored; the worker runs the
 * handlers that are on. Kept apart from the handlers themselves so that the
 * HTTP thread can name them without loading them.
 */
import type { Config } from "../../config.ts";

export const SUBSCRIBERS_HANDLER = "subscribers";
export const FORWARD_HANDLER = "forward";

/** `subscribers` always; `forward` when `FORWARD_URL` is set. */
export function enabledHandlerNames(config: Pick<Config, "forward">): string[] {
  return config.forward ? [SUBSCRIBERS_HANDLER, FORWARD_HANDLER] : [SUBSCRIBERS_HANDLER];
}
