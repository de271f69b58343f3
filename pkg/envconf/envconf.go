// Package envconf loads a binary's configuration struct from environment variables.
//
// Fields are described with envconfig's tag dialect (`envconfig:"STEP" default:"1m"
// required:"true" desc:"..."`), and Usage renders the help table with envconfig itself, so the
// variables a binary reads and the ones its --help lists come from the same tags. Load differs
// from envconfig.Process in the two ways a daemon's start-up needs: it reads through an injected
// getenv (tests pass a map, not the process environment) and it reports every unparsable or
// missing variable at once instead of stopping at the first.
package envconf

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/prometheus/common/model"
)

// Map returns a getenv over m, for tests.
func Map(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Load fills spec, a pointer to a struct, from variables named PREFIX_TAG (envconfig:"TAG" on
// each exported field; a field tagged ignored:"true" is skipped, an embedded struct is loaded
// with the same prefix, and an untagged field is a programming error, because Usage would list
// it under a name Load does not read).
//
// A variable that is empty counts as unset and takes its default: in a Kubernetes manifest an
// empty value is almost always one someone meant to clear. Supported field types: string,
// bool, signed integers, float64, time.Duration (Go or Prometheus syntax, so "7d" works),
// []string (comma-separated, blanks dropped) and encoding.TextUnmarshaler.
//
// The returned error joins one *VarError per bad variable; Failed lists their keys, so that a
// caller validating the values afterwards can skip the ones that never loaded.
func Load(prefix string, spec any, getenv func(string) string) error {
	v := reflect.ValueOf(spec)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("envconf: spec must be a pointer to a struct, got %T", spec)
	}
	return load(prefix, v.Elem(), getenv)
}

func load(prefix string, v reflect.Value, getenv func(string) string) error {
	var errs []error
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Tag.Get("ignored") == "true" {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			errs = append(errs, load(prefix, v.Field(i), getenv))
			continue
		}
		name, ok := f.Tag.Lookup("envconfig")
		if !ok {
			return fmt.Errorf("envconf: field %s has no envconfig tag", f.Name)
		}
		key := prefix + "_" + name
		raw := getenv(key)
		if raw == "" {
			if f.Tag.Get("required") == "true" {
				errs = append(errs, &VarError{Key: key, Err: fmt.Errorf("is required (%s)", f.Tag.Get("desc"))})
				continue
			}
			var ok bool
			if raw, ok = f.Tag.Lookup("default"); !ok {
				continue
			}
		}
		if err := setField(v.Field(i), raw); err != nil {
			errs = append(errs, &VarError{Key: key, Value: raw, Err: err})
		}
	}
	return errors.Join(errs...)
}

// Keys lists the variables Load reads for spec, in field order; docs tests use it to check that
// every variable is documented.
func Keys(prefix string, spec any) []string {
	var keys []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			switch {
			case !f.IsExported() || f.Tag.Get("ignored") == "true":
			case f.Anonymous && f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			default:
				keys = append(keys, prefix+"_"+f.Tag.Get("envconfig"))
			}
		}
	}
	walk(reflect.TypeOf(spec).Elem())
	return keys
}

// VarError is a variable that is missing or does not parse.
type VarError struct {
	Key   string
	Value string // as set; empty when missing
	Err   error
}

func (e *VarError) Error() string {
	if e.Value == "" {
		return e.Key + " " + e.Err.Error()
	}
	return fmt.Sprintf("%s=%q: %v", e.Key, e.Value, e.Err)
}

func (e *VarError) Unwrap() error { return e.Err }

// Failed returns the keys of the variables err (from Load) reports as missing or unparsable.
func Failed(err error) map[string]bool {
	failed := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		if ve, ok := err.(*VarError); ok {
			failed[ve.Key] = true
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return failed
}

// Report turns the error from Load and the problems a caller's own validation found into one
// error with a "config: " line per problem, or nil when there are none. Binaries print it
// as is at start, so a user sees every mistake in one go.
func Report(loadErr error, problems []error) error {
	var all []error
	if j, ok := loadErr.(interface{ Unwrap() []error }); ok {
		all = append(all, j.Unwrap()...)
	} else if loadErr != nil {
		all = append(all, loadErr)
	}
	all = append(all, problems...)
	if len(all) == 0 {
		return nil
	}
	lines := make([]error, len(all))
	for i, p := range all {
		lines[i] = fmt.Errorf("config: %w", p)
	}
	return errors.Join(lines...)
}

var durationType = reflect.TypeFor[time.Duration]()

func setField(fv reflect.Value, raw string) error {
	if tu, ok := fv.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return tu.UnmarshalText([]byte(raw))
	}
	raw = strings.TrimSpace(raw)
	switch {
	case fv.Type() == durationType:
		d, err := ParseDuration(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not a boolean (use true or false)")
		}
		fv.SetBool(b)
	case fv.CanInt():
		n, err := strconv.ParseInt(raw, 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an integer that fits %s", fv.Type())
		}
		fv.SetInt(n)
	case fv.CanFloat():
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("not a number")
		}
		fv.SetFloat(x)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var parts []string
		for p := range strings.SplitSeq(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		fv.Set(reflect.ValueOf(parts).Convert(fv.Type()))
	default:
		return fmt.Errorf("envconf: unsupported field type %s", fv.Type())
	}
	return nil
}

// ParseDuration accepts Go durations ("1m30s", "500ms") and Prometheus ones ("7d", "1w", "1d12h"),
// since the people setting these variables write both.
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, errors.New("not a duration (use e.g. 500ms, 30s, 5m, 1h, 7d)")
}

// usageFormat is envconfig's table layout with the required column folded into the description.
const usageFormat = `{{range .}}{{usage_key .}}	{{usage_type .}}	{{usage_default .}}	{{usage_description .}}{{if usage_required .}} (required){{end}}
{{end}}`

// Usage writes a table of every variable spec reads: name, type, default and description.
func Usage(w io.Writer, prefix string, spec any) error {
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tTYPE\tDEFAULT\tDESCRIPTION")
	if err := envconfig.Usagef(prefix, spec, tw, usageFormat); err != nil {
		return fmt.Errorf("render usage: %w", err)
	}
	return tw.Flush()
}
