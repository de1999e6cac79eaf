import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import type { AdminConnection } from "./clients-api.js";

type Api = typeof import("./clients-api.js");
/** Loaded on use: Connect and the generated admin service, which the other commands do not need. */
const api = (): Promise<Api> => import("./clients-api.js");

interface Output {
  json?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --grant AUDIENCE=SCOPE,SCOPE (scopes optional). */
function parseGrant(value: string, previous: { audience: string; scopes: string[] }[] = []) {
  const eq = value.indexOf("=");
  const audience = eq < 0 ? value : value.slice(0, eq);
  const scopes =
    eq < 0
      ? []
      : value
          .slice(eq + 1)
          .split(/[,\s]+/)
          .filter(Boolean);
  if (audience === "") throw new InvalidArgumentError("expected AUDIENCE=SCOPE,SCOPE");
  return [...previous, { audience, scopes }];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number of seconds");
  return n;
}

function yesNo(value: string): boolean {
  if (value === "true" || value === "yes") return true;
  if (value === "false" || value === "no") return false;
  throw new InvalidArgumentError("expected true or false");
}

/** The connection flags every `clients` command takes. */
function withConnection(command: Command): Command {
  return command
    .addOption(new Option("--url <url>", "the HTTP listener of a Tessera replica").env("TESSERA_URL").makeOptionMandatory())
    .addOption(
      new Option("--client-id <id>", "an admin client: granted the audience tessera.admin.v1.ClientAdminService")
        .env("TESSERA_ADMIN_CLIENT_ID")
        .makeOptionMandatory(),
    )
    .addOption(new Option("--client-secret-file <file>", "a file holding its secret (default: TESSERA_ADMIN_CLIENT_SECRET)"))
    .option("--json", "print JSON (the API's JSON mapping) instead of text");
}

function connectionOf(options: AdminConnection): AdminConnection {
  return { url: options.url, clientId: options.clientId, ...(options.clientSecretFile !== undefined ? { clientSecretFile: options.clientSecretFile } : {}) };
}

function print(options: Output, json: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : text);
}

/** The settings flags of create and update. */
function withSettings(command: Command, update: boolean): Command {
  if (update) command.option("--enabled <bool>", "enable or disable (disabling cuts its tokens off)", yesNo);
  return command
    .option("--grant <audience=scopes>", "an audience and its scopes, AUDIENCE=SCOPE,SCOPE; repeat for more (update: replaces every grant)", parseGrant)
    .option("--audience <name>", "a further audience the client answers to as a resource server; repeatable", collect)
    .option("--grant-type <type>", "client_credentials or urn:ietf:params:oauth:grant-type:jwt-bearer; repeatable", collect)
    .option("--auth-method <method>", "client_secret_basic, client_secret_post or private_key_jwt")
    .option("--lifetime <seconds>", "token lifetime (0: the configured default)", positiveInt)
    .option("--introspection <bool>", "whether it may introspect tokens for its audiences", yesNo)
    .option("--jwks-file <file>", "private_key_jwt: its public keys, a JWK Set file")
    .option("--jwks-uri <url>", "private_key_jwt: where its public keys are fetched");
}

interface SettingsFlags {
  grant?: { audience: string; scopes: string[] }[];
  audience?: string[];
  grantType?: string[];
  authMethod?: string;
  lifetime?: number;
  introspection?: boolean;
  enabled?: boolean;
  jwksFile?: string;
  jwksUri?: string;
}

/** The Client message fields the flags set, and their update-mask paths. */
function settingsOf(flags: SettingsFlags): { fields: Record<string, unknown>; paths: string[] } {
  const fields: Record<string, unknown> = {};
  const paths: string[] = [];
  const set = (path: string, key: string, value: unknown) => {
    if (value === undefined) return;
    fields[key] = value;
    paths.push(path);
  };
  set("grants", "grants", flags.grant);
  set("audiences", "audiences", flags.audience);
  set("grant_types", "grantTypes", flags.grantType);
  set("auth_method", "authMethod", flags.authMethod);
  set("token_lifetime_seconds", "tokenLifetimeSeconds", flags.lifetime);
  set("introspection", "introspection", flags.introspection);
  set("enabled", "enabled", flags.enabled);
  if (flags.jwksFile !== undefined) fields.jwksJson = readFileSync(flags.jwksFile, "utf8");
  if (flags.jwksUri !== undefined) fields.jwksUri = flags.jwksUri;
  return { fields, paths };
}

