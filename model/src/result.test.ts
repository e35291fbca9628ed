import { describe, expect, test } from "@jest/globals";
import { err, ok } from "./result.js";

describe("Result", () => {
  test("ok carries the value", () => {
    expect(ok(3)).toEqual({ ok: true, value: 3 });
  });
  test("err carries the error", () => {
    expect(err("boom")).toEqual({ ok: false, error: "boom" });
  });
});
