/**
 * Requests to the query API of a world, with the admin token of
 * `API_TEST_ENV`.
 */
import type { World } from "./world.ts";

/** The admin token tests configure. */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** A world environment with the admin token set. */
export const API_TEST_ENV = { ADMIN_TOKEN: TEST_ADMIN_TOKEN } as const;

/** Sends a request to the world's app with the admin token (or `token`, or none with `null`). */
export function api(
  world: World,
  path: string,
  init: { method?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const token = init.token === undefined ? TEST_ADMIN_TOKEN : init.token;
  const headers: Record<string, string> = { ...init.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return world.app.handle(
    new Request(`http://localhost${path}`, { method: init.method ?? "GET", headers }),
  );
}

/** GETs `path` with the admin token, expects 200 and returns the JSON body. */
export async function apiJson<T = Record<string, unknown>>(world: World, path: string): Promise<T> {
  const response = await api(world, path);
  if (response.status !== 200) {
    throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  }
  return (await response.json()) as T;
}

/** Posts `count` events made by `make(i)` through the webhook endpoint, `parallel` at a time. */
export async function postEvents(
  world: World,
  count: number,
  make: (i: number) => string,
  parallel = 50,
): Promise<void> {
  for (let start = 0; start < count; start += parallel) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(parallel, count - start) }, (_, j) =>
        world.post(make(start + j)),
      ),
    );
    for (const answer of answers) {
      if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}`);
    }
  }
}

/** Follows `nextCursor` from `path` to the end; returns every page's items. */
export async function walkPages<T>(
  world: World,
  path: string,
  between?: () => Promise<void>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const url: string = cursor ? `${path}${separator}cursor=${cursor}` : path;
    const page: { items: T[]; nextCursor: string | null } = await apiJson(world, url);
    pages.push(page.items);
    cursor = page.nextCursor;
    await between?.();
  } while (cursor);
  return pages;
}
