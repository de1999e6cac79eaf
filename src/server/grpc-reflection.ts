import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** The files that declare `services`, and everything they import, each once. */
function filesOf(services: readonly DescService[]): DescFile[] {
  const files = new Map<string, DescFile>();
  const add = (file: DescFile) => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    file.dependencies.forEach(add);
  };
  for (const service of services) add(service.file);
  return [...files.values()];
}

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for `services`, so
 * that grpcurl and `buf curl` need no proto files. @grpc/reflection reads the
 * serialized FileDescriptorProtos that @grpc/proto-loader would give it; here
 * they come from the protobuf-es descriptors in gen/.
 */
export function addReflection(server: Pick<Server, "addService">, services: readonly DescService[]): void {
  const fileDescriptorProtos = filesOf(services).map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
  // Only fileDescriptorProtos is read from each entry.
  const definition = Object.fromEntries(services.map((service) => [service.typeName, { fileDescriptorProtos }])) as unknown as PackageDefinition;
  new ReflectionService(definition, { services: services.map((service) => service.typeName) }).addToServer(server);
}
