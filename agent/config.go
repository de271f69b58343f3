package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/pkg/promsource"
	"github.com/kedastral/kedastral/pkg/remotemodel"
)

// envPrefix is the prefix of every variable the agent reads.
const envPrefix = "KEDASTRAL"

// maxHorizonSteps bounds a plan's length, so that a typo such as KEDASTRAL_STEP=1s with a
// 30-minute horizon is reported instead of producing plans of tens of thousands of steps.
const maxHorizonSteps = 10_000

// maxHistoryPoints bounds the history kept in memory (8 MiB of float64): 7 days at a 1-second
// step fit, and anything larger is more likely a wrong unit than a need.
const maxHistoryPoints = 1_000_000

// Config is everything the agent reads from its environment. Durations accept Go ("90s",
// "1h30m") and Prometheus ("7d", "1w") syntax.
type Config struct {
	Workload  string `envconfig:"WORKLOAD" required:"true" desc:"name of the workload (e.g. the Deployment) this agent plans for; KEDA triggers name it as metadata workload"`
	Namespace string `envconfig:"NAMESPACE" default:"default" desc:"Kubernetes namespace of the workload"`

	// Where the metric comes from: Prometheus, or a replayed trace for demos and tests.
	Query string `envconfig:"QUERY" desc:"PromQL query returning exactly one series: the workload's load (e.g. sum(rate(http_requests_total{app=\"api\"}[1m])))"`
	PrometheusConfig
	ReplayFile  string  `envconfig:"REPLAY_FILE" desc:"replay this CSV trace (timestamp,value) instead of querying Prometheus"`
	ReplaySpeed float64 `envconfig:"REPLAY_SPEED" default:"1" desc:"simulated seconds per real second when replaying"`

	// Where plans go: the KEDASTRAL_REDIS_* variables, shared with the gateway.
	planstore.Options

	// Forecasting and planning.
	Step         time.Duration `envconfig:"STEP" default:"1m" desc:"resolution of the history and the plan"`
	Interval     time.Duration `envconfig:"INTERVAL" default:"30s" desc:"how often the agent fetches, forecasts and publishes"`
	History      time.Duration `envconfig:"HISTORY" default:"7d" desc:"how much history to keep (and back-fill at start); a weekly pattern needs two weeks or more"`
	Horizon      time.Duration `envconfig:"HORIZON" default:"30m" desc:"how far ahead to plan"`
	Model        string        `envconfig:"MODEL" default:"auto" desc:"forecasting model: auto (weighs the others by their recent errors on this workload), or one of naive, seasonal_naive, seasonal_naive_week, robust_level, arima, sarima, holt_winters, dshw, fft_dsp, mstl, dhr, analog; or http, your own model behind KEDASTRAL_MODEL_URL"`
	ModelURL     string        `envconfig:"MODEL_URL" desc:"with KEDASTRAL_MODEL=http: the endpoint the history is POSTed to (contract in pkg/remotemodel)"`
	ModelTimeout time.Duration `envconfig:"MODEL_TIMEOUT" default:"5s" desc:"with KEDASTRAL_MODEL=http: timeout of each request"`
	ModelToken   string        `envconfig:"MODEL_BEARER_TOKEN_FILE" desc:"with KEDASTRAL_MODEL=http: file holding a bearer token for the endpoint, read at each request"`
	Periods      []string      `envconfig:"PERIODS" desc:"seasonal periods to use, e.g. 24h,7d (default: detected from the data: a quarter and a half hour, as cron jobs have, an hour, a day and a week)"`
	RefitEvery   time.Duration `envconfig:"REFIT_INTERVAL" default:"6h" desc:"how often the model's parameters are re-estimated (the level follows every sample regardless)"`
	Quantile     float64       `envconfig:"QUANTILE" default:"0.9" desc:"upper quantile the forecast reports, in (0.5, 1)"`
	TargetPerPod float64       `envconfig:"TARGET_PER_POD" required:"true" desc:"metric value one replica handles (same unit as the query)"`
	Headroom     float64       `envconfig:"HEADROOM" default:"1" desc:"multiplier on the forecast (see KEDASTRAL_BASIS) before dividing by the target, in [1, 100]"`
	MinReplicas  int32         `envconfig:"MIN_REPLICAS" default:"1" desc:"fewest replicas a plan asks for"`
	MaxReplicas  int32         `envconfig:"MAX_REPLICAS" default:"20" desc:"most replicas a plan asks for"`
	LeadTime     string        `envconfig:"LEAD_TIME" default:"3m" desc:"pod start-up plus scaling delay: the gateway answers the max over [now, now+lead]; auto measures the workload's pod start-up (creation to ready) from kube-state-metrics in Prometheus and uses its p90 plus KEDASTRAL_SCALING_DELAY"`
	StartupQuery string        `envconfig:"STARTUP_QUERY" desc:"with KEDASTRAL_LEAD_TIME=auto: PromQL giving one series per pod with its start-up seconds (default: from kube_pod_created and kube_pod_status_ready_time of the workload's pods over the last 7 days)"`
	ScalingDelay time.Duration `envconfig:"SCALING_DELAY" default:"45s" desc:"with KEDASTRAL_LEAD_TIME=auto: added to the measured start-up for KEDA's polling and the HPA's sync"`
	Basis        string        `envconfig:"BASIS" default:"upper" desc:"what capacity is sized for: upper (the upper-quantile forecast × headroom) or point (the point forecast × headroom)"`
	ScaleToZero  bool          `envconfig:"SCALE_TO_ZERO" default:"false" desc:"allow plans of 0 replicas (needs KEDASTRAL_MIN_REPLICAS=0), only where the forecast for the whole lead window and the last observed value are zero"`
	DownWindow   time.Duration `envconfig:"SCALE_DOWN_WINDOW" default:"0s" desc:"scale down only when the forecast stays low this long: each step asks for the most the next window needs (off by default: the HPA's scale-down stabilization already holds capacity)"`
	DownMaxFrac  float64       `envconfig:"SCALE_DOWN_MAX_FRACTION" default:"1" desc:"largest fraction of its replicas a plan sheds from one step to the next, in (0, 1] (1: no limit)"`
	UpMaxFactor  float64       `envconfig:"SCALE_UP_MAX_FACTOR" default:"4" desc:"largest growth of the forecast's replicas per step (a guard against a wild forecast; the reactive floor and events are exempt)"`
	Steps        float64       `envconfig:"HPA_TOLERANCE_STEPS" default:"0" desc:"when set to the HPA's tolerance (0.1 unless the ScaledObject's behavior changes it), round the plan's replicas up to steps more than that apart, so the HPA acts on every rise the plan takes instead of ignoring those within its tolerance (0: off; agent backtest --simulate --sweep shows whether it pays for a workload)"`
	Events       string        `envconfig:"EVENTS" desc:"known surges merged into the plan, separated by ';', e.g. name=sale start=2026-11-27T08:00:00Z duration=6h multiplier=3; start=2026-12-01T09:00:00Z duration=1h min=20"`
	Guard        bool          `envconfig:"ACCURACY_GUARD" default:"true" desc:"compare forecasts with actuals as they arrive; widen the headroom when the upper quantile is exceeded more often than calibrated, and plan from the reactive floor alone while the forecast is badly wrong"`
	Lease        bool          `envconfig:"LEASE" default:"true" desc:"with several agents for one workload (one per app replica), only the one holding the workload's lease in Redis fetches, forecasts and publishes; the others stand by, mirror the stored plan in their metrics, and one takes over at its next cycle when the holder stops, or within 3 × KEDASTRAL_INTERVAL (at least 30s) when it dies"`
	MaxStaleness time.Duration `envconfig:"MAX_STALENESS" default:"5m" desc:"stop publishing when the newest sample is older than this, so KEDA's fallback engages"`

	HTTPAddr  string `envconfig:"HTTP_ADDR" default:":8080" desc:"address of /metrics, /healthz, /readyz, /plan and /status"`
	LogLevel  string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
}

