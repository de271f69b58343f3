package series

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReadCSV reads a trace in the form `timestamp,value`, one sample per line, with an optional
// header line. Timestamps are RFC 3339 or Unix seconds (integer or fractional). Samples must be in
// strictly increasing time order. Every malformed line is an error naming its line number; the
// reader stops at the first one, because a trace with a bad line is not a trace to trust.
func ReadCSV(r io.Reader) ([]Sample, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comment = '#'
	var out []Sample
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("csv line %d: want 2 fields (timestamp,value), got %d", line, len(rec))
		}
		ts, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if line == 1 && len(out) == 0 && !looksNumeric(vs) && !looksNumeric(ts) {
			continue // header
		}
		t, err := ParseTimestamp(ts)
		if err != nil {
			return nil, fmt.Errorf("csv line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			return nil, fmt.Errorf("csv line %d: value %q is not a number", line, vs)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("csv line %d: value %q is not finite", line, vs)
		}
		if n := len(out); n > 0 && !t.After(out[n-1].T) {
			return nil, fmt.Errorf("csv line %d: timestamp %s is not after the previous one (%s)",
				line, t.Format(time.RFC3339), out[n-1].T.Format(time.RFC3339))
		}
		out = append(out, Sample{T: t, V: v})
	}
	if len(out) == 0 {
		return nil, errors.New("csv holds no samples")
	}
	return out, nil
}

// ParseTimestamp accepts RFC 3339 (with or without fractional seconds) or Unix seconds.
func ParseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) &&
		math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither RFC 3339 nor Unix seconds", s)
}

func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Grid places samples on a regular grid of the given step starting at the first sample
// (truncated to step), leaving NaN where no sample falls.
func Grid(samples []Sample, step time.Duration) (Series, error) {
	if len(samples) == 0 {
		return Series{}, errors.New("no samples")
	}
	first := samples[0].T.Truncate(step)
	n := int(samples[len(samples)-1].T.Truncate(step).Sub(first)/step) + 1
	b, err := NewBuffer(step, n)
	if err != nil {
		return Series{}, err
	}
	b.Add(samples) // ReadCSV has refused non-finite values already
	return b.Series(samples[len(samples)-1].T.Truncate(step).Add(step)), nil
}
