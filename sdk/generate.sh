#!/usr/bin/env bash
# Generates the SDKs' protobuf code from proto/tessera/v1 with Debian's protoc
# (protobuf-compiler 3.21), protoc-gen-go, protoc-gen-go-grpc and grpc_python_plugin.
# The output is committed (a Go module and a pip-installable package must work
# without protoc); .ci/run regenerates it and fails on drift.
set -euo pipefail
cd "$(dirname "$0")/.."

go_pkg=tessera/sdk/go/tesserav1
m="Mtessera/v1/options.proto=$go_pkg,Mtessera/v1/token_service.proto=$go_pkg"
rm -f sdk/go/tesserav1/*.pb.go
protoc -I proto -I /usr/include \
  --go_out=sdk/go/tesserav1 --go_opt=paths=source_relative,"$m" \
  --go-grpc_out=sdk/go/tesserav1 --go-grpc_opt=paths=source_relative,"$m" \
  tessera/v1/options.proto tessera/v1/token_service.proto
mv sdk/go/tesserav1/tessera/v1/*.go sdk/go/tesserav1/
rm -r sdk/go/tesserav1/tessera

rm -f sdk/python/tessera/v1/*_pb2*.py
protoc -I proto -I /usr/include --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  --python_out=sdk/python --grpc_python_out=sdk/python \
  tessera/v1/options.proto tessera/v1/token_service.proto
