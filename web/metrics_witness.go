package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casevault/casevault/vault"
)

// witnessCollector exposes the counters of the audit log's witnesses
// (Server.Witnesses), labelled by witness, read at scrape time. It is an
// unchecked collector: the witnesses are known only once the server is
// wired.
type witnessCollector struct{ s *Server }

var witnessDescs = []struct {
	desc    *prometheus.Desc
	counter bool
	value   func(vault.WitnessStats) int64
}{
	{prometheus.NewDesc("casevault_audit_witness_cosignatures_total", "Witness cosignatures of audit checkpoints received and stored.", []string{"witness"}, nil),
		true, func(w vault.WitnessStats) int64 { return w.Cosigned }},
	{prometheus.NewDesc("casevault_audit_witness_failures_total", "Submissions of audit checkpoints to a witness that failed and are retried (network, 5xx, log not registered).", []string{"witness"}, nil),
		true, func(w vault.WitnessStats) int64 { return w.Failures }},
	{prometheus.NewDesc("casevault_audit_witness_refusals_total", "Audit checkpoints a witness refused after accepting earlier ones of the log: it has seen a different history (split view or fork). Alert on any.", []string{"witness"}, nil),
		true, func(w vault.WitnessStats) int64 { return w.Refusals }},
	{prometheus.NewDesc("casevault_audit_witness_refusing_logs", "Audit logs whose latest checkpoint a witness refused (names in the server log).", []string{"witness"}, nil),
		false, func(w vault.WitnessStats) int64 { return w.Refusing }},
	{prometheus.NewDesc("casevault_audit_witness_queued_logs", "Audit logs with a checkpoint waiting to be sent to a witness.", []string{"witness"}, nil),
		false, func(w vault.WitnessStats) int64 { return w.Waiting }},
}

func (witnessCollector) Describe(chan<- *prometheus.Desc) {}

func (c witnessCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.Witnesses == nil {
		return
	}
	for _, w := range c.s.Witnesses() {
		for _, d := range witnessDescs {
			t := prometheus.GaugeValue
			if d.counter {
				t = prometheus.CounterValue
			}
			ch <- prometheus.MustNewConstMetric(d.desc, t, float64(d.value(w)), w.Name)
		}
	}
}
