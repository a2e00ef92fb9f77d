package main

import (
	"fmt"

	"github.com/linkedin/goavro/v2"
	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/schema"
)

func init() {
	var canonical bool
	cmd := &cobra.Command{
		Use:   "schema [ribs|announcements|withdrawals|peerstates|stats|backfill]...",
		Short: "Print the Avro schemas of the output topics and of backfill work items",
		Long: `schema prints the .avsc schema of each output type (all of them by default) on
stdout, bare, so that "bgp-connector schema announcements > announcements.avsc"
writes a schema file; with several types, stdout is one JSON document per type.
Each schema's topic suffix and CRC-64-AVRO fingerprint (the single-object
header) go to stderr. "schema backfill" prints the schema of the work items
of backfill.topic (one archive dump each, see "backfill --help").`,
		RunE: func(cmd *cobra.Command, args []string) error {
			want := map[string]bool{}
			backfill := false
			for _, a := range args {
				if a == "backfill" {
					backfill = true
					continue
				}
				ok := false
				for _, t := range schema.Types() {
					ok = ok || t.Suffix() == a
				}
				if !ok {
					return usageError{fmt.Errorf("no output type %q: use ribs, announcements, withdrawals, peerstates, stats or backfill", a)}
				}
				want[a] = true
			}
			out, info := cmd.OutOrStdout(), cmd.ErrOrStderr()
			show := func(c *goavro.Codec, text string) {
				if canonical {
					fmt.Fprintln(out, c.CanonicalSchema())
				} else {
					fmt.Fprint(out, text)
				}
			}
			for _, t := range schema.Types() {
				if (len(want) > 0 || backfill) && !want[t.Suffix()] {
					continue
				}
				c, err := t.Codec()
				if err != nil {
					return err
				}
				fmt.Fprintf(info, "%s: topic <prefix>.%s, fingerprint CRC-64-AVRO %016x\n", t.Suffix(), t.Suffix(), c.Rabin)
				show(c, t.Text())
			}
			if backfill {
				c, err := schema.BackfillCodec()
				if err != nil {
					return err
				}
				fmt.Fprintf(info, "backfill: work items of backfill.topic (default bgp.backfill), fingerprint CRC-64-AVRO %016x\n", c.Rabin)
				show(c, schema.BackfillText())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&canonical, "canonical", false, "print the parsing canonical form instead of the .avsc text")
	rootCmd.AddCommand(cmd)
}
