// Package awsjson speaks the AWS JSON 1.1 protocol as Amazon ECS does:
// operation routing by X-Amz-Target, SigV4 scope parsing for region and
// account, request size limits, and the one function through which every
// error leaves. Bodies are read and written by package wire. It knows
// nothing of task definitions or storage.
package awsjson

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/wire"
)

// TargetPrefix is the X-Amz-Target namespace of the ECS API.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// API is one AWS JSON 1.1 service that ecsd answers on its listener: the
// target prefix that routes to it, its official model, the SigV4 signing
// name its clients use and the few words of its error vocabulary that the
// protocol itself speaks.
type API struct {
	Name         string
	TargetPrefix string
	SigningName  string
	Operations   func() map[string]wire.Operation
	// NotImplemented is the error for an operation of the model without a
	// handler.
	NotImplemented func(op string) error
	// FaultCode, when set, replaces ServerException as the code of a
	// server fault (HTTP 500): each service has its own.
	FaultCode string
	// InvalidEnum, when set, words a member whose value is outside its
	// enum; nil answers as ECS does: InvalidParameterException "<member>
	// should be one of [A,B]".
	InvalidEnum func(e *wire.EnumError) error
}

// ECS is the Amazon ECS API.
var ECS = &API{
	Name:         "ECS",
	TargetPrefix: TargetPrefix,
	SigningName:  SigningName,
	Operations:   wire.Operations,
	NotImplemented: func(op string) error {
		return ecs.UnsupportedFeatureException(
			"ecsd does not implement %s yet; see docs/compat.md for the operations it supports.", op)
	},
}

// Logs is the CloudWatch Logs API (the awslogs log driver's destination).
var Logs = &API{
	Name:         "CloudWatch Logs",
	TargetPrefix: "Logs_20140328.",
	SigningName:  "logs",
	Operations:   wire.LogsOperations,
	// InvalidOperationException is the modeled CloudWatch Logs error for
	// "the operation is not valid": every SDK surfaces it typed.
	NotImplemented: func(op string) error {
		return &ecs.Error{Code: "InvalidOperationException",
			Message: fmt.Sprintf("ecsd does not implement %s yet; see docs/compat.md for the operations it supports.", op)}
	},
	// CloudWatch Logs' modeled fault.
	FaultCode: "ServiceUnavailableException",
	// CloudWatch Logs validates requests as AWS's front end does: "1
	// validation error detected: Value 'x' at 'orderBy' failed to satisfy
	// constraint: Member must satisfy enum value set: [...]".
	InvalidEnum: func(e *wire.EnumError) error {
		return &ecs.Error{Code: "InvalidParameterException", Message: fmt.Sprintf(
			"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
			e.Value, e.Path, strings.Join(e.Allowed, ", "))}
	},
}

// DefaultMaxBodyBytes bounds what one request may send. The largest ECS
// request, a task definition, is limited to 64 KiB of definition; the rest
// is headroom for tags and overrides.
const DefaultMaxBodyBytes = 1 << 20

// Request is what a handler learns about its caller.
type Request struct {
	Operation string
	RequestID string
	Account   string
	Region    string
	// Caller is the principal ARN ECS records in fields such as registeredBy.
	Caller string
	// Host is the host (and port) the client addressed: where it reaches
	// this server, for answers that name an endpoint of ecsd's own.
	Host string
	// API is the service the request was addressed to.
	API *API
}

// Handler answers one operation. in is a pointer to the operation's SDK
// Input struct, already decoded; the result is a pointer to its Output.
type Handler func(ctx context.Context, req *Request, in any) (any, error)

// Server routes ECS JSON requests to handlers.
type Server struct {
	DefaultAccount string
	DefaultRegion  string
	MaxBodyBytes   int64
	Logger         *slog.Logger
	// Verifier, when set, checks every request's SigV4 signature before
	// its body is decoded (sigv4.go); nil accepts any signature.
	Verifier *Verifier
	// Timeout, when positive, is the deadline of a handler's context: a
	// request still waiting for the store when it passes (queued behind a
	// database locked by another process, say) answers ServerException
	// instead of holding its client and connection indefinitely. A write
	// the store has already begun committing is waited for (bounded by
	// the store's busy timeout), so a committed write is never reported
	// as failed.
	Timeout time.Duration
	// Unavailable, when set, picks out the causes of a ServerException
	// that mean the state store is out of reach (PostgreSQL down): those
	// answer ECS's own message for an outage, "Service Unavailable. Please
	// try again later.", instead of the generic one.
	Unavailable func(error) bool
	// ObserveFunc, when set, is told of every request once its answer is
	// written: the request (Operation is "" for an unknown target), the
	// error code it answered ("" for success) and how long it took.
	ObserveFunc func(req *Request, code string, took time.Duration)

	apis     []*API
	handlers map[*API]map[string]Handler
}

