package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/promsource"
	"github.com/kedastral/kedastral/pkg/series"
)

const exportUsage = `agent export — write a workload's metric history from Prometheus as a CSV trace.

Runs the query over --range ending at --end, one value every --step, through the same client
as the agent (KEDASTRAL_PROMETHEUS_* credentials, TLS and headers), and writes timestamp,value
lines (RFC 3339): the input of agent backtest. The query and URL default to the agent's
KEDASTRAL_QUERY and KEDASTRAL_PROMETHEUS_URL, so inside a running agent's container one
command exports exactly what that agent forecasts from:

  kubectl exec deploy/checkout -c kedastral-agent -- /kedastral export --range 14d > checkout.csv
  agent backtest --simulate --sweep --input checkout.csv

Instants where the query has no value are left out (the backtest treats them as gaps). A
summary goes to stderr.

Usage: agent export [flags]

Flags:
`

// exportEnv is what `agent export` reads from the environment: the agent's own variables, so
// that it runs as the agent would.
type exportEnv struct {
	Query string `envconfig:"QUERY"`
	PrometheusConfig
	Step time.Duration `envconfig:"STEP" default:"1m"`
}

// maxExportPoints bounds one export: a year of 1-minute data is half of it, and more is more
// likely a wrong --step than a need.
const maxExportPoints = 1_000_000

// runExport is `agent export`.
func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var env exportEnv
	loadErr := envconf.Load(envPrefix, &env, getenv)
	if env.Step <= 0 { // a KEDASTRAL_STEP that did not load is reported once, by loadErr
		env.Step = time.Minute
	}

	fs := flag.NewFlagSet("agent export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	url := fs.String("prometheus-url", env.PrometheusURL, "Prometheus base URL, as KEDASTRAL_PROMETHEUS_URL (its value by default)")
	query := fs.String("query", env.Query, "PromQL query returning exactly one series, as KEDASTRAL_QUERY (its value by default)")
	rangeFlag := fs.String("range", "14d", "how much history to export")
	step := fs.String("step", shortDuration(env.Step), "spacing of the values, as KEDASTRAL_STEP (its value by default)")
	endFlag := fs.String("end", "", "end of the range, RFC 3339 or Unix seconds (default now)")
	output := fs.String("output", "-", "file to write, - for stdout")
	if done, err := parseFlags(fs, args, "export"); done || err != nil {
		return err
	}

	var errs []error
	if loadErr != nil {
		errs = append(errs, loadErr)
	}
	if *query == "" {
		errs = append(errs, errors.New("--query (or KEDASTRAL_QUERY) is required"))
	}
	opts, err := env.promOptions()
	if err != nil {
		errs = append(errs, err)
	}
	opts.URL = *url
	if *url == "" {
		errs = append(errs, errors.New("--prometheus-url (or KEDASTRAL_PROMETHEUS_URL) is required"))
	} else {
		errs = append(errs, opts.Validate()...)
	}
	span, err := envconf.ParseDuration(*rangeFlag)
	if err != nil || span <= 0 {
		errs = append(errs, fmt.Errorf("--range %q must be a positive duration such as 14d", *rangeFlag))
	}
	every, err := envconf.ParseDuration(*step)
	switch {
	case err != nil || every <= 0 || every%time.Millisecond != 0:
		errs = append(errs, fmt.Errorf("--step %q must be a positive duration of whole milliseconds such as 1m", *step))
	case span > 0 && span/every > maxExportPoints:
		errs = append(errs, fmt.Errorf("--range / --step must be <= %d points (got %d)", maxExportPoints, span/every))
	}
	end := time.Now()
	if *endFlag != "" {
		if end, err = series.ParseTimestamp(*endFlag); err != nil {
			errs = append(errs, fmt.Errorf("--end: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("export: %w", errors.Join(errs...))
	}

	src, err := promsource.New(opts, *query)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	samples, err := src.Fetch(ctx, end.Add(-span), end, every)
	if len(samples) == 0 {
		if err == nil { // Fetch reports a query without data; this is a range of only gaps
			err = errors.New("no values in the range")
		}
		return fmt.Errorf("export: %w", err)
	}
	if err != nil { // the samples are valid; the error qualifies them (dropped NaN, warnings)
		fmt.Fprintf(stderr, "agent export: warning: %v\n", err)
	}

	name := *output
	if name == "-" {
		name, err = "stdout", writeTrace(stdout, samples)
	} else {
		err = writeTraceFile(name, samples)
	}
	if err != nil {
		return fmt.Errorf("export: write %s: %w", name, err)
	}
	first, last := samples[0].T, samples[len(samples)-1].T
	gaps := int(last.Sub(first)/every) + 1 - len(samples)
	fmt.Fprintf(stderr, "agent export: %d values every %v from %s to %s (%d instants between without one) written to %s\n",
		len(samples), every, first.Format(time.RFC3339), last.Format(time.RFC3339), gaps, name)
	return nil
}

// writeTraceFile writes samples to the file name (created or truncated).
func writeTraceFile(name string, samples []series.Sample) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	return errors.Join(writeTrace(f, samples), f.Close())
}

// writeTrace writes samples as a CSV trace with a header, the format series.ReadCSV reads.
func writeTrace(w io.Writer, samples []series.Sample) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("timestamp,value\n")
	for _, s := range samples {
		bw.WriteString(s.T.UTC().Format(time.RFC3339Nano))
		bw.WriteByte(',')
		bw.WriteString(strconv.FormatFloat(s.V, 'g', -1, 64))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
