/**
 * The ceiling: a bare `Bun.serve` that reads the body and answers 200. Every
 * configuration of the service is measured against it in the same run.
 */
const port = Number(process.env.PORT ?? 3000);

Bun.serve({
  port,
  hostname: "127.0.0.1",
  reusePort: false,
  async fetch(request) {
    if (request.method === "GET") return new Response("ok");
    await request.arrayBuffer();
    return new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } });
  },
});
