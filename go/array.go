// Package mba is a Go binding of libmba: typed, growable arrays in shared
// memory ("shm://NAME"), in files, or anonymous (memfd), read and written
// by several processes in any language with zero copies.
//
// Build with cgo against libmba (include/mba.h and libmba.so), e.g.
//
//	CGO_CFLAGS="-I$REPO/include" \
//	CGO_LDFLAGS="-L$REPO/target/release -Wl,-rpath,$REPO/target/release" go build
//
// Views (Uint64s, Float64s, View, Records...) are Go slices over the
// mapped memory itself: no copy. A view is valid until Close, and covers
// the length published when it was taken; take a new view to see what was
// appended since. Other processes may write the elements while you read
// them (no lock is taken). A view of a read-only array is read-only
// memory: writing to it faults.
//
// An *Array is safe for concurrent use by several goroutines. Close waits
// for calls in progress (a Wait returns ErrClosed within one 50 ms slice).
package mba

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"sync"
	"time"
	"unsafe"
)

// Type is an element type (MBA_TYPE_* of mba.h).
type Type int32

// Element types.
const (
	TypeAny        Type = C.MBA_TYPE_ANY // on Open: accept any type
	TypeI8         Type = C.MBA_TYPE_I8
	TypeU8         Type = C.MBA_TYPE_U8
	TypeI16        Type = C.MBA_TYPE_I16
	TypeU16        Type = C.MBA_TYPE_U16
	TypeI32        Type = C.MBA_TYPE_I32
	TypeU32        Type = C.MBA_TYPE_U32
	TypeI64        Type = C.MBA_TYPE_I64
	TypeU64        Type = C.MBA_TYPE_U64
	TypeF32        Type = C.MBA_TYPE_F32
	TypeF64        Type = C.MBA_TYPE_F64
	TypeBool       Type = C.MBA_TYPE_BOOL
	TypeComplex64  Type = C.MBA_TYPE_COMPLEX64
	TypeComplex128 Type = C.MBA_TYPE_COMPLEX128
	TypeF16        Type = C.MBA_TYPE_F16
	TypeRecord     Type = C.MBA_TYPE_RECORD
)

var typeNames = map[Type]string{
	TypeAny: "any", TypeI8: "i8", TypeU8: "u8", TypeI16: "i16", TypeU16: "u16",
	TypeI32: "i32", TypeU32: "u32", TypeI64: "i64", TypeU64: "u64",
	TypeF32: "f32", TypeF64: "f64", TypeBool: "bool", TypeComplex64: "complex64",
	TypeComplex128: "complex128", TypeF16: "f16", TypeRecord: "record",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "Type(" + itoa(int64(t)) + ")"
}

// ParseType returns the Type named s ("u64", "f64", ...; as Type.String).
func ParseType(s string) (Type, bool) {
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	return 0, false
}

// Flag is an open flag.
type Flag uint32

// Open flags.
const (
	ReadOnly    Flag = C.MBA_RDONLY // read-only handle and views
	CopyOnWrite Flag = C.MBA_COW    // private snapshot of the length at open
)

// Options for Create. The zero value (or nil) creates a flat, empty
// array, mode 0600, opening it if it exists with the same type.
type Options struct {
	Shape     []uint64 // row shape (nil: flat); lengths count rows
	Capacity  uint64   // rows to allocate at once
	MaxLen    uint64   // largest length ever (0: 64 GiB worth of rows)
	Mode      uint32   // file mode (0: 0600)
	Exclusive bool     // fail with ErrExists if the name exists
	Replace   bool     // publish a new empty array under the name
}

// Array is an open libmba array (a handle).
type Array struct {
	mu       sync.RWMutex // Close takes it for writing: no call races mba_close
	h        C.mba_handle // 0 once closed
	name     string
	typ      Type
	itemSize uint64
	rowSize  uint64
	ro       bool
	data     unsafe.Pointer // first element: C memory, never moves
}

// Open opens the existing array name ("shm://NAME", "file://PATH" or a
// path). t is the type it must hold (ErrType otherwise) or TypeAny.
func Open(name string, t Type, flags Flag) (*Array, error) {
	cname := cString(name)
	defer freeC(cname)
	var b errbuf
	m, l := b.ptr()
	var h C.mba_handle
	rc := C.go_open(cname, C.uint32_t(flags), C.int32_t(t), &h, m, l)
	if err := b.err("open "+name, rc); err != nil {
		return nil, err
	}
	return newArray(h, name)
}

// Create creates the array name with element type t (or opens it if it
// exists with that type, unless o.Exclusive or o.Replace). o may be nil.
func Create(name string, t Type, o *Options) (*Array, error) {
	return create(name, t, o, false)
}

// Anon creates an anonymous array (a memfd, not visible by name), of
// type t; o may be nil (Exclusive, Replace and Mode do not apply).
func Anon(t Type, o *Options) (*Array, error) {
	return create("", t, o, true)
}

func create(name string, t Type, o *Options, anon bool) (*Array, error) {
	if o == nil {
		o = &Options{}
	}
	op := "create " + name
	flags := C.uint32_t(C.MBA_CREATE)
	if anon {
		op, flags = "anon", 0
	}
	if o.Exclusive && !anon {
		flags |= C.MBA_EXCL
	}
	if o.Replace && !anon {
		flags |= C.MBA_REPLACE
	}
	if len(o.Shape) > C.MBA_MAX_ROW_DIMS {
		return nil, &Error{Code: int(C.MBA_E_ARG), Op: op, Msg: "more than 8 row dimensions"}
	}
	// The shape goes to C in C memory (a Go array on the stack would do
	// too, for the duration of the call; this keeps it simple).
	var shape [C.MBA_MAX_ROW_DIMS]C.uint64_t
	for i, d := range o.Shape {
		shape[i] = C.uint64_t(d)
	}
	cname := cString(name)
	defer freeC(cname)
	var b errbuf
	m, l := b.ptr()
	var h C.mba_handle
	isAnon := C.int(0)
	if anon {
		isAnon = 1
	}
	rc := C.go_create(cname, flags, C.uint32_t(o.Mode), C.int32_t(t), C.uint32_t(len(o.Shape)),
		&shape[0], C.uint64_t(o.Capacity), C.uint64_t(o.MaxLen), isAnon, &h, m, l)
	if err := b.err(op, rc); err != nil {
		return nil, err
	}
	return newArray(h, name)
}