// PrometheusConfig is where the metric is read from and how: the KEDASTRAL_PROMETHEUS_*
// variables, shared by the agent and `agent export`.
type PrometheusConfig struct {
	PrometheusURL         string        `envconfig:"PROMETHEUS_URL" desc:"Prometheus (or Mimir, Thanos, VictoriaMetrics) base URL; required unless KEDASTRAL_REPLAY_FILE is set"`
	PrometheusTimeout     time.Duration `envconfig:"PROMETHEUS_TIMEOUT" default:"30s" desc:"timeout of each Prometheus request"`
	BearerToken           string        `envconfig:"PROMETHEUS_BEARER_TOKEN" desc:"bearer token sent to Prometheus"`
	BearerTokenFile       string        `envconfig:"PROMETHEUS_BEARER_TOKEN_FILE" desc:"file holding the bearer token, read on every request"`
	BasicAuthUsername     string        `envconfig:"PROMETHEUS_BASIC_AUTH_USERNAME" desc:"basic-auth user name"`
	BasicAuthPassword     string        `envconfig:"PROMETHEUS_BASIC_AUTH_PASSWORD" desc:"basic-auth password"`
	BasicAuthPasswordFile string        `envconfig:"PROMETHEUS_BASIC_AUTH_PASSWORD_FILE" desc:"file holding the basic-auth password"`
	CAFile                string        `envconfig:"PROMETHEUS_CA_FILE" desc:"PEM CA bundle that verifies Prometheus's certificate"`
	CertFile              string        `envconfig:"PROMETHEUS_CERT_FILE" desc:"PEM client certificate for mutual TLS"`
	KeyFile               string        `envconfig:"PROMETHEUS_KEY_FILE" desc:"PEM key of the client certificate"`
	ServerName            string        `envconfig:"PROMETHEUS_SERVER_NAME" desc:"server name expected in Prometheus's certificate"`
	InsecureSkipVerify    bool          `envconfig:"PROMETHEUS_INSECURE_SKIP_VERIFY" default:"false" desc:"skip verifying Prometheus's certificate (tests only)"`
	Headers               string        `envconfig:"PROMETHEUS_HEADERS" desc:"extra request headers, Name=Value,Name2=Value2 (e.g. X-Scope-OrgID=tenant-1)"`
}

