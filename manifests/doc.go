// Package manifests holds Kedastral's Kubernetes YAML. Its test decodes every document strictly
// into the real Kubernetes API types (and KEDA's ScaledObject schema), so a misspelt field fails
// the build rather than being silently dropped by the API server; it also runs the real promtool
// on the alerts (check rules, and test rules with testdata/alerts_test.yaml) and checks the
// Grafana dashboard's layout and variables. test/e2e runs the alerts' and the dashboard's
// queries against the real agent and gateway.
package manifests
