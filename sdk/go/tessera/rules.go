package tessera

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	tesserav1 "tessera/sdk/go/tesserav1"
)

// RuleKind says what a method's rule asks of a caller.
type RuleKind int

const (
	// RulePublic: no credentials at all.
	RulePublic RuleKind = iota
	// RuleClientAuthentication: the method authenticates an OAuth client itself.
	RuleClientAuthentication
	// RuleBearer: a bearer token for Audience with every AllOf scope and every scope of one AnyOf set.
	RuleBearer
)

// Rule is the auth rule of one RPC, resolved from tessera.v1.method_auth /
// service_auth or the built-in allow-list (gRPC health and reflection).
type Rule struct {
	Kind     RuleKind
	Audience string
	AllOf    []string
	AnyOf    [][]string
	// Source is "method", "service" or "allow-list".
	Source string
}

// PublicServices are public without a declared rule: health checks and reflection.
var PublicServices = map[string]bool{
	"grpc.health.v1.Health":                    true,
	"grpc.reflection.v1.ServerReflection":      true,
	"grpc.reflection.v1alpha.ServerReflection": true,
}

// RuleError is a method without a rule, or with a contradictory one: a
// configuration error found at start, so that no method is silently open.
type RuleError struct {
	Methods []string
	Problem string
}

func (e *RuleError) Error() string { return e.Problem + ": " + strings.Join(e.Methods, ", ") }

// RFC 6749 section 3.3 scope-token.
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

func unique(values []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func resolveRule(method protoreflect.MethodDescriptor, rule *tesserav1.AuthRule, source string) (*Rule, error) {
	name := methodPath(method)
	bearerParts := len(rule.GetScopes()) > 0 || len(rule.GetAnyOf()) > 0 || rule.GetAudience() != ""
	if rule.GetPublic() && rule.GetClientAuthentication() {
		return nil, &RuleError{[]string{name}, "a rule cannot be both public and client_authentication"}
	}
	if (rule.GetPublic() || rule.GetClientAuthentication()) && bearerParts {
		return nil, &RuleError{[]string{name}, "a public or client_authentication rule cannot name scopes or an audience"}
	}
	if rule.GetPublic() {
		return &Rule{Kind: RulePublic, Source: source}, nil
	}
	if rule.GetClientAuthentication() {
		return &Rule{Kind: RuleClientAuthentication, Source: source}, nil
	}
	all := append([]string{}, rule.GetScopes()...)
	anyOf := [][]string{}
	for _, set := range rule.GetAnyOf() {
		if len(set.GetScopes()) == 0 {
			return nil, &RuleError{[]string{name}, "an any_of alternative is empty"}
		}
		all = append(all, set.GetScopes()...)
		anyOf = append(anyOf, unique(set.GetScopes()))
	}
	for _, s := range all {
		if !scopeToken.MatchString(s) {
			return nil, &RuleError{[]string{name}, "a scope in the rule is not a valid scope token"}
		}
	}
	audience := rule.GetAudience()
	if audience == "" {
		audience = string(method.Parent().FullName())
	}
	return &Rule{Kind: RuleBearer, Audience: audience, AllOf: unique(rule.GetScopes()), AnyOf: anyOf, Source: source}, nil
}

func methodPath(method protoreflect.MethodDescriptor) string {
	return fmt.Sprintf("/%s/%s", method.Parent().FullName(), method.Name())
}

// RuleOf resolves the rule of one method: its method_auth, else its
// service's service_auth, else the allow-list; nil when none applies.
func RuleOf(method protoreflect.MethodDescriptor) (*Rule, error) {
	if options, ok := method.Options().(*descriptorpb.MethodOptions); ok && options != nil && proto.HasExtension(options, tesserav1.E_MethodAuth) {
		return resolveRule(method, proto.GetExtension(options, tesserav1.E_MethodAuth).(*tesserav1.AuthRule), "method")
	}
	service := method.Parent().(protoreflect.ServiceDescriptor)
	if options, ok := service.Options().(*descriptorpb.ServiceOptions); ok && options != nil && proto.HasExtension(options, tesserav1.E_ServiceAuth) {
		return resolveRule(method, proto.GetExtension(options, tesserav1.E_ServiceAuth).(*tesserav1.AuthRule), "service")
	}
	if PublicServices[string(service.FullName())] {
		return &Rule{Kind: RulePublic, Source: "allow-list"}, nil
	}
	return nil, nil
}

// RulesOf resolves the rule of every method of the services, by gRPC path
// ("/pkg.Service/Method"). It returns a *RuleError naming every method
// without a rule.
func RulesOf(services ...protoreflect.ServiceDescriptor) (map[string]*Rule, error) {
	rules := map[string]*Rule{}
	missing := []string{}
	for _, service := range services {
		methods := service.Methods()
		for i := 0; i < methods.Len(); i++ {
			method := methods.Get(i)
			rule, err := RuleOf(method)
			if err != nil {
				return nil, err
			}
			if rule == nil {
				missing = append(missing, methodPath(method))
				continue
			}
			rules[methodPath(method)] = rule
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, &RuleError{missing, "no auth rule declared (add option (tessera.v1.method_auth) or (tessera.v1.service_auth))"}
	}
	return rules, nil
}

// Satisfied says whether granted scopes satisfy a bearer rule (exact match).
func (r *Rule) Satisfied(granted map[string]bool) bool {
	for _, s := range r.AllOf {
		if !granted[s] {
			return false
		}
	}
	if len(r.AnyOf) == 0 {
		return true
	}
	for _, set := range r.AnyOf {
		ok := true
		for _, s := range set {
			ok = ok && granted[s]
		}
		if ok {
			return true
		}
	}
	return false
}

// LeastPrivilegeScopes are the scopes to request for a bearer rule: every
// all-of scope plus the first any-of alternative.
func (r *Rule) LeastPrivilegeScopes() []string {
	scopes := append([]string{}, r.AllOf...)
	if len(r.AnyOf) > 0 {
		scopes = append(scopes, r.AnyOf[0]...)
	}
	return unique(scopes)
}
