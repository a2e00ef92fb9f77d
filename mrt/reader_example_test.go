package mrt_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bgp-connector/bgp-connector/mrt"
)

// A typical read loop: gaps are counted and reading goes on; a
// TruncatedError ends the stream after every complete record was returned.
func ExampleReader() {
	f, err := os.Open(filepath.Join("..", "..", "shared", "testdata", "real", "bgpkit", "rrc00_2000.03_updates.20000325.0345.gz"))
	if err != nil {
		fmt.Println("corpus not present")
		return
	}
	defer f.Close()
	r, err := mrt.NewReader(f, mrt.WithName("updates.20000325.0345.gz"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	records, gaps := 0, 0
	for {
		rec, err := r.Next()
		var gap *mrt.GapError
		switch {
		case err == io.EOF:
			fmt.Printf("%s: %d records, %d gaps\n", r.Compression(), records, gaps)
			return
		case errors.As(err, &gap):
			gaps++
			fmt.Println(gap.Start, gap.End)
			continue
		case err != nil: // *mrt.TruncatedError
			fmt.Println(err)
			return
		}
		records++
		_ = rec.Body // valid until the next call to Next
	}
	// Output:
	// 188 198
	// 4554 4568
	// gzip: 2580 records, 2 gaps
}