// loadConfig reads and validates the configuration, reporting every problem at once.
func loadConfig(getenv func(string) string) (Config, error) {
	var c Config
	loadErr := envconf.Load(envPrefix, &c, getenv)
	if err := envconf.Report(loadErr, c.validate(envconf.Failed(loadErr))); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate checks the values. Variables in failed (missing or unparsable, already reported)
// are not checked again, so that each problem is reported once.
func (c Config) validate(failed map[string]bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	loaded := func(names ...string) bool {
		for _, n := range names {
			if failed[envPrefix+"_"+n] {
				return false
			}
		}
		return true
	}
	if loaded("WORKLOAD", "NAMESPACE") {
		w := plan.Workload{Namespace: c.Namespace, Name: c.Workload}
		if err := w.Validate(); err != nil {
			add("KEDASTRAL_WORKLOAD/KEDASTRAL_NAMESPACE: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	switch {
	case c.ReplayFile == "" && c.PrometheusURL == "":
		add("KEDASTRAL_PROMETHEUS_URL is required (or KEDASTRAL_REPLAY_FILE, to replay a trace)")
	case c.ReplayFile != "" && c.PrometheusURL != "":
		add("KEDASTRAL_PROMETHEUS_URL and KEDASTRAL_REPLAY_FILE are both set: choose one source")
	case c.ReplayFile != "":
		if _, err := os.Stat(c.ReplayFile); err != nil {
			add("KEDASTRAL_REPLAY_FILE: %v", err)
		}
		if (!(c.ReplaySpeed > 0) || c.ReplaySpeed > 1e6) && loaded("REPLAY_SPEED") {
			add("KEDASTRAL_REPLAY_SPEED must be in (0, 1000000] (got %v)", c.ReplaySpeed)
		}
	default:
		if strings.TrimSpace(c.Query) == "" {
			add("KEDASTRAL_QUERY is required with KEDASTRAL_PROMETHEUS_URL")
		}
		opts, err := c.promOptions()
		if err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, opts.Validate()...)
	}
	if c.Step <= 0 && loaded("STEP") {
		add("KEDASTRAL_STEP must be > 0 (got %v)", c.Step)
	}
	if c.Interval <= 0 && loaded("INTERVAL") {
		add("KEDASTRAL_INTERVAL must be > 0 (got %v)", c.Interval)
	}
	if c.Step > 0 && loaded("HISTORY", "HORIZON") {
		if c.History < c.Step {
			add("KEDASTRAL_HISTORY must be >= KEDASTRAL_STEP (got %v < %v)", c.History, c.Step)
		}
		if c.Horizon < c.Step {
			add("KEDASTRAL_HORIZON must be >= KEDASTRAL_STEP (got %v < %v)", c.Horizon, c.Step)
		} else if n := c.Horizon / c.Step; n > maxHorizonSteps {
			add("KEDASTRAL_HORIZON / KEDASTRAL_STEP must be <= %d steps (got %d)", maxHorizonSteps, n)
		}
		if n := c.History / c.Step; n > maxHistoryPoints {
			add("KEDASTRAL_HISTORY / KEDASTRAL_STEP must be <= %d points (got %d)", maxHistoryPoints, n)
		}
	}
	if lead, auto, err := c.leadTime(); err != nil {
		errs = append(errs, err)
	} else if auto && c.ReplayFile != "" {
		add("KEDASTRAL_LEAD_TIME=auto measures pod start-up in Prometheus: it needs KEDASTRAL_PROMETHEUS_URL, not a replay")
	} else if (lead <= 0 || lead > c.Horizon) && loaded("HORIZON") {
		add("KEDASTRAL_LEAD_TIME must be in (0, KEDASTRAL_HORIZON]: pod start-up plus KEDA's polling and the HPA's sync, 3m is typical (got %v, horizon %v)", lead, c.Horizon)
	}
	if c.Interval > 0 && c.Horizon < 2*c.Interval && loaded("INTERVAL", "HORIZON") {
		add("KEDASTRAL_HORIZON must be at least twice KEDASTRAL_INTERVAL: a plan is valid for at most the horizon and the next comes an interval later (got %v, interval %v)", c.Horizon, c.Interval)
	}
	if c.Step > 0 && c.MaxStaleness > 0 && c.MaxStaleness <= c.Step && loaded("STEP", "MAX_STALENESS") {
		add("KEDASTRAL_MAX_STALENESS must be longer than KEDASTRAL_STEP: the newest point on the step's grid is up to a step old (got %v, step %v)", c.MaxStaleness, c.Step)
	}
	if c.ScalingDelay < 0 && loaded("SCALING_DELAY") {
		add("KEDASTRAL_SCALING_DELAY must be >= 0 (got %v)", c.ScalingDelay)
	}
	if loaded("BASIS", "SCALE_TO_ZERO", "SCALE_DOWN_WINDOW", "SCALE_DOWN_MAX_FRACTION", "SCALE_UP_MAX_FACTOR",
		"HPA_TOLERANCE_STEPS", "MIN_REPLICAS", "MAX_REPLICAS", "EVENTS") {
		if rules, err := c.rules(); err != nil {
			errs = append(errs, err)
		} else if err := rules.Validate(c.policy()); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("planner rules (KEDASTRAL_BASIS, KEDASTRAL_SCALE_*, KEDASTRAL_HPA_TOLERANCE_STEPS, KEDASTRAL_MIN_REPLICAS, KEDASTRAL_EVENTS): %w", e))
			}
		}
	}
	if c.MaxStaleness <= 0 && loaded("MAX_STALENESS") {
		add("KEDASTRAL_MAX_STALENESS must be > 0 (got %v)", c.MaxStaleness)
	}
	if c.Model == remotemodel.Name {
		if _, err := remotemodel.New(c.remoteModel()); err != nil {
			for _, e := range unjoin(err) {
				add("KEDASTRAL_MODEL=http: %v", e)
			}
		}
	} else if _, err := forecast.New(c.Model, forecast.Options{}); err != nil {
		add("KEDASTRAL_MODEL: %v (or http)", err)
	}
	if _, err := c.periods(); err != nil {
		errs = append(errs, err)
	}
	if c.RefitEvery <= 0 && loaded("REFIT_INTERVAL") {
		add("KEDASTRAL_REFIT_INTERVAL must be > 0 (got %v)", c.RefitEvery)
	}
	if !(c.Quantile > 0.5 && c.Quantile < 1) && loaded("QUANTILE") {
		add("KEDASTRAL_QUANTILE must be in (0.5, 1) (got %v)", c.Quantile)
	}
	if !(c.TargetPerPod > 0) && loaded("TARGET_PER_POD") {
		add("KEDASTRAL_TARGET_PER_POD must be > 0 (got %v)", c.TargetPerPod)
	}
	if (!(c.Headroom >= 1) || c.Headroom > 100) && loaded("HEADROOM") {
		add("KEDASTRAL_HEADROOM must be in [1, 100] (got %v)", c.Headroom)
	}
	switch {
	case !loaded("MIN_REPLICAS", "MAX_REPLICAS"):
	case c.MinReplicas < 0:
		add("KEDASTRAL_MIN_REPLICAS must be >= 0 (got %d)", c.MinReplicas)
	case c.MaxReplicas < 1:
		add("KEDASTRAL_MAX_REPLICAS must be >= 1 (got %d)", c.MaxReplicas)
	case c.MaxReplicas < c.MinReplicas:
		add("KEDASTRAL_MAX_REPLICAS must be >= KEDASTRAL_MIN_REPLICAS (got %d < %d)", c.MaxReplicas, c.MinReplicas)
	}
	errs = append(errs, c.Options.Validate(failed)...)
	if _, err := c.logLevel(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("KEDASTRAL_LOG_FORMAT must be json or text (got %q)", c.LogFormat)
	}
	return errs
}

