// Package ecs is the domain: ARNs, statuses and their legal transitions,
// validation rules and the error vocabulary of Amazon ECS.
//
// Its data types are the official model types of aws-sdk-go-v2/service/ecs
// (types only, never the client): typing ECS's hundreds of shapes by hand is
// exactly what the project forbids. It must never import net/http, the
// store, the protocol or a driver.
package ecs

import (
	"errors"
	"fmt"
)

// Error is an ECS error as the client sees it: a modeled error code and the
// message AWS writes. Fault says whether it is the server's fault (HTTP 500).
type Error struct {
	Code    string
	Message string
	Fault   bool
	// Cause is for the log only; the client never sees it.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s (cause: %v)", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

func newError(code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ClientException is ECS's catch-all client error ("These errors are usually
// caused by a client action").
func ClientException(format string, args ...any) *Error {
	return newError("ClientException", format, args...)
}

// InvalidParameterException is returned for a parameter that is not valid.
func InvalidParameterException(format string, args ...any) *Error {
	return newError("InvalidParameterException", format, args...)
}

// ResourceNotFoundException is returned for a resource that does not exist.
func ResourceNotFoundException(format string, args ...any) *Error {
	return newError("ResourceNotFoundException", format, args...)
}

// ClusterNotFoundException is returned for a cluster that does not exist.
func ClusterNotFoundException() *Error {
	return newError("ClusterNotFoundException", "Cluster not found.")
}

// ServiceNotFoundException is returned for a service that does not exist.
func ServiceNotFoundException() *Error {
	return newError("ServiceNotFoundException", "Service not found.")
}

// ServiceNotActiveException is returned for a service that is DRAINING
// or INACTIVE when the operation needs an ACTIVE one.
func ServiceNotActiveException() *Error {
	return newError("ServiceNotActiveException", "Service was not ACTIVE.")
}

// ServiceDeploymentNotFoundException is returned for a service deployment
// that does not exist.
func ServiceDeploymentNotFoundException(format string, args ...any) *Error {
	return newError("ServiceDeploymentNotFoundException", format, args...)
}

// ConflictException is returned for a request that conflicts with the
// resource's current state (StopServiceDeployment on a finished
// deployment).
func ConflictException(format string, args ...any) *Error {
	return newError("ConflictException", format, args...)
}

// NamespaceNotFoundException is returned for a Service Connect namespace
// that does not exist.
func NamespaceNotFoundException(format string, args ...any) *Error {
	return newError("NamespaceNotFoundException", format, args...)
}

// TaskSetNotFoundException is returned for a task set that does not
// exist.
func TaskSetNotFoundException(format string, args ...any) *Error {
	return newError("TaskSetNotFoundException", format, args...)
}

// TargetNotConnectedException is ExecuteCommand's answer when the target
// container cannot take a command.
func TargetNotConnectedException(format string, args ...any) *Error {
	return newError("TargetNotConnectedException", format, args...)
}

// ClusterInactiveException is ECS's answer for a cluster that was deleted
// and is INACTIVE: the same ClusterNotFoundException code as a cluster
// that never existed, with its own message.
func ClusterInactiveException() *Error {
	return newError("ClusterNotFoundException", "The referenced cluster was inactive.")
}

// ClusterContainsServicesException refuses DeleteCluster while the cluster
// has ACTIVE or DRAINING services.
func ClusterContainsServicesException() *Error {
	return newError("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
}

// ClusterContainsTasksException refuses DeleteCluster while the cluster
// has tasks that are not STOPPED.
func ClusterContainsTasksException() *Error {
	return newError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
}

// TargetNotFoundException is returned for an attribute target that does
// not exist.
func TargetNotFoundException(format string, args ...any) *Error {
	return newError("TargetNotFoundException", format, args...)
}

// AttributeLimitExceededException is returned when a resource would hold
// more than 10 custom attributes.
func AttributeLimitExceededException(format string, args ...any) *Error {
	return newError("AttributeLimitExceededException", format, args...)
}

// ResourceInUseException is returned for a resource still in use.
func ResourceInUseException(format string, args ...any) *Error {
	return newError("ResourceInUseException", format, args...)
}

// UnsupportedFeatureException is what ecsd answers for an official ECS
// operation it does not implement yet. It is a modeled ECS error, so every
// SDK surfaces it as a typed error naming the operation.
func UnsupportedFeatureException(format string, args ...any) *Error {
	return newError("UnsupportedFeatureException", format, args...)
}

// ServerException is a genuine server-side fault (HTTP 500). The message is
// generic; the cause goes to the log.
func ServerException(cause error) *Error {
	return &Error{Code: "ServerException", Message: "Server exception.", Fault: true, Cause: cause}
}

// AsError returns err as an *Error, wrapping anything unknown as a
// ServerException so that no Go error string ever reaches a client.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ServerException(err)
}
