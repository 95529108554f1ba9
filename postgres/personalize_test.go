package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kithhq/kith/personalize"
)

// TestSegmentsAndRecommendationsFromTheStore: RFM from orders (a frequent,
// recent, big spender is a champion; one old small order is hibernating),
// unchanged scores are not rewritten; recommendations trained on bought and
// viewed products come back for a product.
func TestSegmentsAndRecommendationsFromTheStore(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	s.DB().MustExec(`
		INSERT INTO contacts (id, email, country) SELECT md5(x)::uuid, x || '@shop.example', 'NO' FROM generate_series(1, 10) g, LATERAL (SELECT 'k' || g AS x) v;
		INSERT INTO orders (id, contact_id, provider, external_id, amount_cents, currency, status, ordered_at)
		SELECT md5('o' || g || '-' || i)::uuid, md5('k' || g)::uuid, 'hubspot', 'o' || g || '-' || i, g * 1000, 'NOK', 'closedwon',
			now() - (11 - g) * interval '20 days' + i * interval '1 hour'
		FROM generate_series(1, 10) g, generate_series(1, g) i;
		INSERT INTO events (event_id, contact_id, type, source, occurred_at, properties) VALUES
			('e1', md5('k1')::uuid, 'Order Completed', 'crm', now(), '{"products": [{"product_id": "mug"}, {"sku": "saucer"}]}'),
			('e2', md5('k2')::uuid, 'Product Viewed', 'tracker', now(), '{"product_id": "mug"}'),
			('e3', md5('k2')::uuid, 'Product Added', 'tracker', now(), '{"sku": "saucer"}'),
			('e4', md5('k3')::uuid, 'Product Viewed', 'tracker', now(), '{"product_id": "tea"}');`)
	n, err := s.ComputeSegments(ctx)
	if err != nil || n != 10 {
		t.Fatalf("segments: %d changed (%v), want all 10", n, err)
	}
	var best, worst string
	s.DB().Get(&best, `SELECT rfm_segment FROM contacts WHERE id = md5('k10')::uuid`)
	s.DB().Get(&worst, `SELECT rfm_segment FROM contacts WHERE id = md5('k1')::uuid`)
	if best != "champions" || worst != "hibernating" {
		t.Errorf("segments: most recent, frequent, big spender %q; oldest single small order %q", best, worst)
	}
	if n, err := s.ComputeSegments(ctx); err != nil || n != 0 {
		t.Errorf("a second run changed %d (%v), want none", n, err)
	}
	baskets, err := s.Baskets(ctx)
	if err != nil || len(baskets) != 3 {
		t.Fatalf("baskets %+v (%v)", baskets, err)
	}
	if err := s.StoreRecommendations(ctx, personalize.Train(baskets, 10)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Recommender(ctx, []string{"mug"}, "NO")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Recommend([]string{"mug"}, "NO", 2); !slices.Equal(got, []string{"saucer", "tea"}) {
		t.Errorf("for a mug: %v, want the saucer, then the popular tea", got)
	}
}
