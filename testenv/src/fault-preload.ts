// Test-only preload (`node --import <dist>/testenv/src/fault-preload.js …`) that lets a test provoke a fault inside a
// component process from outside, so product code carries no trigger: on SIGUSR2 it does what
// METALLB_TS_TEST_FAULT names, in the process's own event loop:
//   throw   an exception thrown from a timer (uncaught exception)
//   reject  a promise rejected with nobody handling it (unhandled rejection)
//   oom     allocates until the V8 heap limit (run with a small --max-old-space-size): a fatal out-of-memory error
const fault = process.env.METALLB_TS_TEST_FAULT ?? "";
const retained: unknown[] = [];

process.on("SIGUSR2", () => {
  if (fault === "throw") {
    setTimeout(() => {
      throw new Error("test fault: thrown from a timer");
    }, 0);
  } else if (fault === "reject") {
    setTimeout(() => {
      void Promise.reject(new Error("test fault: rejected and never handled"));
    }, 0);
  } else if (fault === "oom") {
    const grow = (): void => {
      for (let i = 0; i < 200; i++) retained.push(new Array<number>(10_000).fill(i));
      setImmediate(grow);
    };
    grow();
  }
});
