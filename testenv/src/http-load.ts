// A bounded HTTP load for drain measurements, run as its own process inside the lab client's namespace:
//   node dist/testenv/src/http-load.js --url http://VIP/ --concurrency 4 --timeout-ms 1000 --max-ms 120000
// Each worker sends one request at a time, each on a new connection (so ECMP hashes every request anew), with a
// per-request timeout. It stops on SIGTERM/SIGINT or after --max-ms, and prints one JSON line: requests, failures
// (with when and why), the answers per body, and the longest gap between two successful answers.
import { request } from "node:http";

export interface LoadSummary {
  requests: number;
  ok: number;
  failed: number;
  /**
   * The first failures (at most 50): ms since start, wall-clock time (epoch ms) of the failure and of the request's
   * start, the error, and the connection's local port (0 when it never connected) to find it in a packet capture.
   */
  failures: Array<{ atMs: number; at: number; startedAt: number; error: string; port: number }>;
  /** Answers per response body (e.g. "hello from node1"). */
  answers: Record<string, number>;
  /** Longest time between two successful answers (any worker), and the whole run. */
  longestGapMs: number;
  durationMs: number;
}

function once(url: string, timeoutMs: number, conn: { port: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode ?? 0}`))));
      res.on("error", reject);
    });
    req.on("socket", (sock) => sock.on("connect", () => (conn.port = sock.localPort ?? 0)));
    req.on("timeout", () => req.destroy(new Error(`timeout ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export async function runLoad(opts: { url: string; concurrency: number; timeoutMs: number; maxMs: number; stop: Promise<void> }): Promise<LoadSummary> {
  const t0 = Date.now();
  let stopped = false;
  void opts.stop.then(() => (stopped = true));
  const s: LoadSummary = { requests: 0, ok: 0, failed: 0, failures: [], answers: {}, longestGapMs: 0, durationMs: 0 };
  let lastOk = t0;
  const worker = async (): Promise<void> => {
    while (!stopped && Date.now() - t0 < opts.maxMs) {
      s.requests++;
      const startedAt = Date.now();
      const conn = { port: 0 };
      try {
        const body = await once(opts.url, opts.timeoutMs, conn);
        const now = Date.now();
        s.longestGapMs = Math.max(s.longestGapMs, now - lastOk);
        lastOk = now;
        s.ok++;
        s.answers[body] = (s.answers[body] ?? 0) + 1;
      } catch (e) {
        s.failed++;
        const at = Date.now();
        if (s.failures.length < 50) s.failures.push({ atMs: at - t0, at, startedAt, error: e instanceof Error ? e.message : String(e), port: conn.port });
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, () => worker()));
  s.longestGapMs = Math.max(s.longestGapMs, Date.now() - lastOk);
  s.durationMs = Date.now() - t0;
  return s;
}

function flag(argv: readonly string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
}

if (process.argv[1]?.endsWith("http-load.js") === true) {
  const argv = process.argv.slice(2);
  const stop = new Promise<void>((resolve) => {
    process.on("SIGTERM", () => resolve());
    process.on("SIGINT", () => resolve());
  });
  runLoad({
    url: flag(argv, "url", ""),
    concurrency: Number(flag(argv, "concurrency", "4")),
    timeoutMs: Number(flag(argv, "timeout-ms", "1000")),
    maxMs: Number(flag(argv, "max-ms", "120000")),
    stop,
  }).then(
    (s) => {
      process.stdout.write(JSON.stringify(s) + "\n");
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`http-load failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
