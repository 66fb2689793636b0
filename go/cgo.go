package mba

/*
#cgo LDFLAGS: -lmba
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"unsafe"
)

// msgBuf is the size of the buffer that receives libmba's detailed message.
const msgBuf = 512

// errbuf is Go memory handed to C only for the duration of one call.
type errbuf [msgBuf]byte

func (b *errbuf) ptr() (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

func (b *errbuf) err(op string, rc C.int) error {
	if rc == C.MBA_OK {
		return nil
	}
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return &Error{Code: int(rc), Op: op, Msg: string(b[:n])}
}

func cString(s string) *C.char { return C.CString(s) }

func freeC(p *C.char) { C.free(unsafe.Pointer(p)) }

func strerror(code int) string { return C.GoString(C.mba_strerror(C.int(code))) }

// Version is the version of the loaded libmba, e.g. "0.3.1".
func Version() string { return C.GoString(C.mba_version_string()) }
