// Command sigbus checks libmba's SIGBUS guard inside a Go program (cgo):
// the guard's handler must coexist with the Go runtime's (SA_ONSTACK), a
// fault inside a library call on an array truncated by another process
// must become MBA_E_TRUNCATED, and a fault outside the library (Go code
// reading the raw pointer of mba_get_ptr) must still reach the Go runtime,
// which turns it into a recoverable panic under debug.SetPanicOnFault.
// Run by scripts/suites/sigbus.sh; prints "ok" or "FAIL ..." lines.
//
// usage: sigbus NAME [off]   ("off": no guard; the process must die)
package main

/*
#cgo LDFLAGS: -lmba
#include <stdint.h>
#include <stdlib.h>
#include "mba.h"
*/
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"
	"unsafe"
)

const rows = 100000

var failures int

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	failures++
}

func expect(what string, got C.int, want C.int) {
	if got != want {
		buf := make([]byte, 512)
		C.mba_last_error((*C.char)(unsafe.Pointer(&buf[0])), 512)
		fail("%s -> %d (%s), expected %d: %s", what, int(got), C.GoString(C.mba_strerror(got)), int(want), C.GoString((*C.char)(unsafe.Pointer(&buf[0]))))
	}
}

// One array of rows u64 values (room for twice as many), truncated by
// another process (coreutils truncate) to 72 KiB: the 64 KiB header region
// and the first 1,024 rows.
func makeTruncated(name string) C.mba_handle {
	cname := C.CString("shm://" + name)
	defer C.free(unsafe.Pointer(cname))
	var h C.mba_handle
	expect("mba_open", C.mba_open(cname, C.MBA_CREATE|C.MBA_EXCL, C.MBA_TYPE_U64, &h), C.MBA_OK)
	expect("mba_reserve", C.mba_reserve(h, 2*rows), C.MBA_OK)
	buf := make([]uint64, rows)
	for i := range buf {
		buf[i] = uint64(i)*3 + 1
	}
	expect("mba_extend", C.mba_extend(h, rows, unsafe.Pointer(&buf[0])), C.MBA_OK)
	if out, err := exec.Command("truncate", "-s", "73728", "/dev/shm/"+name).CombinedOutput(); err != nil {
		fail("truncate: %v %s", err, out)
	}
	return h
}

func drop(name string, h C.mba_handle) {
	C.mba_close(h)
	cname := C.CString("shm://" + name)
	C.mba_unlink(cname)
	C.free(unsafe.Pointer(cname))
}

func main() {
	name := os.Args[1]
	off := len(os.Args) > 2 && os.Args[2] == "off"
	if !off {
		expect("mba_sigbus_guard(1)", C.mba_sigbus_guard(1), C.MBA_OK)
	}

	// Library accesses from several goroutines (so from several threads)
	// at once, each on its own truncated array.
	var wg sync.WaitGroup
	var mu sync.Mutex
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			runtime.LockOSThread()
			n := fmt.Sprintf("%s-%d", name, g)
			h := makeTruncated(n)
			var v C.uint64_t
			rc0 := C.mba_get(h, 0, unsafe.Pointer(&v)) // still in the file
			rc := C.mba_get(h, rows-1, unsafe.Pointer(&v))
			rc2 := C.mba_append_u64(h, 5)
			rc3 := C.mba_get(h, 0, unsafe.Pointer(&v))
			mu.Lock()
			expect("mba_get(0) before the fault", rc0, C.MBA_OK)
			expect("mba_get after truncation", rc, C.MBA_E_TRUNCATED)
			expect("mba_append_u64 after truncation", rc2, C.MBA_E_TRUNCATED)
			expect("mba_get(0) after the fault", rc3, C.MBA_E_TRUNCATED)
			mu.Unlock()
			drop(n, h)
		}(g)
	}
	wg.Wait()
	if off {
		fail("survived without the guard")
		os.Exit(3)
	}

	// A fault in Go code (the raw pointer) is the Go runtime's: with
	// SetPanicOnFault it becomes a panic we recover from.
	n := name + "-raw"
	h := makeTruncated(n)
	var p unsafe.Pointer
	expect("mba_get_ptr", C.mba_get_ptr(h, &p), C.MBA_OK)
	func() {
		old := debug.SetPanicOnFault(true)
		defer debug.SetPanicOnFault(old)
		defer func() {
			r := recover()
			if r == nil {
				fail("the raw read did not fault")
				return
			}
			fmt.Printf("go runtime got the raw fault: %v\n", r)
		}()
		raw := (*[rows]uint64)(p)
		fmt.Println("raw value", raw[rows/2])
	}()
	var v C.uint64_t
	expect("mba_get(0) of the raw array (not poisoned)", C.mba_get(h, 0, unsafe.Pointer(&v)), C.MBA_OK)
	drop(n, h)

	expect("mba_sigbus_guard(0)", C.mba_sigbus_guard(0), C.MBA_OK)
	if failures > 0 {
		fmt.Printf("failed %d\n", failures)
		os.Exit(1)
	}
	fmt.Println("ok")
}
