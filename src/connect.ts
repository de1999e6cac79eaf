// tessera/connect: interceptors for Connect (@connectrpc/connect).
export * from "./interceptors/connect/index.js";
