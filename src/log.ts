/**
 * Structured logging: one JSON object per line (or a readable line with
 * `LOG_FORMAT=pretty`), a constant message plus fields.
 *
 * Components take a child logger carrying `component` and their ids
 * (`requestId`, `eventId`). Secrets, signatures, Authorization headers and raw
 * bodies are never logged; sizes and ids are.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from "pino";
import type PinoPretty from "pino-pretty";
import type { Config } from "./config.ts";

/** The logger every module receives. */
export type Logger = PinoLogger;

/** Creates the process logger; `destination` lets tests capture the lines. */
export function createLogger(settings: Config["log"], destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: settings.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  if (settings.format === "pretty") return pino(options, loadPretty()({ sync: true }));
  return pino(options, pino.destination({ dest: 1, sync: true }));
}

/**
 * Writes a line that another thread's logger already formatted to this
 * logger's destination, so that the process keeps one log stream.
 */
export function writeLogLine(log: Logger, line: string): void {
  const stream = (log as unknown as Record<symbol, { write(line: string): void }>)[
    pino.symbols.streamSym
  ];
  stream?.write(line);
}

/**
 * pino-pretty, loaded only for `LOG_FORMAT=pretty`: it and its dependencies
 * (streams, colours, date formatting) are a good part of what both threads
 * would otherwise evaluate at every start, for the JSON default that never
 * uses them. `require` keeps the load synchronous, as `createLogger` is.
 */
function loadPretty(): typeof PinoPretty {
  return require("pino-pretty");
}
