// The operator's Prometheus metrics, named as MetalLB's so dashboards and alerts port over. The registry is
// injected; allocator gauges are read from the allocator's counters at scrape time.
import { Counter, Gauge, type Registry } from "prom-client";
import type { PoolCounters } from "../../model/src/allocator/types.js";

export interface OperatorMetrics {
  updates: Counter;
  updateErrors: Counter;
  configLoaded: Gauge;
  configStale: Gauge;
  /** Services holding IPs that no node announces (each has a `NotAnnounced` Event). */
  notAnnounced: Gauge;
}

type CounterField = "ipv4Total" | "ipv6Total" | "ipv4InUse" | "ipv6InUse";

export function registerOperatorMetrics(registry: Registry, counters: () => readonly PoolCounters[]): OperatorMetrics {
  const poolGauge = (name: string, help: string, value: (c: PoolCounters) => bigint): void => {
    new Gauge({
      name,
      help,
      labelNames: ["pool"],
      registers: [registry],
      collect(): void {
        this.reset();
        for (const c of counters()) this.set({ pool: c.pool }, Number(value(c)));
      },
    });
  };
  const f =
    (field: CounterField) =>
    (c: PoolCounters): bigint =>
      c[field];
  poolGauge("metallb_allocator_addresses_total", "Number of usable IP addresses, per pool", (c) => c.ipv4Total + c.ipv6Total);
  poolGauge("metallb_allocator_ipv4_addresses_total", "Number of usable IPv4 addresses, per pool", f("ipv4Total"));
  poolGauge("metallb_allocator_ipv6_addresses_total", "Number of usable IPv6 addresses, per pool", f("ipv6Total"));
  poolGauge("metallb_allocator_addresses_in_use_total", "Number of IP addresses in use, per pool", (c) => c.ipv4InUse + c.ipv6InUse);
  poolGauge("metallb_allocator_ipv4_addresses_in_use_total", "Number of IPv4 addresses in use, per pool", f("ipv4InUse"));
  poolGauge("metallb_allocator_ipv6_addresses_in_use_total", "Number of IPv6 addresses in use, per pool", f("ipv6InUse"));
  return {
    updates: new Counter({ name: "metallb_k8s_client_updates_total", help: "Number of Kubernetes object updates processed", registers: [registry] }),
    updateErrors: new Counter({
      name: "metallb_k8s_client_update_errors_total",
      help: "Number of Kubernetes object updates that failed",
      registers: [registry],
    }),
    configLoaded: new Gauge({
      name: "metallb_k8s_client_config_loaded_bool",
      help: "1 if a valid configuration was loaded at least once",
      registers: [registry],
    }),
    configStale: new Gauge({
      name: "metallb_k8s_client_config_stale_bool",
      help: "1 while the latest configuration could not be applied (the last good one runs)",
      registers: [registry],
    }),
    notAnnounced: new Gauge({
      name: "metallb_ts_services_not_announced",
      help: "LoadBalancer Services holding IPs that no node announces (see their NotAnnounced Event or metallb-ts explain)",
      registers: [registry],
    }),
  };
}
