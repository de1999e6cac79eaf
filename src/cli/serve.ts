import { Command } from "commander";
import { loadConfigFile } from "../config/load.js";
import type { TesseraConfig } from "../config/types.js";
import { devModeConfig, DEMO_AUDIENCE, DEMO_CLIENT_ID, DEMO_SCOPES } from "../server/dev-mode.js";
import { routeConsoleWarnings, stderrLogger } from "../internal/json-logger.js";
import type { TesseraServer } from "../server/tessera-server.js";
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
  let server: TesseraServer | undefined;
  // SIGHUP reloads the file's clients, token lifetimes and trusted issuers; a file that does not load keeps the running configuration.
  const onHangup = () => {
    if (server === undefined) {
      stderrLogger.warn("SIGHUP ignored: still starting");
      return;
    }
    if (configPath === undefined) {
      stderrLogger.warn("SIGHUP ignored: dev mode has no configuration file to reload");
      return;
    }
    let restartNeeded: string[];
    try {
      restartNeeded = server.reload(loadConfigFile(configPath));
    } catch (err) {
      stderrLogger.warn("configuration not reloaded: the running one stays", { reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (restartNeeded.length > 0) stderrLogger.warn("changed settings that apply only after a restart", { sections: restartNeeded });
  };
  // Before the server says it listens: whoever waits for that may signal at once.
  process.on("SIGHUP", onHangup);
  server = await createTesseraServer({ config, logger: stderrLogger });
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
