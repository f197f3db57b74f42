// Command etl-inventory-csv copies every part inventory of an ION
// environment to CSV, page by page. Configure it like any SDK program:
// ION_BASE_URL with ION_CLIENT_ID/ION_CLIENT_SECRET (or ION_TOKEN), or
// ION_ENV=sandbox|prod with the ION_SANDBOX_*/ION_PROD_* names.
//
//	go run ./examples/etl-inventory-csv -o inventory.csv -page 500
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"github.com/ionbox/ionbox/client"
)

func main() {
	out := flag.String("o", "-", "output file (- for stdout)")
	page := flag.Int("page", 500, "page size (at most 1000)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *page); err != nil {
		fmt.Fprintln(os.Stderr, "etl-inventory-csv:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, page int) error {
	c, err := client.FromEnv()
	if err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "part_id", "serial_number", "lot_number", "quantity", "quantity_available", "location_id", "status"})
	n := 0
	for inv, err := range c.AllPartInventories(ctx, client.ListParams{First: page, Sort: []string{"ID_ASC"}}) {
		if err != nil {
			return fmt.Errorf("after %d rows: %w", n, err)
		}
		loc := ""
		if inv.LocationID != nil {
			loc = strconv.FormatInt(*inv.LocationID, 10)
		}
		if err := cw.Write([]string{
			strconv.FormatInt(inv.ID, 10), strconv.FormatInt(inv.PartID, 10), deref(inv.SerialNumber), deref(inv.LotNumber),
			strconv.FormatFloat(inv.Quantity, 'f', -1, 64), strconv.FormatFloat(inv.QuantityAvailable, 'f', -1, 64), loc, inv.Status,
		}); err != nil {
			return err
		}
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d inventory rows\n", n)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
