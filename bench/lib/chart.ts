/**
 * The benchmark's chart as a self-contained SVG (no script, no external font
 * or stylesheet, so that it renders the same in a browser, on GitHub and in
 * an image viewer): requests/s in the closed loop on the left, p99 latency in
 * the open loop on the right, one row per configuration. Latency uses a log
 * scale, because the configurations differ by orders of magnitude there.
 */

/** One configuration as the chart shows it. */
export interface ChartRow {
  readonly name: string;
  readonly kind: "bare" | "peer" | "service";
  /** Why it did not run, when it did not. */
  readonly unavailable?: string;
  readonly requestsPerSecond?: number;
  readonly openLoopP99Ms?: number;
}

export interface ChartInput {
  readonly title: string;
  /** Lines under the title: the machine, the command. */
  readonly subtitle: readonly string[];
  readonly rows: readonly ChartRow[];
  readonly connections: number;
  readonly ratePerSecond: number;
  /** Dashed markers on the throughput axis, e.g. "50% of bare". */
  readonly throughputMarkers: readonly { readonly label: string; readonly value: number }[];
  /** The latency goal, drawn as a dashed line. */
  readonly latencyGoalMs: number;
}

const WIDTH = 1000;
const LABEL_WIDTH = 250;
const PANEL_GAP = 80;
const PANEL_WIDTH = (WIDTH - LABEL_WIDTH - PANEL_GAP - 30) / 2;
const ROW_HEIGHT = 38;
const BAR_HEIGHT = 22;
const TOP = 130;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

const COLORS: Record<ChartRow["kind"], string> = {
  bare: "#9aa0a6",
  peer: "#e8710a",
  service: "#1a73e8",
};

