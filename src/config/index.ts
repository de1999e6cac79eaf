export * from "./types.js";
export { ConfigError } from "./config-error.js";
export { DEFAULTS } from "./defaults.js";
export { validateConfig, SCOPE_TOKEN, type EnvOverrides, type SecretResolver } from "./validate.js";
export { loadConfigFile, secretResolver } from "./load.js";
export { devModeConfig, hashClientSecret, generateClientSecret, DEMO_CLIENT_ID, DEMO_AUDIENCE, DEMO_SCOPES } from "./dev-mode.js";
