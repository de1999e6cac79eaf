export * from "./types.js";
export { ConfigError } from "./config-error.js";
export { DEFAULTS } from "./defaults.js";
export { configSchema } from "./schema.js";
export { SCOPE_TOKEN } from "../internal/oauth-syntax.js";
export { validateConfig, type EnvOverrides, type SecretResolver, type ValidateOptions } from "./validate.js";
export { loadConfigFile, secretResolver } from "./load.js";
export { devModeConfig, hashClientSecret, generateClientSecret, DEMO_CLIENT_ID, DEMO_AUDIENCE, DEMO_SCOPES } from "./dev-mode.js";
