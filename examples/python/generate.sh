#!/usr/bin/env bash
# Generates the Python code of Tessera's protos and the example services into
# OUT_DIR, with Debian's protoc (3.21) and gRPC Python plugin (packages
# protobuf-compiler, libprotobuf-dev for descriptor.proto, protobuf-compiler-grpc).
# The protos alone suffice: nothing generated is committed, so nothing drifts.
#   examples/python/generate.sh /tmp/tessera-py && export PYTHONPATH=/tmp/tessera-py
set -euo pipefail
out=${1:?usage: $0 OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.."
protoc --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  -I proto -I examples/proto -I /usr/include \
  --python_out="$out" --grpc_python_out="$out" \
  tessera/v1/options.proto tessera/v1/token_service.proto google/rpc/status.proto \
  example/calendar/v1/calendar.proto example/files/v1/files.proto example/tasks/v1/tasks.proto
