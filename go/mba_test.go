package mba

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// An anonymous array: Extend, Len, typed views over the mapping, type
// checks, rows of a shaped array, and records.
func TestAnonExtendAndViews(t *testing.T) {
	a, err := Anon(TypeU64, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	src := make([]uint64, 1000)
	for i := range src {
		src[i] = uint64(i) * 7
	}
	if err := Extend(a, src); err != nil {
		t.Fatal(err)
	}
	if err := Append(a, uint64(1<<63)); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Len(); err != nil || n != 1001 {
		t.Fatalf("Len = %d, %v", n, err)
	}
	v, err := a.Uint64s()
	if err != nil || len(v) != 1001 || v[999] != 999*7 || v[1000] != 1<<63 {
		t.Fatalf("Uint64s: len %d, %v", len(v), err)
	}
	// The view is the mapping: a write through it is seen by a new view.
	v[0] = 42
	if w, _ := View[uint64](a); w[0] != 42 {
		t.Fatal("the view is not the mapping")
	}
	if _, err := a.Float64s(); !errors.Is(err, ErrType) {
		t.Fatalf("Float64s on u64: %v", err)
	}
	if err := Append(a, 1.5); !errors.Is(err, ErrType) {
		t.Fatalf("Append(float64) on u64: %v", err)
	}
	type myID uint64 // a defined type on uint64 fits too
	if err := Append(a, myID(3)); err != nil {
		t.Fatal(err)
	}

	m, err := Anon(TypeF64, &Options{Shape: []uint64{3}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := Extend(m, []float64{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	if err := Extend(m, []float64{1, 2}); !errors.Is(err, ErrArg) {
		t.Fatalf("Extend of 2 elements into 3-element rows: %v", err)
	}
	if n, _ := m.Len(); n != 2 || m.RowSize() != 24 {
		t.Fatalf("rows %d, row size %d", n, m.RowSize())
	}
	f, _ := m.Float64s()
	if len(f) != 6 || f[5] != 6 {
		t.Fatalf("Float64s of 2x3: %v", f)
	}
	type pair struct{ A, B, C float64 }
	r, err := Records[pair](m)
	if err == nil {
		t.Fatalf("Records of a 24-byte struct over 8-byte elements: %v", r)
	}
}

// An array written by C (xlang/c/mbax.c) and by Python (the mba package),
// read by Go through views.
func TestWrittenByCAndPythonReadByGo(t *testing.T) {
	n := name(t)
	runC(t, "create", n, "u64")
	runC(t, "append", n, "10", "500")
	a, err := Open(n, TypeU64, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Uint64s()
	if err != nil || len(v) != 500 || v[0] != 10 || v[499] != 509 {
		t.Fatalf("C-written: len %d, %v", len(v), err)
	}
	a.Close()

	p := n + "-py"
	_ = Remove(p)
	t.Cleanup(func() { _ = Remove(p) })
	python(t, "create", p, "i64")
	python(t, "append", p, "-100", "300")
	b, err := Open(p, TypeAny, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Type() != TypeI64 {
		t.Fatalf("type %v", b.Type())
	}
	w, err := b.Int64s()
	if err != nil || len(w) != 300 {
		t.Fatalf("Python-written: len %d, %v", len(w), err)
	}
	for i, x := range w {
		if x != int64(i)-100 {
			t.Fatalf("element %d = %d", i, x)
		}
	}
	// And back: Go appends, Python reads everything.
	if err := Extend(b, []int64{7, 8}); err != nil {
		t.Fatal(err)
	}
	got := ints(t, python(t, "read", p))
	if len(got) != 302 || got[0] != -100 || got[301] != 8 {
		t.Fatalf("python read %d elements", len(got))
	}
}

// Go appends while a C process waits for the elements and others read
// them mid-way: every read is a prefix of what Go wrote, and the waiter
// wakes when the last one is published.
func TestGoAppendsWhileCReads(t *testing.T) {
	n := name(t)
	a, err := Create(n, TypeI32, &Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const total = 3000
	waiter := exec.Command(cProgram(t), "wait", n, "3000", "20000")
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			if err := Append(a, int32(i*3)); err != nil {
				done <- err
				return
			}
			if i%500 == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		done <- nil
	}()
	reads := 0
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		got := ints(t, runC(t, "read", n))
		for i, x := range got {
			if x != int64(i*3) {
				t.Fatalf("C read element %d = %d mid-way", i, x)
			}
		}
		reads++
	}
	if err := waiter.Wait(); err != nil {
		t.Fatalf("C waiter: %v", err)
	}
	if got := ints(t, runC(t, "read", n)); len(got) != total {
		t.Fatalf("C read %d elements at the end", len(got))
	}
	t.Logf("%d C reads while Go appended", reads)
}

// A Go waiter wakes when another process appends.
func TestWaitLenWokenByC(t *testing.T) {
	n := name(t)
	a, err := Create(n, TypeU64, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = exec.Command(cProgram(t), "append", n, "0", "5").Run()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := a.WaitLen(ctx, 5)
	if err != nil || got != 5 {
		t.Fatalf("WaitLen: %d, %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	n := name(t)
	_, err := Open(n, TypeAny, 0)
	var e *Error
	if !errors.As(err, &e) || e.Code != -17 || !strings.HasPrefix(e.Op, "open") ||
		!strings.Contains(e.Msg, strings.TrimPrefix(n, "shm://")) {
		t.Fatalf("open of a missing name: %#v", err)
	}
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrExists) {
		t.Fatalf("errors.Is on %v", err)
	}
	if !strings.Contains(err.Error(), "no such array") {
		t.Fatalf("Error() = %q", err.Error())
	}
	a, err := Create(n, TypeU64, &Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(n, TypeU64, &Options{Exclusive: true}); !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second exclusive create: %v", err)
	}
	if _, err := Open(n, TypeF64, 0); !errors.Is(err, ErrType) {
		t.Fatalf("open as f64: %v", err)
	}
	ro, err := Open(n, TypeU64, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if err := Append(ro, uint64(1)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append to read-only: %v", err)
	}
	ro.Close()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != ErrClosed {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.Len(); err != ErrClosed {
		t.Fatalf("Len after Close: %v", err)
	}
	if _, err := a.Uint64s(); err != ErrClosed {
		t.Fatalf("view after Close: %v", err)
	}
	if err := Append(a, uint64(1)); err != ErrClosed {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := Anon(TypeRecord, nil); !errors.Is(err, ErrArg) {
		t.Fatalf("anon record without item size: %v", err)
	}
}

// Each error carries the message of its own failure even when many
// goroutines (moving between OS threads) fail at once: the message is
// taken in the same cgo call, never from a later thread-local read.
func TestErrorMessagesAcrossGoroutines(t *testing.T) {
	base := name(t)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				own := base + "-missing-" + itoa(int64(g)) + "-" + itoa(int64(i))
				_, err := Open(own, TypeAny, 0)
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Msg, strings.TrimPrefix(own, "shm://")+":") {
					errs <- "goroutine " + itoa(int64(g)) + " got " + err.Error()
					return
				}
				runtime.Gosched()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A cancelled context ends Wait within ~100 ms even though a cgo call
// cannot be interrupted (Wait sleeps in 50 ms slices).
func TestWaitCancelled(t *testing.T) {
	a, err := Anon(TypeU64, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	seen, _ := a.Seq()
	ctx, cancel := context.WithCancel(context.Background())
	var cancelled time.Time
	go func() {
		time.Sleep(120 * time.Millisecond)
		cancelled = time.Now()
		cancel()
	}()
	_, err = a.Wait(ctx, seen)
	late := time.Since(cancelled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v", err)
	}
	if late > 100*time.Millisecond {
		t.Fatalf("Wait returned %v after the cancellation", late)
	}
	t.Logf("returned %v after the cancellation", late)

	start := time.Now()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel2()
	_, err = a.Wait(ctx2, seen)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took < 80*time.Millisecond || took > 180*time.Millisecond {
		t.Fatalf("Wait with an 80 ms deadline: %v after %v", err, took)
	}
	// An already cancelled context returns at once.
	if _, err := a.Wait(ctx, seen); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
}

// Wait returns promptly when another goroutine appends, and Close while a
// goroutine waits makes that Wait return ErrClosed (no call races close).
func TestWaitWokenAndClosed(t *testing.T) {
	a, err := Anon(TypeU64, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := a.Seq()
	go func() {
		time.Sleep(30 * time.Millisecond)
		_ = Append(a, uint64(1))
	}()
	start := time.Now()
	next, err := a.Wait(context.Background(), seen)
	if err != nil || next == seen || time.Since(start) > 2*time.Second {
		t.Fatalf("Wait: %d, %v", next, err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := a.Wait(context.Background(), next)
		res <- err
	}()
	time.Sleep(30 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if err != ErrClosed {
			t.Fatalf("Wait across Close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Wait did not return after Close")
	}
}

func TestVersionAndTypes(t *testing.T) {
	if !strings.HasPrefix(Version(), "0.") {
		t.Fatalf("Version() = %q", Version())
	}
	for _, s := range []string{"u64", "i32", "f64", "complex128"} {
		if ty, ok := ParseType(s); !ok || ty.String() != s {
			t.Fatalf("ParseType(%q) = %v", s, ty)
		}
	}
	if TypeOf[float32]() != TypeF32 || TypeOf[int]() != TypeI64 || TypeOf[time.Duration]() != TypeI64 {
		t.Fatal("TypeOf")
	}
}