/** Renders the chart. */
export function renderChart(input: ChartInput): string {
  const rowsHeight = input.rows.length * ROW_HEIGHT;
  const axisY = TOP + rowsHeight + 6;
  const height = axisY + 70;
  const leftX = LABEL_WIDTH;
  const rightX = LABEL_WIDTH + PANEL_WIDTH + PANEL_GAP;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="13" role="img">`,
    // The accessible name, and the tooltip in a browser.
    `<title>${escapeXml(`${input.title}: ${describeRows(input)}`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(20, 30, input.title, { size: 18, weight: "bold" }),
    ...input.subtitle.map((line, i) => text(20, 52 + i * 17, line, { size: 12, fill: "#5f6368" })),
    text(leftX, TOP - 22, `Requests/s, closed loop, ${input.connections} connections`, {
      weight: "bold",
    }),
    text(leftX, TOP - 8, "higher is better", { size: 11, fill: "#5f6368" }),
    text(rightX, TOP - 22, `p99 latency at ${format(input.ratePerSecond)} req/s, open loop`, {
      weight: "bold",
    }),
    text(rightX, TOP - 8, "lower is better; log scale; timed from the schedule", {
      size: 11,
      fill: "#5f6368",
    }),
  ];

  parts.push(...throughputPanel(input, leftX, axisY));
  parts.push(...latencyPanel(input, rightX, axisY));

  input.rows.forEach((row, i) => {
    const y = TOP + i * ROW_HEIGHT + ROW_HEIGHT / 2 + 4;
    parts.push(text(LABEL_WIDTH - 12, y, row.name, { anchor: "end" }));
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** The chart in words, for its `<title>`. */
function describeRows(input: ChartInput): string {
  return input.rows
    .map((row) =>
      row.unavailable || row.requestsPerSecond === undefined
        ? `${row.name} unavailable`
        : `${row.name} ${format(row.requestsPerSecond)} req/s, p99 ${formatMs(row.openLoopP99Ms ?? 0)}`,
    )
    .join("; ");
}

function throughputPanel(input: ChartInput, x0: number, axisY: number): string[] {
  const values = input.rows.map((row) => row.requestsPerSecond ?? 0);
  const max = niceCeiling(Math.max(1, ...values, ...input.throughputMarkers.map((m) => m.value)));
  const scale = (value: number) => x0 + (value / max) * PANEL_WIDTH;
  const parts: string[] = [];

  for (let tick = 0; tick <= 4; tick++) {
    const value = (max / 4) * tick;
    parts.push(gridLine(scale(value), axisY));
    parts.push(text(scale(value), axisY + 18, format(value), { anchor: "middle", size: 11 }));
  }
  input.throughputMarkers.forEach((marker, i) => {
    parts.push(...dashedMarker(scale(marker.value), axisY, marker.label, i));
  });
  input.rows.forEach((row, i) => {
    const y = TOP + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    if (row.unavailable || row.requestsPerSecond === undefined) {
      parts.push(unavailableLabel(x0 + 6, y, row.unavailable));
      return;
    }
    const width = Math.max(1, scale(row.requestsPerSecond) - x0);
    parts.push(bar(x0, y, width, COLORS[row.kind]));
    parts.push(valueLabel(x0 + width, y, format(row.requestsPerSecond), x0 + PANEL_WIDTH));
  });
  return parts;
}

function latencyPanel(input: ChartInput, x0: number, axisY: number): string[] {
  const values = input.rows.map((row) => row.openLoopP99Ms ?? 0).filter((v) => v > 0);
  const lowDecade = Math.min(-1, Math.floor(Math.log10(Math.min(...values, 1))));
  const highDecade = Math.max(
    Math.ceil(Math.log10(input.latencyGoalMs)) + 1,
    Math.ceil(Math.log10(Math.max(...values, 1) * 1.01)),
  );
  const scale = (ms: number) => {
    const clamped = Math.max(ms, 10 ** lowDecade);
    return x0 + ((Math.log10(clamped) - lowDecade) / (highDecade - lowDecade)) * PANEL_WIDTH;
  };
  const parts: string[] = [];

  for (let decade = lowDecade; decade <= highDecade; decade++) {
    const ms = 10 ** decade;
    parts.push(gridLine(scale(ms), axisY));
    parts.push(text(scale(ms), axisY + 18, formatMs(ms), { anchor: "middle", size: 11 }));
  }
  parts.push(
    ...dashedMarker(scale(input.latencyGoalMs), axisY, `goal ${input.latencyGoalMs} ms`, 0),
  );
  input.rows.forEach((row, i) => {
    const y = TOP + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    if (row.unavailable || row.openLoopP99Ms === undefined) {
      parts.push(unavailableLabel(x0 + 6, y, row.unavailable));
      return;
    }
    const width = Math.max(1, scale(row.openLoopP99Ms) - x0);
    parts.push(bar(x0, y, width, COLORS[row.kind]));
    parts.push(valueLabel(x0 + width, y, formatMs(row.openLoopP99Ms), x0 + PANEL_WIDTH));
  });
  return parts;
}

function bar(x: number, y: number, width: number, fill: string): string {
  return `<rect x="${r(x)}" y="${r(y)}" width="${r(width)}" height="${BAR_HEIGHT}" rx="2" fill="${fill}"/>`;
}

/** The value after the bar, or inside it (white) when the bar nearly fills the panel. */
function valueLabel(barEnd: number, y: number, label: string, panelEnd: number): string {
  const inside = barEnd + 8 + label.length * 7 > panelEnd;
  return text(inside ? barEnd - 6 : barEnd + 6, y + BAR_HEIGHT / 2 + 4, label, {
    anchor: inside ? "end" : "start",
    fill: inside ? "#ffffff" : "#202124",
    weight: "bold",
    size: 12,
  });
}

/**
 * "unavailable (exited: code 78)": the reason up to its second colon; the
 * full text is in the table and results.json.
 */
function unavailableLabel(x: number, y: number, reason = "did not run"): string {
  const short = reason.split(": ").slice(0, 2).join(": ");
  const label = `unavailable (${short})`;
  return [
    `<rect x="${r(x - 4)}" y="${r(y + 2)}" width="${r(label.length * 6 + 8)}" ` +
      `height="${BAR_HEIGHT - 4}" fill="#ffffff"/>`,
    text(x, y + BAR_HEIGHT / 2 + 4, label, { fill: "#80868b", size: 11, italic: true }),
  ].join("\n");
}

function gridLine(x: number, axisY: number): string {
  return `<line x1="${r(x)}" y1="${TOP - 2}" x2="${r(x)}" y2="${axisY}" stroke="#e0e0e0"/>`;
}

function dashedMarker(x: number, axisY: number, label: string, index: number): string[] {
  return [
    `<line x1="${r(x)}" y1="${TOP - 2}" x2="${r(x)}" y2="${axisY}" stroke="#d93025" ` +
      `stroke-width="1.5" stroke-dasharray="5 4"/>`,
    text(x + 4, axisY + 34 + index * 14, label, { size: 11, fill: "#d93025" }),
  ];
}

interface TextStyle {
  readonly size?: number;
  readonly weight?: "bold";
  readonly fill?: string;
  readonly anchor?: "start" | "middle" | "end";
  readonly italic?: boolean;
}

function text(x: number, y: number, content: string, style: TextStyle = {}): string {
  const attributes = [
    `x="${r(x)}"`,
    `y="${r(y)}"`,
    style.size ? `font-size="${style.size}"` : "",
    style.weight ? `font-weight="${style.weight}"` : "",
    `fill="${style.fill ?? "#202124"}"`,
    style.anchor && style.anchor !== "start" ? `text-anchor="${style.anchor}"` : "",
    style.italic ? `font-style="italic"` : "",
  ].filter(Boolean);
  return `<text ${attributes.join(" ")}>${escapeXml(content)}</text>`;
}

function escapeXml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `value`. */
function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toLocaleString("en-US", { maximumFractionDigits: 1 })} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

function r(value: number): string {
  return value.toFixed(1);
}
