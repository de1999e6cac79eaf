import { readFileSync } from "node:fs";
import { Command } from "commander";
import { loadConfigFile } from "../config/load.js";
import type { ClientConfig } from "../config/types.js";
import { scopesSatisfy } from "../policy/auth-rule.js";
import { DeclaredScopes } from "../policy/declared-scopes.js";
import { configOption, requiredConfigPath } from "./config-option.js";
import { EXIT, ExitWith, UsageError } from "./exit-codes.js";

/** One finding of `tessera policy check`. */
interface Finding {
  readonly kind: "method-without-rule" | "undeclared-scope" | "uncallable-method" | "audience-without-service";
  readonly message: string;
  readonly [key: string]: string | readonly string[];
}

/** The findings over the file's clients and the services of the descriptor sets: errors fail the check, warnings do not. */
export function policyFindings(declared: DeclaredScopes, clients: readonly ClientConfig[]): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  for (const method of declared.methods) {
    if (method.rule === undefined) {
      errors.push({
        kind: "method-without-rule",
        method: method.path,
        message: `${method.path}: ${method.problem ?? "no auth rule declared (the server refuses to start)"}`,
      });
      continue;
    }
    if (method.rule.kind !== "bearer") continue;
    const rule = method.rule;
    const callers = clients.filter((c) => c.grants.some((g) => g.audience === rule.audience && scopesSatisfy(rule, g.scopes)));
    if (callers.length === 0) {
      warnings.push({
        kind: "uncallable-method",
        method: method.path,
        audience: rule.audience,
        message: `${method.path}: no client can call it (audience ${rule.audience})`,
      });
    }
  }
  for (const { label, problem } of declared.grantProblems(clients)) errors.push({ kind: "undeclared-scope", field: label, message: `${label}: ${problem}` });
  const resourceServers = new Set(clients.flatMap((c) => [c.id, ...c.audiences]));
  const granted = new Map<string, string[]>();
  for (const client of clients) for (const grant of client.grants) granted.set(grant.audience, [...(granted.get(grant.audience) ?? []), client.id]);
  for (const [audience, holders] of granted) {
    if (declared.byAudience.has(audience) || resourceServers.has(audience)) continue;
    warnings.push({
      kind: "audience-without-service",
      audience,
      clients: holders,
      message: `audience ${audience} (granted to ${holders.join(", ")}): no loaded service declares it, and no client answers to it`,
    });
  }
  return { errors, warnings };
}

/** `tessera policy check --config FILE [SET...]`: the command's definition. */
export function policyCommand(): Command {
  const policy = new Command("policy").description("the auth rules of the services' protos against the clients' grants");
  policy
    .command("check")
    .description("for CI: methods without a rule or that no client can call, granted scopes no method declares, audiences with no service; exit 1 on errors")
    .argument("[sets...]", "descriptor sets (buf build -o, protoc --include_imports --descriptor_set_out), besides policy.descriptorSets")
    .addOption(configOption())
    .option("--json", "print the findings as JSON")
    .action((sets: string[], options: { json?: boolean }, command: Command) => {
      const config = loadConfigFile(requiredConfigPath(command));
      const paths = [...config.policy.descriptorSets, ...sets];
      if (paths.length === 0) throw new UsageError("policy check needs descriptor sets: as arguments, or in policy.descriptorSets");
      const bytes = paths.map((path) => {
        try {
          return readFileSync(path);
        } catch (err) {
          throw new UsageError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
        }
      });
      const declared = new DeclaredScopes(bytes);
      const { errors, warnings } = policyFindings(declared, config.clients);
      const summary = { sets: paths, methods: declared.methods.length, audiences: declared.byAudience.size, clients: config.clients.length };
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...summary, errors, warnings }, null, 2)}\n`);
      } else {
        const lines = [
          `policy check: ${summary.methods} methods, ${summary.audiences} audiences, ${summary.clients} clients`,
          ...errors.map((f) => `error: ${f.message}`),
          ...warnings.map((f) => `warning: ${f.message}`),
          errors.length === 0 ? "OK" : `${errors.length} error(s)`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      if (errors.length > 0) throw new ExitWith(EXIT.failure);
    });
  return policy;
}
