package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// handleQualityReport serves GET /reports/quality with an admin key (Bearer,
// or as the Basic password so a browser can ask for it): the data-quality
// report page, charts drawn on the server as SVG, no script, nothing fetched
// from elsewhere.
func (s *Server) handleQualityReport(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireAdmin(w, r); !ok {
		return
	}
	rep, err := LoadQualityReport(r.Context(), s.Reports, s.WarehouseRows, s.Now())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := WriteQualityReport(&b, rep); err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Write(b.Bytes())
}

// LoadQualityReport reads the report from the store, adds each star-schema
// table's BigQuery row count (when wh is set) and the completeness gains. The
// page and `starter report` both read it here.
func LoadQualityReport(ctx context.Context, reports kith.Reports, wh kith.WarehouseCounter, now time.Time) (kith.QualityReport, error) {
	rep, err := reports.QualityReport(ctx, now)
	if err != nil {
		return rep, err
	}
	quality.FillGains(&rep.Completeness, quality.DefaultWeights)
	if wh != nil {
		for i := range rep.Warehouse {
			n, err := wh.CountRows(ctx, rep.Warehouse[i].Table)
			if err != nil {
				return rep, err
			}
			rep.Warehouse[i].BigQuery = n
		}
	}
	return rep, nil
}
