import { Command } from "commander";
import { loadConfigFile } from "../config/load.js";
import type { TesseraConfig } from "../config/types.js";
import { devModeConfig, DEMO_AUDIENCE, DEMO_CLIENT_ID, DEMO_SCOPES } from "../server/dev-mode.js";
import { routeConsoleWarnings, stderrLogger } from "../internal/json-logger.js";
import { configOption, configPathOf } from "./config-option.js";

/** `tessera serve [--config FILE]`: the command's definition. */
export function serveCommand(): Command {
  return new Command("serve")
    .description("run the token service until SIGINT/SIGTERM (no configuration: dev mode with a demo client)")
    .addOption(configOption("the configuration file (YAML or JSON); none: dev mode"))
    .action(async (_options: unknown, command: Command) => serve(configPathOf(command)));
}

/** Runs the token service until SIGINT/SIGTERM; `configPath` undefined: dev mode. */
export async function serve(configPath: string | undefined): Promise<void> {
  let config: TesseraConfig;
  let demoSecret: string | undefined;
  if (configPath !== undefined) {
    config = loadConfigFile(configPath);
  } else {
    ({ config, demoSecret } = devModeConfig());
  }

  // Loaded here, not at the top: --help, --version, a bad configuration and the other commands need none of the server.
  const { createTesseraServer } = await import("../server/tessera-server.js");
  routeConsoleWarnings(stderrLogger);
  const server = await createTesseraServer({ config, logger: stderrLogger });
  // SIGHUP (a closed terminal, or a reload request) would end the process silently: there is nothing to reload.
  // Handled before anything is printed, so that whoever reacts to the output cannot signal into the gap.
  const onHangup = () => stderrLogger.warn("SIGHUP ignored: tessera does not reload its configuration; restart it to apply changes");
  process.on("SIGHUP", onHangup);
  if (demoSecret !== undefined) {
    process.stderr.write(
      `${[
        "",
        "  ************************************************************************",
        ...(config.redis === undefined
          ? [
              "  *  DEV MODE: no --config given. In-memory store, a key generated now,  *",
              "  *  and a demo client. Nothing is persisted. Do not use in production.  *",
            ]
          : [
              "  *  DEV MODE: no --config given. State in Redis (REDIS_URL), a key      *",
              "  *  generated now and a demo client. Do not use in production.          *",
            ]),
        "  ************************************************************************",
        "",
      ].join("\n")}\n`,
    );
    // The one place a secret is printed: dev mode's demo client, once, at start.
    process.stdout.write(
      `demo client: client_id=${DEMO_CLIENT_ID} client_secret=${demoSecret} audience=${DEMO_AUDIENCE} scopes="${DEMO_SCOPES.join(" ")}" http=${server.httpUrl} grpc=${server.grpcAddress}\n`,
    );
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  // Dev mode has no load balancer to drain from.
  const drainMs = config.devMode ? 0 : config.shutdown.drainMs;
  stderrLogger.info("tessera stopping", { signal, drainMs, graceMs: config.shutdown.graceMs });
  await server.stop({ drainMs, graceMs: config.shutdown.graceMs });
  process.off("SIGHUP", onHangup);
}
