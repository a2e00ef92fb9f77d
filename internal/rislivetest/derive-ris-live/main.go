// Command derive-ris-live writes an MRT updates file as the RIS Live JSON
// lines RIS Live would have sent for it: one ris_message with "raw" per
// BGP4MP MESSAGE_AS4 record (see rislivetest.Derive). The tests of package
// rislive derive their long streams the same way, into a temporary
// directory; this program is for looking at them or for benchmarks by hand:
//
//	go run ./internal/rislivetest/derive-ris-live \
//	    -host rrc06 ../shared/testdata/real/libbgpstream/ris.rrc06.updates.1427846400.gz > rrc06.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
)

func main() {
	var o rislivetest.DeriveOptions
	flag.StringVar(&o.Host, "host", "rrc00", `the "host" field (rrc06, or rrc06.ripe.net)`)
	flag.BoolVar(&o.OmitRaw, "no-raw", false, `leave out "raw" (JSON fields only)`)
	flag.BoolVar(&o.Style2019, "2019", false, "write RIS Live's 2019 field style (lower-case origin, no empty arrays)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: derive-ris-live [flags] MRT-UPDATES-FILE > FILE.json\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	w := bufio.NewWriter(os.Stdout)
	st, err := rislivetest.Derive(f, w, o)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%d MRT records, %d lines (%d UPDATE, %d KEEPALIVE, %d OPEN, %d NOTIFICATION)\n",
		st.Records, st.Lines, st.Updates, st.Keepalives, st.Opens, st.Notifications)
}
