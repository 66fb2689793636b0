package mba

import (
	"errors"
	"io/fs"
)

// Error is a failed libmba call: the status code (a negative MBA_E_*
// value of mba.h), the operation, and libmba's detailed message, taken in
// the same cgo call as the failure (never from a thread-local read after
// it: goroutines move between threads).
//
// Compare with errors.Is against the sentinels (ErrNotFound, ...): an
// *Error matches a sentinel with the same Code. ErrNotFound, ErrExists and
// ErrPerm also match fs.ErrNotExist, fs.ErrExist and fs.ErrPermission.
type Error struct {
	Code int    // MBA_E_* status, negative
	Op   string // the Go operation, e.g. "open shm://x" or "extend"
	Msg  string // libmba's detailed message (may be empty)
}

func (e *Error) Error() string {
	s := "mba: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += strerror(e.Code)
	if e.Msg != "" && e.Msg != strerror(e.Code) {
		s += " (" + e.Msg + ")"
	}
	return s
}

// Is reports whether target is a sentinel (or any *Error) with the same
// code, or the io/fs error that the code corresponds to.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.Code == e.Code
	}
	switch target {
	case fs.ErrNotExist:
		return e.Code == codeNotFound
	case fs.ErrExist:
		return e.Code == codeExists
	case fs.ErrPermission:
		return e.Code == codePerm || e.Code == codeOwner
	}
	return false
}

const (
	codeNotFound = -17
	codeExists   = -16
	codePerm     = -18
	codeOwner    = -28
	codeTimeout  = -20
	codeIntr     = -21
)

func sentinel(code int) *Error { return &Error{Code: code} }

// Sentinel errors, one per MBA_E_* status code; use errors.Is.
var (
	ErrNull      = sentinel(-1)
	ErrHandle    = sentinel(-2)
	ErrArg       = sentinel(-3)
	ErrType      = sentinel(-4)
	ErrNotMBA    = sentinel(-5)
	ErrTruncated = sentinel(-6)
	ErrCorrupt   = sentinel(-7)
	ErrVersion   = sentinel(-8)
	ErrFeature   = sentinel(-9)
	ErrByteOrder = sentinel(-10)
	ErrOverflow  = sentinel(-11)
	ErrIndex     = sentinel(-12)
	ErrReadOnly  = sentinel(-13)
	ErrNoSpace   = sentinel(-14)
	ErrFull      = sentinel(-15)
	ErrExists    = sentinel(codeExists)
	ErrNotFound  = sentinel(codeNotFound)
	ErrPerm      = sentinel(codePerm)
	ErrIO        = sentinel(-19)
	ErrTimeout   = sentinel(codeTimeout)
	ErrIntr      = sentinel(codeIntr)
	ErrEmpty     = sentinel(-22)
	ErrNotSup    = sentinel(-23)
	ErrNoMem     = sentinel(-24)
	ErrBusy      = sentinel(-25)
	ErrNotLocked = sentinel(-26)
	ErrPanic     = sentinel(-27)
	ErrOwner     = sentinel(codeOwner)
	ErrNewer     = sentinel(-29)
)

// ErrClosed is returned by every method of an Array after Close.
var ErrClosed = errors.New("mba: array is closed")
