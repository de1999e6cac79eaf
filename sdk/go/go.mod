module tessera/sdk/go

go 1.19

// The oldest versions the SDK is built and tested with (Debian 12's packages:
// golang-google-grpc-dev 1.33.3, golang-google-protobuf-dev 1.28.1,
// golang-gopkg-square-go-jose.v2-dev 2.6.0). It uses only APIs that current
// releases still have. No go.sum is committed: the tests build in GOPATH mode
// from Debian's packages; `go mod tidy` writes one in a module build.
require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
	gopkg.in/square/go-jose.v2 v2.6.0
)
