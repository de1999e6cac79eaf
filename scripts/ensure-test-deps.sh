#!/usr/bin/env bash
# Installs the system packages the tests drive for real, when they are missing
# (Debian/Ubuntu, as root or with sudo). Run by `npm test` (pretest), so that
# `npm ci && npm test` is all the set-up a fresh machine needs.
#   redis-server: store and fault tests start their own instances (standalone and a
#     3-master Cluster) on free ports
#   redis-tools: redis-cli, which creates the test Cluster (a dependency of
#     redis-server, listed so that a machine missing it alone is fixed too)
#   curl, jq, openssl: the README and docs walkthroughs, CLI and TLS tests
#   protobuf-compiler, libprotobuf-dev (descriptor.proto, only recommended by
#     protobuf-compiler), protobuf-compiler-grpc (grpc_python_plugin): the polyglot
#     test generates Python code from our protos
#   python3-grpcio, python3-protobuf, python3-authlib, python3-requests (authlib's
#     OAuth2Session), python3-jwt, python3-cryptography (ES256 for PyJWT, only
#     recommended by python3-jwt): the Python clients in examples/python and the
#     Python SDK (sdk/python), and the demo's Python service (examples/mesh/reports)
#   golang-go, golang-google-grpc-dev, golang-google-protobuf-dev,
#     golang-github-golang-protobuf-1-5-dev (grpc's codec needs it for our messages),
#     golang-gopkg-square-go-jose.v2-dev, protoc-gen-go, protoc-gen-go-grpc: the Go
#     SDK (sdk/go) and the demo's Go service (examples/mesh/reminders), built in
#     GOPATH mode from these packages (no module downloads)
#   prometheus: test/integration/observability.test.ts lets a real Prometheus scrape
#     the metrics listener and queries it over its HTTP API
set -euo pipefail

packages=(
  redis-server redis-tools curl jq openssl
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc
  python3-grpcio python3-protobuf python3-authlib python3-requests python3-jwt python3-cryptography
  prometheus
  golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev
  golang-gopkg-square-go-jose.v2-dev protoc-gen-go protoc-gen-go-grpc
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "tests need these packages, please install them: ${missing[*]}" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "tests need these packages (run as root to install them): ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing test dependencies: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
