// Command mbax is the Go program of the cross-language suite
// (xlang/README.md), written with the mba package (go/).
//
//	mbax create NAME TYPE            TYPE: u64, i64, i32 or f64
//	mbax append NAME START COUNT     appends START .. START+COUNT-1, one call each
//	mbax read NAME                   prints every element, one per line
//	mbax wait NAME N TIMEOUT_MS      waits until the length is at least N
//
// With MBA_XLANG_GATE=GATE in the environment, append first meets the
// other appender at a barrier: it appends one element to the u64 array
// GATE and waits until GATE holds 2, so that two appenders start together.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	mba "github.com/libmba/mba-go"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "mbax(go): "+format+"\n", a...)
	os.Exit(1)
}

func num(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		die("bad number %q", s)
	}
	return v
}

func gate() error {
	name := os.Getenv("MBA_XLANG_GATE")
	if name == "" {
		return nil
	}
	g, err := mba.Open(name, mba.TypeU64, 0)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := mba.Append(g, uint64(1)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = g.WaitLen(ctx, 2)
	return err
}

func appendRange(a *mba.Array, start, count int64) error {
	if err := gate(); err != nil {
		return err
	}
	for v := start; v < start+count; v++ {
		var err error
		switch a.Type() {
		case mba.TypeU64:
			err = mba.Append(a, uint64(v))
		case mba.TypeI64:
			err = mba.Append(a, v)
		case mba.TypeI32:
			err = mba.Append(a, int32(v))
		case mba.TypeF64:
			err = mba.Append(a, float64(v))
		default:
			die("unsupported type %v", a.Type())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func printAll(a *mba.Array) error {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	switch a.Type() {
	case mba.TypeU64:
		vs, err := a.Uint64s()
		for _, v := range vs {
			fmt.Fprintln(w, v)
		}
		return err
	case mba.TypeI64:
		vs, err := a.Int64s()
		for _, v := range vs {
			fmt.Fprintln(w, v)
		}
		return err
	case mba.TypeI32:
		vs, err := a.Int32s()
		for _, v := range vs {
			fmt.Fprintln(w, v)
		}
		return err
	case mba.TypeF64:
		vs, err := a.Float64s()
		for _, v := range vs {
			if v == float64(int64(v)) {
				fmt.Fprintln(w, int64(v))
			} else {
				fmt.Fprintf(w, "%.17g\n", v)
			}
		}
		return err
	}
	die("unsupported type %v", a.Type())
	return nil
}

func main() {
	args := os.Args
	if len(args) < 3 {
		die("usage: mbax create|append|read|wait NAME ...")
	}
	verb, name := args[1], args[2]
	if verb == "create" && len(args) == 4 {
		t, ok := mba.ParseType(args[3])
		if !ok {
			die("unknown type %s", args[3])
		}
		a, err := mba.Create(name, t, &mba.Options{Exclusive: true})
		if err != nil {
			die("%v", err)
		}
		if err := a.Close(); err != nil {
			die("%v", err)
		}
		return
	}
	a, err := mba.Open(name, mba.TypeAny, 0)
	if err != nil {
		die("%v", err)
	}
	switch {
	case verb == "append" && len(args) == 5:
		err = appendRange(a, num(args[3]), num(args[4]))
	case verb == "read" && len(args) == 3:
		err = printAll(a)
	case verb == "wait" && len(args) == 5:
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(num(args[4]))*time.Millisecond)
		defer cancel()
		var n int
		n, err = a.WaitLen(ctx, int(num(args[3])))
		if err != nil {
			err = fmt.Errorf("wait: at length %d: %w", n, err)
		}
	default:
		die("bad arguments for %s", verb)
	}
	if err != nil {
		die("%v", err)
	}
	if err := a.Close(); err != nil {
		die("%v", err)
	}
}
