// The Files service of the example mesh, served on grpc-js through the
// protobuf-es bridge. The caller comes from grpcPrincipal(call).
import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { FileSchema, type FilesService, type File } from "../gen/example/files/v1/files_pb.js";
import { grpcPrincipal, type GrpcServiceImpl } from "../../src/grpc.js";

class NotFound extends Error {
  readonly code = status.NOT_FOUND;
  readonly details: string;
  constructor(id: string) {
    super(`no file ${id}`);
    this.details = this.message;
  }
}

/** FilesService for grpc-js (bridgeService); `seed` files exist from the start (file-1, file-2, ...). */
export function filesService(seed: readonly { name: string; content: Uint8Array }[] = []): GrpcServiceImpl<typeof FilesService> {
  const files = new Map<string, File>();
  let nextId = 1;
  for (const { name, content } of seed) {
    const file = create(FileSchema, { id: `file-${nextId++}`, name, content });
    files.set(file.id, file);
  }
  const find = (id: string) => {
    const file = files.get(id);
    if (file === undefined) throw new NotFound(id);
    return file;
  };
  return {
    getFile: async (req) => ({ file: find(req.id) }),
    createFile: async (req, call) => {
      const owner = grpcPrincipal(call)?.clientId ?? "unknown";
      const file = create(FileSchema, { id: `file-${nextId++}`, name: `${owner}/${req.name}`, content: req.content });
      files.set(file.id, file);
      return { file };
    },
    updateFile: async (req) => {
      const file = find(req.id);
      file.content = req.content;
      return { file };
    },
    deleteFile: async (req) => {
      find(req.id);
      files.delete(req.id);
      return {};
    },
  };
}
