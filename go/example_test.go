package mba_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	mba "github.com/libmba/mba-go"
)

func Example() {
	a, err := mba.Anon(mba.TypeF64, nil) // or mba.Create("shm://temps", mba.TypeF64, nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	_ = mba.Append(a, 21.5)
	_ = mba.Extend(a, []float64{22.0, 22.5})
	v, _ := a.Float64s() // the mapped elements themselves, valid until Close
	fmt.Println(v)
	_, err = a.Uint64s()
	fmt.Println(errors.Is(err, mba.ErrType))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	n, err := a.WaitLen(ctx, 4) // nobody appends a fourth
	fmt.Println(n, err)
	// Output:
	// [21.5 22 22.5]
	// true
	// 3 context deadline exceeded
}

func ExampleOpen() {
	_, err := mba.Open("shm://no-such-array-example", mba.TypeAny, mba.ReadOnly)
	var e *mba.Error
	fmt.Println(errors.Is(err, mba.ErrNotFound), errors.As(err, &e) && e.Code == -17)
	// Output: true true
}
