/**
 * The benchmark's peer: the receiver a user would write by following a
 * webhook guide, on Node.js with Express 5 and better-sqlite3 12.
 *
 * It gives the same promise as the service for an accepted event: the raw
 * body is stored, once per eventId, in a WAL database with synchronous=FULL
 * (an fsync of the WAL at each commit) before the 200 is sent. It does that
 * the plain way: one prepared `INSERT OR IGNORE` per request, each its own
 * transaction, so one fsync per request. No verifier, no delivery log, no
 * outbox: it does less work per request than the service, never more.
 *
 * Settings: PORT, DATABASE_PATH.
 */
import Database from "better-sqlite3";
import express from "express";

const port = Number(process.env.PORT ?? 3000);
const databasePath = process.env.DATABASE_PATH ?? "./peer.db";

const db = new Database(databasePath);
db.pragma("journal_mode = WAL");
// better-sqlite3 defaults to NORMAL in WAL mode, which may lose the last
// commits on power loss; FULL is what makes the 200 a promise.
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 5000");
db.exec(`CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  raw_body BLOB NOT NULL
)`);
const insertEvent = db.prepare(
  "INSERT OR IGNORE INTO events (event_id, type, received_at, raw_body) VALUES (?, ?, ?, ?)",
);

const app = express();

app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});

// The raw bytes, as webhook guides advise (signatures are over them), then
// JSON.parse by hand.
app.post(
  "/webhooks/maildesk",
  express.raw({ type: "application/json", limit: "1mb" }),
  (req, res) => {
    let event;
    try {
      event = JSON.parse(req.body.toString("utf8"));
    } catch {
      return res.status(400).json({ error: "invalid_json" });
    }
    if (typeof event?.eventId !== "string" || typeof event?.type !== "string") {
      return res.status(400).json({ error: "invalid_payload" });
    }

    try {
      const { changes } = insertEvent.run(event.eventId, event.type, Date.now(), req.body);
      res.json({ status: changes === 1 ? "accepted" : "duplicate", eventId: event.eventId });
    } catch (error) {
      console.error(error);
      res.status(503).set("retry-after", "5").json({ error: "storage_unavailable" });
    }
  },
);

const server = app.listen(port, "127.0.0.1", () => {
  console.log(`peer listening on ${port}`);
});

process.on("SIGTERM", () => {
  server.close(() => {
    db.close();
    process.exit(0);
  });
  // Keep-alive connections of the load generator may hold close() open.
  server.closeAllConnections();
});
