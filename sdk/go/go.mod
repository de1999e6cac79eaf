module tessera/sdk/go

go 1.19

// The oldest versions the SDK is built and tested with (Debian 12's packages).
// It uses only APIs that current releases still have.
require (
	google.golang.org/genproto v0.0.0-20221014213838-99cd37c6964a
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
	gopkg.in/square/go-jose.v2 v2.6.0
)
