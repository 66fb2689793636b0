package mba

/*
#include "shim.h"
*/
import "C"

import (
	"reflect"
	"unsafe"
)

// Number is an element type with an mba counterpart: a Go integer, float
// or complex type (or a type defined on one, such as time.Duration).
// int and uint are 64-bit here.
type Number interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 |
		~int | ~uint | ~float32 | ~float64 | ~complex64 | ~complex128
}

// TypeOf is the mba element type that holds values of T.
func TypeOf[T Number]() Type {
	var zero T
	switch reflect.TypeOf(zero).Kind() {
	case reflect.Int8:
		return TypeI8
	case reflect.Uint8:
		return TypeU8
	case reflect.Int16:
		return TypeI16
	case reflect.Uint16:
		return TypeU16
	case reflect.Int32:
		return TypeI32
	case reflect.Uint32:
		return TypeU32
	case reflect.Int64, reflect.Int:
		return TypeI64
	case reflect.Uint64, reflect.Uint:
		return TypeU64
	case reflect.Float32:
		return TypeF32
	case reflect.Float64:
		return TypeF64
	case reflect.Complex64:
		return TypeComplex64
	case reflect.Complex128:
		return TypeComplex128
	}
	return TypeAny
}

func (a *Array) typeError(op string, want Type) error {
	return &Error{Code: int(C.MBA_E_TYPE), Op: op,
		Msg: "the array holds " + a.typ.String() + ", not " + want.String()}
}

// View is a slice of every element below the current length (rows times
// their elements, row-major), over the mapped memory: no copy. It is
// valid until Close and covers the length published at the call: take a
// new view to see later appends. ErrType unless the array holds T.
func View[T Number](a *Array) ([]T, error) {
	if want := TypeOf[T](); want != a.typ {
		return nil, a.typeError("view", want)
	}
	return view[T](a)
}

// Records is View for arrays of records (TypeRecord, or any type whose
// element has the size of T): T is a struct laid out as the C struct the
// writer used. ErrType unless unsafe.Sizeof(T) is the element size.
func Records[T any](a *Array) ([]T, error) {
	var zero T
	if uint64(unsafe.Sizeof(zero)) != a.itemSize {
		return nil, &Error{Code: int(C.MBA_E_TYPE), Op: "records",
			Msg: "elements are " + itoa(int64(a.itemSize)) + " bytes, not " + itoa(int64(unsafe.Sizeof(zero)))}
	}
	return view[T](a)
}

func view[T any](a *Array) ([]T, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.h == 0 {
		return nil, ErrClosed
	}
	var n C.uint64_t
	var b errbuf
	m, l := b.ptr()
	if err := b.err("len", C.go_len(a.h, &n, m, l)); err != nil {
		return nil, err
	}
	count := uint64(n) * (a.rowSize / a.itemSize)
	if count == 0 {
		return []T{}, nil
	}
	// The mapping is C memory that stays mapped until Close and never
	// moves; rows below the length are complete.
	return unsafe.Slice((*T)(a.data), count), nil
}

// Append appends one element to a flat array of T, visible to every
// process when it returns.
func Append[T Number](a *Array, v T) error {
	return Extend(a, []T{v})
}

// Extend appends the elements of vs (a whole number of rows, row-major)
// in one all-or-nothing step. vs is only read during the call.
func Extend[T Number](a *Array, vs []T) error {
	if want := TypeOf[T](); want != a.typ {
		return a.typeError("extend", want)
	}
	per := int(a.rowSize / a.itemSize)
	if len(vs)%per != 0 {
		return &Error{Code: int(C.MBA_E_ARG), Op: "extend",
			Msg: itoa(int64(len(vs))) + " elements is not a whole number of " + itoa(int64(per)) + "-element rows"}
	}
	if len(vs) == 0 {
		return nil
	}
	// Go memory passed for the duration of the call only (cgo rules):
	// libmba copies it and keeps no pointer to it.
	return a.call("extend", func(h C.mba_handle, m *C.char, l C.size_t) C.int {
		return C.go_extend(h, C.uint64_t(len(vs)/per), unsafe.Pointer(&vs[0]), m, l)
	})
}

// Typed views: View for each element type.

func (a *Array) Int8s() ([]int8, error)             { return View[int8](a) }
func (a *Array) Uint8s() ([]uint8, error)           { return View[uint8](a) }
func (a *Array) Int16s() ([]int16, error)           { return View[int16](a) }
func (a *Array) Uint16s() ([]uint16, error)         { return View[uint16](a) }
func (a *Array) Int32s() ([]int32, error)           { return View[int32](a) }
func (a *Array) Uint32s() ([]uint32, error)         { return View[uint32](a) }
func (a *Array) Int64s() ([]int64, error)           { return View[int64](a) }
func (a *Array) Uint64s() ([]uint64, error)         { return View[uint64](a) }
func (a *Array) Float32s() ([]float32, error)       { return View[float32](a) }
func (a *Array) Float64s() ([]float64, error)       { return View[float64](a) }
func (a *Array) Complex64s() ([]complex64, error)   { return View[complex64](a) }
func (a *Array) Complex128s() ([]complex128, error) { return View[complex128](a) }
