package kith

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a violation rejects a value or only warns about it.
type Severity string

// Severities.
const (
	SeverityReject Severity = "reject"
	SeverityWarn   Severity = "warn"
)

// Violation is one problem with one field of an input, in a shape that forms can
// show inline and quarantine can store.
type Violation struct {
	Field    string   `json:"field"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Severity Severity `json:"severity"`
	// Suggestion is a corrected value to offer the person ("did you mean …?"),
	// never applied automatically.
	Suggestion string `json:"suggestion,omitempty"`
}

// Violations is a list of violations.
type Violations []Violation

// Rejects reports whether any violation rejects the input.
func (vs Violations) Rejects() bool {
	for _, v := range vs {
		if v.Severity == SeverityReject {
			return true
		}
	}
	return false
}

// Split separates the violations that reject from the warnings, each in order.
func (vs Violations) Split() (rejects, warnings Violations) {
	for _, v := range vs {
		if v.Severity == SeverityReject {
			rejects = append(rejects, v)
		} else {
			warnings = append(warnings, v)
		}
	}
	return rejects, warnings
}

// Codes are the violations' codes, each once, in order.
func (vs Violations) Codes() []string {
	var out []string
	for _, v := range vs {
		if !slices.Contains(out, v.Code) {
			out = append(out, v.Code)
		}
	}
	return out
}

// String joins the violations for a person to read; it never includes the values.
func (vs Violations) String() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Field + ": " + v.Message
	}
	return strings.Join(parts, "; ")
}

// Code classifies an error for the caller: what went wrong, not where.
type Code string

// Error codes.
const (
	CodeInvalid     Code = "invalid"
	CodeNotFound    Code = "not_found"
	CodeConflict    Code = "conflict"
	CodeBusy        Code = "busy"        // too much in flight for one contact; retry shortly
	CodeUnavailable Code = "unavailable" // could not complete now; retry with the same ids
	CodeInternal    Code = "internal"
)

// Error is a user-facing error: a code, a message a person can act on, and the
// field-level violations behind it, if any.
type Error struct {
	Code       Code
	Message    string
	Violations Violations
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	return e.Message + ": " + e.Violations.String()
}

// Errorf returns an *Error with the given code.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for an error without one.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsDataError reports whether err is a store refusing the data itself: a value it
// cannot hold (SQLSTATE class 22, e.g. a NUL character or bytes that are not
// UTF-8) or a broken integrity rule (class 23) other than a unique violation,
// which a retry after a concurrent write can resolve. Retrying cannot help these.
// The store's driver error is recognised by its SQLState method, so this package
// needs no database driver.
func IsDataError(err error) bool {
	var st interface{ SQLState() string }
	if !errors.As(err, &st) {
		return false
	}
	code := st.SQLState()
	return strings.HasPrefix(code, "22") || (strings.HasPrefix(code, "23") && code != "23505")
}

// Permanent reports whether retrying err cannot help: the caller's input was
// refused (CodeInvalid) or the store refused the data (IsDataError).
func Permanent(err error) bool {
	return err != nil && (ErrorCode(err) == CodeInvalid || IsDataError(err))
}