/** `tessera clients ...`: the clients of a running deployment, through its admin API. */
export function clientsCommand(): Command {
  const clients = new Command("clients").description(
    "clients, grants and secrets of a running deployment, through the admin API (an admin client's credentials)",
  );

  withConnection(clients.command("list").description("every client, file and API, in id order")).action(async (options: AdminConnection & Output) => {
    const { adminClient, adminCall, clientJson, describeClient } = await api();
    const admin = await adminClient(connectionOf(options), "tessera.clients.read");
    const all = [];
    let pageToken = "";
    for (let pages = 0; pages < 10_000; pages++) {
      const page = await adminCall(() => admin.listClients({ pageSize: 500, pageToken }));
      all.push(...page.clients);
      pageToken = page.nextPageToken;
      if (pageToken === "") break;
    }
    print(options, all.map(clientJson), all.map(describeClient).join(""));
  });

  withConnection(clients.command("get").description("one client").argument("<client-id>")).action(async (id: string, options: AdminConnection & Output) => {
    const { adminClient, adminCall, clientJson, describeClient } = await api();
    const admin = await adminClient(connectionOf(options), "tessera.clients.read");
    const { client } = await adminCall(() => admin.getClient({ clientId: id }));
    print(options, clientJson(client!), describeClient(client!));
  });

  withSettings(withConnection(clients.command("create").description("create a client; prints its secret once").argument("<client-id>")), false).action(
    async (id: string, options: AdminConnection & Output & SettingsFlags) => {
      const { adminClient, adminCall, clientJson, describeClient } = await api();
      const admin = await adminClient(connectionOf(options), "tessera.clients.write");
      const { fields } = settingsOf(options);
      const created = await adminCall(() => admin.createClient({ client: { ...fields, clientId: id } }));
      print(
        options,
        { client: clientJson(created.client!), clientSecret: created.clientSecret, secretId: created.secretId },
        `${describeClient(created.client!)}${created.clientSecret ? `client secret (shown once): ${created.clientSecret}\n` : ""}`,
      );
    },
  );

  withSettings(
    withConnection(clients.command("update").description("change the settings given as flags; the rest stays").argument("<client-id>")),
    true,
  ).action(async (id: string, options: AdminConnection & Output & SettingsFlags) => {
    const { adminClient, adminCall, clientJson, describeClient } = await api();
    const { UsageError } = await import("./exit-codes.js");
    const { fields, paths } = settingsOf(options);
    const keys = fields.jwksJson !== undefined || fields.jwksUri !== undefined;
    if (paths.length === 0 && !keys) throw new UsageError("clients update: give at least one setting to change (e.g. --grant, --enabled false)");
    const admin = await adminClient(connectionOf(options), "tessera.clients.write");
    if (keys)
      await adminCall(() => admin.setClientJwks({ clientId: id, jwksJson: (fields.jwksJson as string) ?? "", jwksUri: (fields.jwksUri as string) ?? "" }));
    const answer =
      paths.length > 0
        ? await adminCall(() => admin.updateClient({ client: { ...fields, clientId: id }, updateMask: { paths } }))
        : await adminCall(() => admin.getClient({ clientId: id }));
    print(options, clientJson(answer.client!), describeClient(answer.client!));
  });

  withConnection(clients.command("delete").description("delete a client; the tokens it holds are cut off").argument("<client-id>")).action(
    async (id: string, options: AdminConnection & Output) => {
      const { adminClient, adminCall } = await api();
      const admin = await adminClient(connectionOf(options), "tessera.clients.write");
      await adminCall(() => admin.deleteClient({ clientId: id }));
      print(options, { deleted: id }, `deleted ${id}\n`);
    },
  );

  withConnection(clients.command("add-secret").description("add a second secret (rotation: at most two); prints it once").argument("<client-id>")).action(
    async (id: string, options: AdminConnection & Output) => {
      const { adminClient, adminCall, clientJson } = await api();
      const admin = await adminClient(connectionOf(options), "tessera.clients.write");
      const added = await adminCall(() => admin.addClientSecret({ clientId: id }));
      print(
        options,
        { client: clientJson(added.client!), clientSecret: added.clientSecret, secretId: added.secretId },
        `secret id: ${added.secretId}\nclient secret (shown once): ${added.clientSecret}\n`,
      );
    },
  );

  withConnection(
    clients.command("remove-secret").description("remove one secret (by its id, from get)").argument("<client-id>").argument("<secret-id>"),
  ).action(async (id: string, secretId: string, options: AdminConnection & Output) => {
    const { adminClient, adminCall, clientJson, describeClient } = await api();
    const admin = await adminClient(connectionOf(options), "tessera.clients.write");
    const { client } = await adminCall(() => admin.removeClientSecret({ clientId: id, secretId }));
    print(options, clientJson(client!), describeClient(client!));
  });
  return clients;
}