// periods parses KEDASTRAL_PERIODS.
func (c Config) periods() ([]time.Duration, error) {
	var out []time.Duration
	for _, p := range c.Periods {
		d, err := envconf.ParseDuration(p)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("KEDASTRAL_PERIODS: %q is not a positive duration such as 24h or 7d", p)
		}
		if c.Step > 0 && d < 2*c.Step {
			return nil, fmt.Errorf("KEDASTRAL_PERIODS: %q is shorter than two steps (%v)", p, c.Step)
		}
		out = append(out, d)
	}
	return out, nil
}

func (c Config) remoteModel() remotemodel.Options {
	return remotemodel.Options{URL: c.ModelURL, Timeout: c.ModelTimeout, BearerTokenFile: c.ModelToken}
}

// model builds the configured forecaster; a remote model's requests end with ctx.
func (c Config) model(ctx context.Context) (forecast.Model, error) {
	if c.Model == remotemodel.Name {
		o := c.remoteModel()
		o.Context = ctx
		return remotemodel.New(o)
	}
	periods, _ := c.periods() // validated at start
	return forecast.New(c.Model, forecast.Options{Periods: periods, RefitEvery: c.RefitEvery})
}

func (c Config) workload() plan.Workload {
	return plan.Workload{Namespace: c.Namespace, Name: c.Workload}
}