func newArray(h C.mba_handle, name string) (*Array, error) {
	var info C.mba_info
	var b errbuf
	m, l := b.ptr()
	if err := b.err("describe", C.go_describe(h, &info, m, l)); err != nil {
		C.mba_close(h)
		return nil, err
	}
	return &Array{
		h:        h,
		name:     name,
		typ:      Type(info.elem_type),
		itemSize: uint64(info.item_size),
		rowSize:  uint64(info.row_size),
		ro:       info.flags&C.MBA_RDONLY != 0,
		data:     info.data,
	}, nil
}

// call runs f with the handle under the read lock (ErrClosed after Close).
func (a *Array) call(op string, f func(h C.mba_handle, m *C.char, l C.size_t) C.int) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.h == 0 {
		return ErrClosed
	}
	var b errbuf
	m, l := b.ptr()
	return b.err(op, f(a.h, m, l))
}

// Close releases the array; its views become invalid. Calling it again
// returns ErrClosed.
func (a *Array) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.h == 0 {
		return ErrClosed
	}
	var b errbuf
	m, l := b.ptr()
	rc := C.go_close(a.h, m, l)
	a.h = 0
	a.data = nil
	return b.err("close", rc)
}

// Name is the name the array was opened by ("" for Anon).
func (a *Array) Name() string { return a.name }

// Type is the element type.
func (a *Array) Type() Type { return a.typ }

// ItemSize is the size of one element in bytes.
func (a *Array) ItemSize() int { return int(a.itemSize) }

// RowSize is the size of one row in bytes (ItemSize for a flat array).
func (a *Array) RowSize() int { return int(a.rowSize) }

// Len is the number of rows now (other processes may append at any time).
func (a *Array) Len() (int, error) {
	var n C.uint64_t
	err := a.call("len", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_len(h, &n, m, l)
	})
	return int(n), err
}

// Cap is the number of rows allocated.
func (a *Array) Cap() (int, error) {
	var n C.uint64_t
	err := a.call("capacity", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_capacity(h, &n, m, l)
	})
	return int(n), err
}

// Seq is the change counter: it grows with every change by any process.
func (a *Array) Seq() (uint64, error) {
	var n C.uint64_t
	err := a.call("seq", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_seq(h, &n, m, l)
	})
	return uint64(n), err
}

// Reserve allocates space for at least n rows.
func (a *Array) Reserve(n int) error {
	return a.call("reserve", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_reserve(h, C.uint64_t(n), m, l)
	})
}

// Truncate lowers the length to n rows.
func (a *Array) Truncate(n int) error {
	return a.call("truncate", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_truncate(h, C.uint64_t(n), m, l)
	})
}

// Flush writes the array back to its file and waits (MBA_FLUSH_SYNC).
func (a *Array) Flush() error {
	return a.call("flush", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_flush(h, C.MBA_FLUSH_SYNC, m, l)
	})
}

// waitSlice is the longest single mba_wait: a cgo call cannot be
// cancelled, so a cancelled context is noticed within this time.
const waitSlice = 50 * time.Millisecond

// Wait blocks until the change counter differs from seen (see Seq) and
// returns the new counter, or until ctx is done (ctx.Err()). It waits in
// slices of at most 50 ms, so it returns within about 50 ms of a
// cancellation.
func (a *Array) Wait(ctx context.Context, seen uint64) (uint64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return seen, err
		}
		slice := waitSlice
		if d, ok := ctx.Deadline(); ok {
			if left := time.Until(d); left < slice {
				slice = left
			}
		}
		if slice < 0 {
			slice = 0
		}
		var out C.uint64_t
		err := a.call("wait", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
			return C.go_wait(h, C.uint64_t(seen), C.int64_t(slice.Nanoseconds()), &out, m, l)
		})
		if err == nil {
			return uint64(out), nil
		}
		if e, ok := err.(*Error); ok && (e.Code == codeTimeout || e.Code == codeIntr) {
			continue
		}
		return seen, err
	}
}

// WaitLen blocks until the array holds at least n rows, or ctx is done;
// it returns the length.
func (a *Array) WaitLen(ctx context.Context, n int) (int, error) {
	for {
		// The counter before the length: a change after this read makes
		// Wait return at once, so no append is missed.
		seen, err := a.Seq()
		if err != nil {
			return 0, err
		}
		got, err := a.Len()
		if err != nil || got >= n {
			return got, err
		}
		if _, err := a.Wait(ctx, seen); err != nil {
			return got, err
		}
	}
}

// Remove removes the name of an array; processes that have it open keep
// valid memory.
func Remove(name string) error {
	cname := cString(name)
	defer freeC(cname)
	var b errbuf
	m, l := b.ptr()
	return b.err("remove "+name, C.go_unlink(cname, m, l))
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var s []byte
	for v > 0 {
		s = append([]byte{byte('0' + v%10)}, s...)
		v /= 10
	}
	if neg {
		s = append([]byte{'-'}, s...)
	}
	return string(s)
}
