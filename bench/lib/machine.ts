/**
 * What machine a benchmark ran on, for results.json: numbers from another
 * machine are not comparable, and this says which one it was.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly bun: string;
  readonly node: string | null;
  readonly wrk: string | null;
  readonly gitCommit: string | null;
  readonly date: string;
}

/**
 * The 1-minute load average, as a hint of what else ran: on an idle 2-core
 * machine it is near 0 before a run; near the core count, something else
 * competed for the CPU and the numbers understate the machine.
 */
export function readLoadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/** Reads the machine's description now. */
export function describeMachine(): MachineInfo {
  return {
    cpuModel: readCpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    bun: Bun.version,
    node: commandOutput(["node", "--version"]),
    wrk: commandOutput(["wrk", "-v"])?.split("\n")[0]?.split(" [")[0] ?? null,
    gitCommit: commandOutput(["git", "rev-parse", "--short", "HEAD"]),
    date: new Date().toISOString(),
  };
}

function readCpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match?.[1]) return match[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown";
}

function commandOutput(command: string[]): string | null {
  if (!Bun.which(command[0] as string)) return null;
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  // `wrk -v` prints its version and exits 1.
  const output = `${result.stdout.toString()}${result.stderr.toString()}`.trim();
  return output || null;
}
