package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Worker holds the worker's own metrics (beside the Temporal SDK's). A nil
// *Worker records nothing.
type Worker struct {
	loads *prometheus.CounterVec
	rows  *prometheus.GaugeVec
}

// NewWorker registers the worker's metrics on reg.
func NewWorker(reg prometheus.Registerer) *Worker {
	w := &Worker{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kith_warehouse_loads_total",
			Help: "Warehouse table loads checked against PostgreSQL, by table and outcome (ok, mismatch).",
		}, []string{"table", "outcome"}),
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kith_warehouse_rows",
			Help: "Rows in each BigQuery star-schema table after its latest checked load.",
		}, []string{"table"}),
	}
	reg.MustRegister(w.loads, w.rows)
	return w
}

// Loaded records a checked load of table: BigQuery's rows, and whether they
// matched PostgreSQL.
func (w *Worker) Loaded(table string, bigQueryRows int64, ok bool) {
	if w == nil {
		return
	}
	outcome := "ok"
	if !ok {
		outcome = "mismatch"
	}
	w.loads.WithLabelValues(table, outcome).Inc()
	w.rows.WithLabelValues(table).Set(float64(bigQueryRows))
}
