/** Stage `config`: pins the config the request is served with; 503 not_ready while there is none. */
import { reject } from "../errors.ts";
import type { LiveConfig } from "../router/live-config.ts";
import type { Stage } from "./stage.ts";

export function requireConfig(current: () => LiveConfig | undefined): Stage {
  return {
    name: "config",
    run(ctx) {
      ctx.config = current();
      return ctx.config ? undefined : reject("CORRAL_DP_NOT_READY", "no configuration has been applied yet");
    },
  };
}