// historyPoints is how many grid points the agent keeps.
func (c Config) historyPoints() int { return int(c.History / c.Step) }

// horizonSteps is how many steps a plan covers.
func (c Config) horizonSteps() int { return int(c.Horizon / c.Step) }

// validity is how long a published plan stays valid: four missed cycles (at least two steps),
// but never past the plan's end. After that the gateway answers Unavailable and KEDA's fallback
// takes over, which is what a user wants from an agent that has stopped.
func (c Config) validity() time.Duration {
	return min(c.Horizon, max(4*c.Interval, 2*c.Step))
}

// autoLead is the value of KEDASTRAL_LEAD_TIME that asks for measuring it.
const autoLead = "auto"

// leadTime parses KEDASTRAL_LEAD_TIME; auto reports whether it is to be measured, in which case
// lead is the default the agent plans with until the first measurement.
func (c Config) leadTime() (lead time.Duration, auto bool, err error) {
	if strings.TrimSpace(c.LeadTime) == autoLead {
		return defaultLead, true, nil
	}
	d, err := envconf.ParseDuration(c.LeadTime)
	if err != nil {
		return 0, false, fmt.Errorf("KEDASTRAL_LEAD_TIME: %q is neither a duration such as 3m nor auto", c.LeadTime)
	}
	return d, false, nil
}

