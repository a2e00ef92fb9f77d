package mrt_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/mrt"
)

// A typical read loop: gaps are counted and reading goes on; a
// TruncatedError ends the stream after every complete record was returned.
// The input here is built in place: ten BGP4MP records (a KEEPALIVE each)
// with 10 bytes of damage after the fourth, gzip-compressed.
func ExampleReader() {
	r, err := mrt.NewReader(damagedUpdates(), mrt.WithName("updates.gz"))
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
			fmt.Println(err)
			continue
		case err != nil: // *mrt.TruncatedError
			fmt.Println(err)
			return
		}
		records++
		_ = rec.Body // valid until the next call to Next
	}
	// Output:
	// updates.gz: offset 204: skipped 10 bytes to offset 214: implausible MRT header (type 26469 subtype 25646 length 774792531) after the 51-byte record at offset 153
	// gzip: 10 records, 1 gaps
}

// damagedUpdates returns the example's input.
func damagedUpdates() io.Reader {
	peer, local := netip.MustParseAddr("192.0.2.1").As4(), netip.MustParseAddr("192.0.2.254").As4()
	body := []byte{0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1} // peer AS 65001, local AS 65000, ifindex 0, AFI IPv4
	body = append(append(body, peer[:]...), local[:]...)
	body = append(append(body, bytes.Repeat([]byte{0xff}, 16)...), 0, 19, 4) // BGP KEEPALIVE
	var plain []byte
	for i := range 10 {
		rec := mrt.RawRecord{Header: mrt.Header{Timestamp: 1700000000 + uint32(i), Type: mrt.TypeBGP4MP, Subtype: mrt.BGP4MPMessageAS4}, Body: body}
		plain = rec.AppendTo(plain)
		if i == 3 {
			plain = append(plain, "damaged..."...)
		}
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(plain)
	w.Close()
	return &gz
}
