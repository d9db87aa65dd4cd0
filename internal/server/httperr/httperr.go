// Package httperr carries the HTTP status and the public message of a failed subscription
// request from where the failure is detected (payload decoding, application lookup,
// authentication, tenant writes) to the handler that answers the request.
package httperr

import (
	"fmt"
	"net/http"
	"strings"
)

// Error is an error with the HTTP status and public message to answer with.
type Error struct {
	// Code is the HTTP status.
	Code int
	// Message is told to the caller.
	Message string
	// Err is the cause, logged and (unless it could help an attacker) told to the caller.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	if strings.HasPrefix(e.Err.Error(), e.Message) {
		return e.Err.Error() // the cause already says it
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New builds an Error.
func New(code int, message string, err error) error {
	return &Error{Code: code, Message: message, Err: err}
}

// BadRequest formats a 400 error.
func BadRequest(format string, args ...any) error {
	return New(http.StatusBadRequest, fmt.Sprintf(format, args...), nil)
}
