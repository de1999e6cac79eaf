// tessera/grpc: interceptors and the protobuf-es service bridge for @grpc/grpc-js.
export * from "./interceptors/grpc/index.js";
