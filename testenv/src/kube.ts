// Test helpers for talking to the integration control plane.
import { afterAll, beforeAll } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "./control-plane.js";

/** Creates a namespace with a unique name (the test apiserver has no namespace controller, so tests never reuse one). */
export async function createTestNamespace(kc: k8s.KubeConfig, stem: string): Promise<string> {
  const name = `${stem}-${Math.random().toString(36).slice(2, 8)}`;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/**
 * Starts a real control plane for the calling test file (beforeAll) and stops it afterwards (afterAll).
 * The returned object's fields are valid inside tests.
 */
export function useControlPlane(): { kc: k8s.KubeConfig; cp: ControlPlane } {
  const ctx = {} as { kc: k8s.KubeConfig; cp: ControlPlane };
  beforeAll(async () => {
    ctx.cp = await ControlPlane.start({ log: (l) => process.stderr.write(`[control-plane] ${l}\n`) });
    ctx.kc = ctx.cp.kubeConfig();
  }, 180_000);
  afterAll(async () => {
    await ctx.cp?.stop();
  }, 60_000);
  return ctx;
}
