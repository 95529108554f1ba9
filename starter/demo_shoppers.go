package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/kithhq/kith/quality"
)

// demoShopperCount is how many shoppers the shop's server reports, and
// demoFlushAt how many messages it sends per request, like a Segment library
// (analytics-node flushes at 15): each identify is a contact workflow update, so
// one request of every identify would outlive the API's 30 s write timeout on a
// slow machine.
const (
	demoShopperCount = 100
	demoFlushAt      = 20
)

// demoShoppers has the shop's server (a trusted write key) identify shoppers
// through the events API — four in five with a birthday — and report what they
// click, product categories shaped by age. The Cleaning then imputes the missing
// ages from that behaviour and reports how well, on known ages held back.
func demoShoppers(ctx context.Context, api string, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	d := demoAPI{ctx, api}
	post := func(batch []map[string]any) error {
		b, _ := json.Marshal(map[string]any{"batch": batch})
		code, body, _, err := d.do(http.DefaultClient, "POST", "/v1/batch", "application/json", string(b), func(r *http.Request) {
			r.SetBasicAuth(demoBackendKey, "")
		})
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("events API answered %d: %s", code, body)
		}
		return err
	}
	r := rand.New(rand.NewPCG(2026, 12))
	now := time.Now().UTC()
	var identifies, clicks []map[string]any
	withBirthday := 0
	for i := range demoShopperCount {
		age := 18 + r.IntN(62)
		user := fmt.Sprintf("shopper-%03d", i)
		traits := map[string]any{"email": fmt.Sprintf("shopper%03d@shop.example", i), "country": "NO"}
		if i%5 != 0 {
			traits["birthday"] = now.AddDate(-age, -1-r.IntN(10), 0).Format(time.DateOnly)
			withBirthday++
		}
		identifies = append(identifies, map[string]any{"type": "identify", "messageId": "demo-" + user, "userId": user, "traits": traits})
		for j, c := range quality.ShopperCategories(age, 8, r) {
			clicks = append(clicks, map[string]any{"type": "track", "messageId": fmt.Sprintf("demo-%s-click-%d", user, j), "userId": user,
				"event": "Product Clicked", "properties": map[string]any{"product_id": fmt.Sprintf("%s-%d", c, r.IntN(40)), "category": c}})
		}
	}
	start := time.Now()
	for batch := range slices.Chunk(identifies, demoFlushAt) {
		if err := post(batch); err != nil {
			return err
		}
	}
	if err := post(clicks); err != nil { // stored only: one request is quick
		return err
	}
	say("the shop's server (trusted key) identified %d shoppers (%d with a birthday) and sent %d Product Clicked events with their categories in %s",
		demoShopperCount, withBirthday, len(clicks), time.Since(start).Round(10*time.Millisecond))
	return nil
}