// NewServer returns a server that recognises every operation of the
// official model; operations without a handler answer notImplemented.
func NewServer(defaultAccount, defaultRegion string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		DefaultAccount: defaultAccount,
		DefaultRegion:  defaultRegion,
		MaxBodyBytes:   DefaultMaxBodyBytes,
		Logger:         logger,
		// ECS answers every request whose target names no other API.
		apis:     []*API{ECS},
		handlers: map[*API]map[string]Handler{ECS: {}},
	}
}

// Handle registers h for the named ECS operation, which must exist in the
// model.
func (s *Server) Handle(op string, h Handler) { s.HandleAPI(ECS, op, h) }

// HandleAPI registers h for the named operation of api, which must exist
// in its model. The first handler of an API makes the server answer it.
func (s *Server) HandleAPI(api *API, op string, h Handler) {
	if _, ok := api.Operations()[op]; !ok {
		panic("awsjson: no operation " + op + " in the " + api.Name + " model")
	}
	if s.handlers[api] == nil {
		s.apis = append(s.apis, api)
		s.handlers[api] = map[string]Handler{}
	}
	s.handlers[api][op] = h
}

// Implemented reports whether the ECS operation op has a handler.
func (s *Server) Implemented(op string) bool { return s.ImplementedIn(ECS, op) }

// ImplementedIn reports whether op of api has a handler.
func (s *Server) ImplementedIn(api *API, op string) bool { return s.handlers[api][op] != nil }

// HandleFunc adapts a typed handler for Handle.
func HandleFunc[In, Out any](s *Server, op string, f func(context.Context, *Request, *In) (*Out, error)) {
	HandleAPIFunc(s, ECS, op, f)
}

// HandleAPIFunc adapts a typed handler for HandleAPI.
func HandleAPIFunc[In, Out any](s *Server, api *API, op string, f func(context.Context, *Request, *In) (*Out, error)) {
	o, ok := api.Operations()[op]
	if !ok {
		panic("awsjson: no operation " + op + " in the " + api.Name + " model")
	}
	if reflect.TypeFor[In]() != o.Input || reflect.TypeFor[Out]() != o.Output {
		panic(fmt.Sprintf("awsjson: handler for %s has types %v -> %v, want %v -> %v",
			op, reflect.TypeFor[In](), reflect.TypeFor[Out](), o.Input, o.Output))
	}
	s.HandleAPI(api, op, func(ctx context.Context, req *Request, in any) (any, error) {
		return f(ctx, req, in.(*In))
	})
}

// route finds the API and operation an X-Amz-Target names.
func (s *Server) route(target string) (*API, string, bool) {
	for _, api := range s.apis {
		if op, ok := strings.CutPrefix(target, api.TargetPrefix); ok {
			_, known := api.Operations()[op]
			return api, op, known
		}
	}
	return ECS, "", false
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := &Request{RequestID: newRequestID()}
	status, code := s.serve(w, r, req)
	if s.ObserveFunc != nil {
		s.ObserveFunc(req, code, time.Since(start))
	}
	s.Logger.LogAttrs(r.Context(), slog.LevelDebug, "request",
		slog.String("op", req.Operation),
		slog.String("requestId", req.RequestID),
		slog.String("account", req.Account),
		slog.String("region", req.Region),
		slog.Int("status", status),
		slog.String("error", code),
		slog.Duration("took", time.Since(start)))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *Request) (int, string) {
	h := w.Header()
	h.Set("x-amzn-RequestId", req.RequestID)
	h.Set("Content-Type", "application/x-amz-json-1.1")
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return s.writeError(w, req, &ecs.Error{Code: "UnknownOperationException",
			Message: fmt.Sprintf("ECS answers POST / with an X-Amz-Target header; got %s %s.", r.Method, r.URL.Path)}, nil)
	}
	api, op, ok := s.route(r.Header.Get("X-Amz-Target"))
	req.API = api
	if !ok {
		return s.writeError(w, req, &ecs.Error{Code: "UnknownOperationException"}, nil)
	}
	req.Operation = op
	req.Host = r.Host
	req.Account, req.Region = s.scope(r.Header.Get("Authorization"))
	req.Caller = ecs.RootARN(req.Region, req.Account)

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return s.writeError(w, req, &ecs.Error{Code: "SerializationException",
				Message: fmt.Sprintf("Request body is larger than the %d bytes ecsd accepts.", s.MaxBodyBytes)}, nil)
		}
		return s.writeError(w, req, &ecs.Error{Code: "SerializationException", Message: "Could not read the request body."}, err)
	}
	if s.Verifier != nil {
		cred, err := s.Verifier.VerifyFor(r, body, api.SigningName)
		if err != nil {
			return s.writeError(w, req, err, nil)
		}
		if cred.Account != "" {
			req.Account = cred.Account
			req.Caller = ecs.RootARN(req.Region, req.Account)
		}
	}

	handler := s.handlers[api][op]
	if handler == nil {
		return s.writeError(w, req, api.NotImplemented(op), nil)
	}
	in := reflect.New(api.Operations()[op].Input).Interface()
	if err := wire.Unmarshal(body, in); err != nil {
		return s.writeError(w, req, requestError(api, err), nil)
	}

	ctx := r.Context()
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	out, err := s.call(ctx, handler, req, in)
	if err != nil {
		return s.writeError(w, req, err, nil)
	}
	bp := responseBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledResponse {
			responseBuffers.Put(bp)
		}
	}()
	b, err := wire.AppendMarshal((*bp)[:0], out)
	*bp = b[:0]
	if err != nil {
		return s.writeError(w, req, ecs.ServerException(err), nil)
	}
	// With a length, net/http sends the body as is instead of chunking
	// whatever outgrows its 2 KB buffer.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // Write does not keep b, so the buffer can be reused
	return http.StatusOK, ""
}

