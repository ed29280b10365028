/**
 * The admin token generated when `ADMIN_TOKEN` is unset: made once, kept in
 * the `settings` table, read by the HTTP thread at every API request (so that
 * `admin-token --rotate` takes effect in a running server at once).
 *
 * It is written by a command of the writer thread, the one writing
 * connection, never by a second one.
 */
import type { Database } from "bun:sqlite";
import type { OpenDatabase } from "./database.ts";
import type { AdminTokenStore } from "./types.ts";
import type { WriterLink } from "./writer-link.ts";
import type { WriterComponent } from "./writer-service.ts";

const ADMIN_TOKEN_KEY = "admin_token";

/** Random bytes of a generated token: 256 bits, 43 base64url characters. */
const TOKEN_BYTES = 32;

const COMMANDS = {
  ensure: "settings.ensureAdminToken",
  rotate: "settings.rotateAdminToken",
} as const;

/** The HTTP thread's side: reads through `reader`, writes through the writer. */
export function createAdminTokenStore(
  reader: OpenDatabase,
  writer: Pick<WriterLink, "call">,
): AdminTokenStore {
  const select = reader.sqlite.query<{ value: string }, [string]>(
    "SELECT value FROM settings WHERE key = ?",
  );
  return {
    read: () => select.get(ADMIN_TOKEN_KEY)?.value ?? null,
    ensure: () => writer.call(COMMANDS.ensure),
    rotate: () => writer.call(COMMANDS.rotate),
  };
}

/** The writer's side: the commands that make and replace the token. */
export function createAdminTokenComponent(sqlite: Database): WriterComponent {
  const select = sqlite.query<{ value: string }, [string]>(
    "SELECT value FROM settings WHERE key = ?",
  );
  const upsert = sqlite.query(
    "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3) " +
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
  );

  return {
    name: "settings",
    commands: {
      [COMMANDS.ensure]: () => {
        // One call at a time runs on this thread, so read-then-write cannot race.
        const existing = select.get(ADMIN_TOKEN_KEY)?.value;
        if (existing) return { token: existing, created: false };
        const token = generateToken();
        upsert.run(ADMIN_TOKEN_KEY, token, Date.now());
        return { token, created: true };
      },
      [COMMANDS.rotate]: () => {
        const token = generateToken();
        upsert.run(ADMIN_TOKEN_KEY, token, Date.now());
        return token;
      },
    },
  };
}

function generateToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES))).toString("base64url");
}
