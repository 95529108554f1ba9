package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/personalize"
)

// ComputeSegments scores every contact with orders on recency, frequency and
// monetary quintiles and stores the segment personalize.Segment names; a
// contact whose scores did not change is not written (no warehouse churn).
// It returns how many contacts changed.
func (s *Store) ComputeSegments(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `
		WITH stats AS (
			SELECT contact_id, max(ordered_at) AS last_at, count(*) AS n, sum(amount_cents) AS spent
			FROM orders WHERE contact_id IS NOT NULL AND ordered_at IS NOT NULL GROUP BY contact_id
		)
		SELECT s.contact_id::text,
			ntile(5) OVER (ORDER BY s.last_at, s.contact_id),
			ntile(5) OVER (ORDER BY s.n, s.contact_id),
			ntile(5) OVER (ORDER BY COALESCE(s.spent, 0), s.contact_id)
		FROM stats s`)
	if err != nil {
		return 0, fmt.Errorf("score orders: %w", err)
	}
	var ids, segments []string
	var r, f, m []int64
	for rows.Next() {
		var id string
		var rr, ff, mm int
		if err := rows.Scan(&id, &rr, &ff, &mm); err != nil {
			rows.Close()
			return 0, err
		}
		ids, segments = append(ids, id), append(segments, personalize.Segment(rr, ff, mm))
		r, f, m = append(r, int64(rr)), append(f, int64(ff)), append(m, int64(mm))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE contacts c SET rfm_recency = u.r, rfm_frequency = u.f, rfm_monetary = u.m, rfm_segment = u.seg
		FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::text[]) AS u(id, r, f, m, seg)
		WHERE c.id = u.id AND (c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.rfm_segment) IS DISTINCT FROM (u.r, u.f, u.m, u.seg)`,
		pq.Array(ids), pq.Array(r), pq.Array(f), pq.Array(m), pq.Array(segments))
	if err != nil {
		return 0, fmt.Errorf("store segments: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Baskets are each contact's products, bought and viewed (personalize.Products
// of their Order Completed, Product Viewed and Product Added events, people's
// only), with the contact's country: what recommendations are trained on.
func (s *Store) Baskets(ctx context.Context) ([]personalize.Basket, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT e.contact_id::text, COALESCE(c.country::text, ''), e.type, e.properties::text
		FROM events e JOIN contacts c ON c.id = e.contact_id
		WHERE e.type IN ('Order Completed', 'Product Viewed', 'Product Added') AND NOT e.machine
		ORDER BY e.contact_id, e.occurred_at, e.event_id`)
	if err != nil {
		return nil, fmt.Errorf("read baskets: %w", err)
	}
	defer rows.Close()
	var out []personalize.Basket
	for rows.Next() {
		var contact, country, typ, props string
		if err := rows.Scan(&contact, &country, &typ, &props); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Contact != contact {
			out = append(out, personalize.Basket{Contact: contact, Country: country})
		}
		b := &out[len(out)-1]
		b.Items = append(b.Items, personalize.Products(typ, []byte(props))...)
	}
	return out, rows.Err()
}

// StoreRecommendations replaces the recommendations and the popular products
// in one transaction.
func (s *Store) StoreRecommendations(ctx context.Context, r *personalize.Recommender) error {
	var products, recommended, countries, popular []string
	var ranks, popRanks []int64
	var scores []float64
	for _, p := range kith.SortedKeys(r.Related) {
		for i, sc := range r.Related[p] {
			products, recommended, ranks, scores = append(products, p), append(recommended, sc.Product), append(ranks, int64(i+1)), append(scores, sc.Score)
		}
	}
	for _, c := range kith.SortedKeys(r.Popular) {
		for i, p := range r.Popular[c] {
			countries, popular, popRanks = append(countries, c), append(popular, p), append(popRanks, int64(i+1))
		}
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range []string{`DELETE FROM recommendations`, `DELETE FROM popular_products`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO recommendations (product, rank, recommended, score)
			SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::float8[])`,
			pq.Array(products), pq.Array(ranks), pq.Array(recommended), pq.Array(scores)); err != nil {
			return fmt.Errorf("store recommendations: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO popular_products (country, rank, product)
			SELECT * FROM unnest($1::text[], $2::int[], $3::text[])`, pq.Array(countries), pq.Array(popRanks), pq.Array(popular))
		return err
	})
}

// Recommender returns the stored recommendations of products and the popular
// products of country and everywhere: enough for personalize.Recommend.
func (s *Store) Recommender(ctx context.Context, products []string, country string) (*personalize.Recommender, error) {
	r := &personalize.Recommender{Related: map[string][]personalize.Scored{}, Popular: map[string][]string{}}
	rows, err := s.db.QueryContext(ctx, `SELECT product, recommended, score FROM recommendations WHERE product = ANY($1) ORDER BY product, rank`, pq.Array(products))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var p string
		var sc personalize.Scored
		if err := rows.Scan(&p, &sc.Product, &sc.Score); err != nil {
			rows.Close()
			return nil, err
		}
		r.Related[p] = append(r.Related[p], sc)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT country, product FROM popular_products WHERE country IN ($1, '') ORDER BY country, rank`, country)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, p string
		if err := rows.Scan(&c, &p); err != nil {
			return nil, err
		}
		r.Popular[c] = append(r.Popular[c], p)
	}
	return r, rows.Err()
}