// responseBuffers recycles the buffers answers are encoded into: growing a
// fresh one for each answer made a tenth of a describe's garbage.
var responseBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4<<10)
	return &b
}}

// maxPooledResponse keeps the rare huge answer's buffer out of the pool.
const maxPooledResponse = 256 << 10

// call runs a handler, turning a panic into a ServerException so that one
// bad request can never take the server down.
func (s *Server) call(ctx context.Context, h Handler, req *Request, in any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = ecs.ServerException(fmt.Errorf("panic in %s: %v", req.Operation, r))
		}
	}()
	return h(ctx, req, in)
}

// enumSubject names a member the way ECS's enum errors do: its dotted
// path without list or map positions ("include", not "include[1]";
// "managedScaling.status").
func enumSubject(path string) string {
	var b strings.Builder
	depth := 0
	inQuote := false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case depth > 0 && inQuote && c == '\\':
			i++ // an escaped character inside a quoted map key
		case depth > 0 && c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// requestError maps a decoding failure onto ECS's vocabulary. A value
// outside an enum is a parameter problem, not a serialization one.
func requestError(api *API, err error) error {
	var enumErr *wire.EnumError
	if errors.As(err, &enumErr) && api.InvalidEnum != nil {
		return api.InvalidEnum(enumErr)
	}
	if errors.As(err, &enumErr) {
		// ECS's own wording, values in the model's order without spaces:
		// "include should be one of [ATTACHMENTS,SETTINGS,STATISTICS,TAGS]".
		return ecs.InvalidParameterException("%s should be one of [%s]",
			enumSubject(enumErr.Path), strings.Join(enumErr.Declared, ","))
	}
	var decErr *wire.DecodeError
	if errors.As(err, &decErr) {
		return &ecs.Error{Code: "SerializationException", Message: decErr.Message}
	}
	return ecs.ServerException(err)
}

// writeError is the one place an error response is written. The client
// gets the ECS code and message; the cause, if any, goes to the log.
func (s *Server) writeError(w http.ResponseWriter, req *Request, err error, cause error) (int, string) {
	e := ecs.AsError(err)
	status := http.StatusBadRequest
	if e.Fault {
		status = http.StatusInternalServerError
		if req.API != nil && req.API.FaultCode != "" && e.Code == "ServerException" {
			c := *e
			c.Code = req.API.FaultCode
			e = &c
		}
		if s.Unavailable != nil && e.Code == "ServerException" && e.Cause != nil && s.Unavailable(e.Cause) {
			c := *e
			c.Message = "Service Unavailable. Please try again later."
			e = &c
		}
	}
	if e.Cause != nil || cause != nil {
		all := errors.Join(e.Cause, cause)
		// A client that hung up cancels its request's context; that is
		// not a server fault worth an error line.
		level, msg := slog.LevelError, "request failed"
		if errors.Is(all, context.Canceled) {
			level, msg = slog.LevelDebug, "request abandoned by the client"
		}
		s.Logger.Log(context.Background(), level, msg, "op", req.Operation, "requestId", req.RequestID,
			"code", e.Code, "cause", all)
	}
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(status)
	b := append([]byte(`{"__type":`), wire.AppendString(nil, e.Code)...)
	if e.Message != "" {
		b = append(b, `,"message":`...)
		b = wire.AppendString(b, e.Message)
	}
	b = append(b, '}')
	_, _ = w.Write(b)
	return status, e.Code
}

// scope reads the region from the SigV4 credential scope and the account
// from the access key id (a 12-digit key names its account, as moto and
// LocalStack also do), falling back to the configured defaults.
func (s *Server) scope(authorization string) (account, region string) {
	account, region = s.DefaultAccount, s.DefaultRegion
	_, cred, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	// AKID/date/region/service/aws4_request
	if len(parts) != 5 {
		return
	}
	if isAccountID(parts[0]) {
		account = parts[0]
	}
	if isRegionName(parts[2]) {
		region = parts[2]
	}
	return
}

// isRegionName accepts what can stand in an ARN's region field, so that a
// hostile credential scope can never forge ARN structure.
func isRegionName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
