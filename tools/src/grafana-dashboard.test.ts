// The Grafana dashboard (config/grafana/metallb-ts-dashboard.json) queries only metrics the code exports: every
// metric name in every PromQL expression must be registered by the operator or the speaker. Exported names come from
// the real metrics modules (registered on a fresh registry) plus the string literals naming metrics in the product
// code of operator/, speaker/ and shell/ (classes such as the Layer 2 controller register theirs when constructed).
import { describe, expect, test } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { registerOperatorMetrics } from "../../operator/src/metrics.js";
import { kubeClientFor, registerKubeClientMetrics } from "../../shell/src/kube-client.js";
import { registerSpeakerMetrics, speakerAnnouncedGauge } from "../../speaker/src/metrics.js";
import { repoRoot } from "../../testenv/src/repo-root.js";

const ROOT = repoRoot();
const DASHBOARD = join(ROOT, "config", "grafana", "metallb-ts-dashboard.json");

interface Exported {
  readonly names: ReadonlySet<string>;
  /** Histograms and summaries: PromQL may name their _bucket, _sum and _count series. */
  readonly histograms: ReadonlySet<string>;
}

function productFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" || name === "native" ? [] : productFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Metric names written as string literals in product code, and those constructed as Histogram/Summary. */
function scanSources(): Exported {
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const file of ["operator", "speaker", "shell"].flatMap((d) => productFiles(join(ROOT, d, "src")))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/"(metallb_[a-z0-9_]+)"/g)) if (m[1] !== undefined) names.add(m[1]);
    for (const m of text.matchAll(/new (?:Histogram|Summary)(?:<[^>]*>)?\(\{\s*name:\s*"(metallb_[a-z0-9_]+)"/g)) if (m[1] !== undefined) histograms.add(m[1]);
  }
  return { names, histograms };
}

async function registered(): Promise<Exported> {
  const registry = new Registry();
  registerOperatorMetrics(registry, () => []);
  const speaker = new Registry();
  registerSpeakerMetrics(speaker, { sessions: () => [], bfdPeers: () => [] });
  speakerAnnouncedGauge(speaker);
  const client = new Registry();
  registerKubeClientMetrics(client, kubeClientFor(new k8s.KubeConfig()));
  const all = [...(await registry.getMetricsAsJSON()), ...(await speaker.getMetricsAsJSON()), ...(await client.getMetricsAsJSON())];
  return {
    names: new Set(all.map((m) => m.name)),
    histograms: new Set(all.filter((m) => String(m.type) === "histogram" || String(m.type) === "summary").map((m) => m.name)),
  };
}

/** Every PromQL expression of the dashboard, with the title of its panel. */
function queries(dashboard: unknown): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: unknown): void => {
    for (const p of Array.isArray(panels) ? (panels as Array<Record<string, unknown>>) : []) {
      for (const t of Array.isArray(p["targets"]) ? (p["targets"] as Array<Record<string, unknown>>) : []) {
        if (typeof t["expr"] === "string") out.push({ panel: String(p["title"]), expr: t["expr"] });
      }
      walk(p["panels"]);
    }
  };
  walk((dashboard as { panels?: unknown }).panels);
  return out;
}

/** The metric names a PromQL expression selects that are not exported (histogram series map to their metric). */
function unknownMetrics(expr: string, exported: Exported): string[] {
  const known = (name: string): boolean => exported.names.has(name);
  const histogram = (name: string): boolean => exported.histograms.has(name);
  return (expr.match(/\bmetallb_[a-z0-9_]+/g) ?? []).filter((name) => {
    if (known(name)) return false;
    const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
    return base === undefined || !histogram(base);
  });
}

describe("Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Record<string, unknown>;

  test("the source scan finds every name the real metrics modules register (so it cannot silently miss a module)", async () => {
    const real = await registered();
    const scan = scanSources();
    expect([...real.names].filter((n) => !scan.names.has(n))).toEqual([]);
  });

  test("every PromQL query names only exported metrics", async () => {
    const real = await registered();
    const scan = scanSources();
    const exported: Exported = { names: new Set([...real.names, ...scan.names]), histograms: new Set([...real.histograms, ...scan.histograms]) };
    const qs = queries(dashboard);
    expect(qs.length).toBeGreaterThan(20);
    const bad = qs.flatMap((q) => unknownMetrics(q.expr, exported).map((metric) => ({ panel: q.panel, metric })));
    expect(bad).toEqual([]);
    // Every query selects at least one metric of ours.
    expect(qs.filter((q) => !/\bmetallb_/.test(q.expr))).toEqual([]);
  });

  test("a misspelt name, a non-histogram _bucket and an unknown histogram are caught", async () => {
    const registry = await registered();
    const scan = scanSources();
    const real: Exported = { names: new Set([...registry.names, ...scan.names]), histograms: new Set([...registry.histograms, ...scan.histograms]) };
    expect(unknownMetrics("sum(metallb_bgp_sesion_up)", real)).toEqual(["metallb_bgp_sesion_up"]);
    expect(unknownMetrics("rate(metallb_bgp_session_up_bucket[5m])", real)).toEqual(["metallb_bgp_session_up_bucket"]);
    expect(unknownMetrics("rate(metallb_ts_l2_takover_seconds_bucket[5m])", real)).toEqual(["metallb_ts_l2_takover_seconds_bucket"]);
    expect(unknownMetrics("rate(metallb_ts_l2_takeover_seconds_bucket[5m]) / metallb_bgp_session_up", real)).toEqual([]);
  });

  test("panels for MetalLB's metric families, for the not-announced Services and for the Layer 2 takeover and Service → FRR histograms", () => {
    const exprs = queries(dashboard).map((q) => q.expr);
    for (const needle of [
      "metallb_allocator_addresses_in_use_total",
      "metallb_bgp_session_up",
      "metallb_bfd_session_up",
      "metallb_layer2_requests_received",
      "metallb_k8s_client_config_stale_bool",
      "metallb_speaker_announced",
      "metallb_ts_services_not_announced",
      "metallb_ts_l2_takeover_seconds",
      "metallb_ts_service_to_frr_applied_seconds",
    ]) {
      expect([needle, exprs.some((e) => e.includes(needle))]).toEqual([needle, true]);
    }
  });

  test("Grafana can import it: a datasource variable, unique panel ids, every query on it", () => {
    const panels = (dashboard["panels"] as Array<{ id: number; type: string; targets?: Array<{ datasource?: { uid?: string } }> }>) ?? [];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect((dashboard["templating"] as { list: Array<{ name: string; type: string }> }).list).toContainEqual(
      expect.objectContaining({ name: "datasource", type: "datasource" }),
    );
    for (const p of panels) for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe("${datasource}");
  });
});
