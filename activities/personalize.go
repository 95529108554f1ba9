package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/kithhq/kith/personalize"
)

// PersonalizeStore is what the nightly Personalization reads and writes.
type PersonalizeStore interface {
	ComputeSegments(ctx context.Context) (int, error)
	Baskets(ctx context.Context) ([]personalize.Basket, error)
	StoreRecommendations(ctx context.Context, r *personalize.Recommender) error
}

// Personalize computes RFM segments and recommendations.
type Personalize struct {
	Store PersonalizeStore
	// TopN is how many recommendations are kept per product and how many
	// popular products per country (default 20).
	TopN int
}

// RecommendationsResult says what the recommendations were trained on.
type RecommendationsResult struct {
	Baskets  int `json:"baskets"`
	Products int `json:"products"`
}

// Segments stores every contact's RFM scores and segment; it returns how many
// contacts changed.
func (a *Personalize) Segments(ctx context.Context) (int, error) {
	return a.Store.ComputeSegments(ctx)
}

// Recommendations trains item-to-item recommendations on every contact's
// products and replaces the stored ones.
func (a *Personalize) Recommendations(ctx context.Context) (RecommendationsResult, error) {
	n := a.TopN
	if n <= 0 {
		n = 20
	}
	baskets, err := a.Store.Baskets(ctx)
	if err != nil {
		return RecommendationsResult{}, err
	}
	activity.RecordHeartbeat(ctx, len(baskets))
	r := personalize.Train(baskets, n)
	if err := a.Store.StoreRecommendations(ctx, r); err != nil {
		return RecommendationsResult{}, err
	}
	return RecommendationsResult{Baskets: len(baskets), Products: len(r.Related)}, nil
}
