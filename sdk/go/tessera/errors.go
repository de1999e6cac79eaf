package tessera

import (
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tesserav1 "tessera/sdk/go/tesserav1"
)

// AuthError is a refused call, in Tessera's one error model: the gRPC code,
// the OAuth error and, for insufficient_scope, what the method requires. Its
// gRPC status carries a tessera.v1.AuthErrorDetail in grpc-status-details-bin.
type AuthError struct {
	Code             codes.Code
	OAuthError       string
	Description      string
	RequiredScopes   []string
	RequiredAudience string
	// tokenSent is false when the call carried no token (RFC 6750 section 3.1: no error code in the challenge).
	tokenSent  bool
	challenge  bool
	retryAfter int
}

func (e *AuthError) Error() string { return e.OAuthError + ": " + e.Description }

func invalidToken(description string) *AuthError {
	return &AuthError{Code: codes.Unauthenticated, OAuthError: "invalid_token", Description: description, tokenSent: true, challenge: true}
}

func invalidRequest(description string) *AuthError {
	return &AuthError{Code: codes.InvalidArgument, OAuthError: "invalid_request", Description: description}
}

func insufficientScope(description string, rule *Rule) *AuthError {
	return &AuthError{Code: codes.PermissionDenied, OAuthError: "insufficient_scope", Description: description,
		RequiredScopes: rule.LeastPrivilegeScopes(), RequiredAudience: rule.Audience, tokenSent: true, challenge: true}
}

func unavailable(description string) *AuthError {
	return &AuthError{Code: codes.Unavailable, OAuthError: "temporarily_unavailable", Description: description, retryAfter: 1}
}

// Detail is the tessera.v1.AuthErrorDetail of the error.
func (e *AuthError) Detail() *tesserav1.AuthErrorDetail {
	return &tesserav1.AuthErrorDetail{Error: e.OAuthError, ErrorDescription: e.Description,
		RequiredScopes: append([]string{}, e.RequiredScopes...), RequiredAudience: e.RequiredAudience}
}

// GRPCStatus is the status to answer with (grpc-go's status.FromError uses it).
func (e *AuthError) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Description)
	if withDetail, err := st.WithDetails(e.Detail()); err == nil {
		return withDetail
	}
	return st
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Trailer is the metadata sent with the status: the www-authenticate
// challenge (RFC 6750 section 3) and retry-after, as the Node interceptors send them.
func (e *AuthError) Trailer() metadata.MD {
	md := metadata.MD{}
	if e.challenge {
		params := []string{"realm=" + quote("tessera")}
		if e.tokenSent {
			params = append(params, "error="+quote(e.OAuthError), "error_description="+quote(e.Description))
		}
		if len(e.RequiredScopes) > 0 {
			params = append(params, "scope="+quote(strings.Join(e.RequiredScopes, " ")))
		}
		md.Set("www-authenticate", "Bearer "+strings.Join(params, ", "))
	}
	if e.retryAfter > 0 {
		md.Set("retry-after", strconv.Itoa(e.retryAfter))
	}
	return md
}

// AuthErrorDetailOf is the tessera.v1.AuthErrorDetail of a failed call's error, if any.
func AuthErrorDetailOf(err error) *tesserav1.AuthErrorDetail {
	for _, d := range status.Convert(err).Details() {
		if detail, ok := d.(*tesserav1.AuthErrorDetail); ok {
			return detail
		}
	}
	return nil
}