// startupQuery is the PromQL that measures pod start-up for KEDASTRAL_LEAD_TIME=auto.
func (c Config) startupQuery() string {
	if strings.TrimSpace(c.StartupQuery) != "" {
		return c.StartupQuery
	}
	return promsource.StartupQuery(c.Namespace, c.Workload)
}

// defaultLead is the lead time used until KEDASTRAL_LEAD_TIME=auto has measured one.
const defaultLead = 3 * time.Minute

// rules builds the planner's rules from the configuration.
func (c Config) rules() (capacity.Rules, error) {
	events, err := capacity.ParseEvents(c.Events)
	if err != nil {
		return capacity.Rules{}, fmt.Errorf("KEDASTRAL_EVENTS: %w", err)
	}
	return capacity.Rules{
		Basis:           capacity.Basis(c.Basis),
		ScaleToZero:     c.ScaleToZero,
		DownWindow:      c.DownWindow,
		DownMaxFraction: c.DownMaxFrac,
		UpMaxFactor:     c.UpMaxFactor,
		Steps:           c.Steps,
		Events:          events,
	}, nil
}

// planner builds the planner around model, with an accuracy guard when enabled.
func (c Config) planner(model forecast.Model) (capacity.Planner, error) {
	rules, err := c.rules()
	if err != nil {
		return capacity.Planner{}, err
	}
	pl := capacity.Planner{
		Model:    model,
		Policy:   c.policy(),
		Rules:    rules,
		Horizon:  c.horizonSteps(),
		Quantile: c.Quantile,
		Validity: c.validity(),
	}
	if c.Guard {
		pl.Accuracy, err = capacity.NewAccuracy(capacity.AccuracyConfig{Quantile: c.Quantile, Lead: pl.Policy.LeadTime.D()})
		if err != nil {
			return capacity.Planner{}, err
		}
	}
	return pl, pl.Validate()
}

// unjoin splits an errors.Join into its parts, so that each is reported on its own line.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (c Config) policy() plan.Policy {
	lead, _, _ := c.leadTime() // validated at start
	return plan.Policy{
		TargetPerPod: c.TargetPerPod,
		Headroom:     c.Headroom,
		MinReplicas:  c.MinReplicas,
		MaxReplicas:  c.MaxReplicas,
		LeadTime:     plan.Duration(lead),
	}
}

func (c PrometheusConfig) promOptions() (promsource.Options, error) {
	headers, err := promsource.ParseHeaders(c.Headers)
	if err != nil {
		err = fmt.Errorf("KEDASTRAL_PROMETHEUS_HEADERS: %w", err)
	}
	return promsource.Options{
		URL:                   c.PrometheusURL,
		Timeout:               c.PrometheusTimeout,
		BearerToken:           c.BearerToken,
		BearerTokenFile:       c.BearerTokenFile,
		BasicAuthUsername:     c.BasicAuthUsername,
		BasicAuthPassword:     c.BasicAuthPassword,
		BasicAuthPasswordFile: c.BasicAuthPasswordFile,
		CAFile:                c.CAFile,
		CertFile:              c.CertFile,
		KeyFile:               c.KeyFile,
		ServerName:            c.ServerName,
		InsecureSkipVerify:    c.InsecureSkipVerify,
		Headers:               headers,
	}, err
}

func (c Config) logLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("KEDASTRAL_LOG_LEVEL must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	return l, nil
}
