// Command go-reader is the demo's Go reader (run by examples-c/demo.sh):
// it follows the array that examples-c/writer appends to and prints each
// reading as it arrives, reading the C structs in place as a []Reading
// (mba.Records: no copy) and sleeping in Array.Wait between appends.
//
//	go-reader NAME
package main

/*
#include <time.h>
#include <stdint.h>
static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	mba "github.com/libmba/mba-go"
)

// Reading is struct reading of examples-c/writer.c (same layout).
type Reading struct {
	Seq     uint64
	TimeNs  int64 // CLOCK_MONOTONIC when written
	Celsius float64
	Sensor  uint32
	Last    uint32 // 1 in the end marker
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "go:", err)
	os.Exit(1)
}

func main() {
	name := os.Args[1]
	var a *mba.Array
	var err error
	for i := 0; i < 1000; i++ { // wait up to 10 s for the writer to create it
		if a, err = mba.Open(name, mba.TypeRecord, 0); !errors.Is(err, mba.ErrNotFound) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		die(err)
	}
	defer a.Close()
	next := 0
	for {
		seen, err := a.Seq() // before the length: nothing missed
		if err != nil {
			die(err)
		}
		rs, err := mba.Records[Reading](a) // every reading published so far
		if err != nil {
			die(err)
		}
		for ; next < len(rs); next++ {
			r := &rs[next]
			if r.Last != 0 {
				fmt.Printf("go:     end marker after %d readings\n", next)
				return
			}
			fmt.Printf("go:     got reading %d: sensor %d, %.2f C (%.0f us after it was written)\n",
				r.Seq, r.Sensor, r.Celsius, float64(int64(C.monotonic_ns())-r.TimeNs)/1000)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = a.Wait(ctx, seen)
		cancel()
		if err != nil {
			die(fmt.Errorf("nothing new for 10 s (%w); is the writer running?", err))
		}
	}
}
