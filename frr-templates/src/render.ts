// Renders the FRR view model to frr.conf text. Pure: the templates are embedded as string constants
// (templates.generated.ts, generated from ../templates/*.hbs), so no file is read at run time.
import Handlebars from "handlebars";
import type { FrrConfig, FrrNeighbor, FrrRouter } from "../../model/src/frr/types.js";
import { MAIN_TEMPLATE, PARTIALS } from "./templates.generated.js";

/** `noEscape`: this is not HTML. `strict`: a missing field throws. `knownHelpersOnly`: no custom helpers, no logic. */
const COMPILE_OPTIONS = { noEscape: true, strict: true, knownHelpersOnly: true } as const;

type RenderNeighbor = FrrNeighbor & { readonly renderPassword: boolean; readonly password: string };
type RenderRouter = Omit<FrrRouter, "neighbors"> & { readonly neighbors: readonly RenderNeighbor[] };
type RenderContext = Omit<FrrConfig, "routers"> & { readonly routers: readonly RenderRouter[] };

function compileTemplate(): Handlebars.TemplateDelegate<RenderContext> {
  const hb = Handlebars.create();
  for (const [name, source] of Object.entries(PARTIALS)) hb.registerPartial(name, hb.compile(source, COMPILE_OPTIONS));
  return hb.compile<RenderContext>(MAIN_TEMPLATE, COMPILE_OPTIONS);
}

let compiled: Handlebars.TemplateDelegate<RenderContext> | undefined;

/** FRR reads `password` as one word: whitespace or control characters would corrupt the file. */
const VALID_PASSWORD = /^[\x21-\x7e\u0080-\uffff]+$/;

function withPassword(n: FrrNeighbor, secrets: ReadonlyMap<string, string>): RenderNeighbor {
  const password = n.hasPassword ? secrets.get(n.passwordKey) : undefined;
  if (password === undefined) return { ...n, renderPassword: false, password: "" };
  if (!VALID_PASSWORD.test(password)) {
    throw new Error(`password of ${n.comment} cannot be rendered: it must be one word without whitespace or control characters`);
  }
  return { ...n, renderPassword: true, password };
}

/**
 * Renders frr.conf. The model never holds passwords: a neighbor with `hasPassword` gets its `password` line only when
 * `secrets` has an entry for its `passwordKey` (the BGPPeer name), so a configuration can be published without
 * secrets and the speaker renders them in at write time.
 */
export function renderFrrConfig(cfg: FrrConfig, secrets: ReadonlyMap<string, string> = new Map()): string {
  compiled ??= compileTemplate();
  const context: RenderContext = {
    ...cfg,
    routers: cfg.routers.map((r) => ({ ...r, neighbors: r.neighbors.map((n) => withPassword(n, secrets)) })),
  };
  return compiled(context);
}
