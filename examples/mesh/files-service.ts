// The Files service of the example mesh, served on grpc-js through the
// protobuf-es bridge. The caller comes from grpcPrincipal(call): who the token
// is about (`sub`) and, for a token exchanged on someone's behalf, who acts
// for them (`act`, RFC 8693), which the service logs with every read.
import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import type { Principal } from "tessera";
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

/** The RFC 8693 `act` claim of the actors, the current actor outermost: ["B", "A"] → {"sub":"B","act":{"sub":"A"}}. */
function actClaim(actors: readonly string[]): string {
  return actors.reduceRight((inner, actor) => (inner === "" ? `{"sub":${JSON.stringify(actor)}}` : `{"sub":${JSON.stringify(actor)},"act":${inner}}`), "");
}

/** "sub=planner act={"sub":"tasks"}": whose rights a call uses, and who acts for them. */
function describeCaller(principal: Principal | undefined): string {
  if (principal === undefined) return "sub=(none)";
  return principal.actors.length === 0 ? `sub=${principal.subject}` : `sub=${principal.subject} act=${actClaim(principal.actors)}`;
}

export interface FilesServiceOptions {
  /** Where the service logs each read ("GetFile file-1 sub=planner act={"sub":"tasks"}"); default: nowhere. */
  log?: (line: string) => void;
}

/** FilesService for grpc-js (bridgeService); `seed` files exist from the start (file-1, file-2, ...). */
export function filesService(
  seed: readonly { name: string; content: Uint8Array }[] = [],
  options: FilesServiceOptions = {},
): GrpcServiceImpl<typeof FilesService> {
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
    getFile: async (req, call) => {
      options.log?.(`GetFile ${req.id} ${describeCaller(grpcPrincipal(call))}`);
      return { file: find(req.id) };
    },
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
