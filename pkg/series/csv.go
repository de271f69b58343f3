package series

import (
	"bufio"
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
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3) // a byte-order mark, as spreadsheets write
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comment = '#'
	var out []Sample
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		// The line in the file: the reader skips blank lines and comments.
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, fmt.Errorf("csv line %d: want 2 fields (timestamp,value), got %d", line, len(rec))
		}
		ts, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		t, err := ParseTimestamp(ts)
		if first && err != nil && !looksNumeric(vs) {
			continue // a header: a first line that holds neither a time nor a value
		}
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

// ParseTimestamp accepts RFC 3339 (with or without fractional seconds), the same with a space
// for the T ("2015-02-26 21:42:53", with or without a zone; without one it is UTC), or Unix
// seconds. The spaced form is what pandas, spreadsheets and many exporters write, and the form
// of the Numenta Anomaly Benchmark's traces, so that such a file is read as it is.
func ParseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range spacedLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) &&
		math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither RFC 3339 (2006-01-02T15:04:05Z, or with a space for the T) nor Unix seconds", s)
}

// spacedLayouts are RFC 3339 with a space for the T, with a zone and without (read as UTC).
// Fractional seconds are accepted by each, as time.Parse accepts them after the seconds.
var spacedLayouts = []string{"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"}

func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// maxGridPoints bounds the series Grid makes: ten million points (80 MB) is 115 days at a
// 1-second step or 19 years at a minute. One wrong timestamp (a 0 before a trace of 2023) would
// otherwise ask for billions of points and end the process out of memory.
const maxGridPoints = 10_000_000

// Grid places samples on a regular grid of the given step starting at the first sample
// (truncated to step), leaving NaN where no sample falls. It refuses a step <= 0 and a span of
// more than maxGridPoints steps, naming the first and last timestamps.
func Grid(samples []Sample, step time.Duration) (Series, error) {
	if len(samples) == 0 {
		return Series{}, errors.New("no samples")
	}
	if step <= 0 {
		return Series{}, fmt.Errorf("grid step must be > 0 (got %v)", step)
	}
	first, last := samples[0].T.Truncate(step), samples[len(samples)-1].T.Truncate(step)
	if span := last.Sub(first) / step; span < 0 || span >= maxGridPoints || last.Sub(first) == math.MaxInt64 {
		return Series{}, fmt.Errorf("samples from %s to %s at a %v step would make more than %d points: check the timestamps",
			samples[0].T.Format(time.RFC3339), samples[len(samples)-1].T.Format(time.RFC3339), step, maxGridPoints)
	}
	n := int(last.Sub(first)/step) + 1
	b, err := NewBuffer(step, n)
	if err != nil {
		return Series{}, err
	}
	b.Add(samples) // ReadCSV has refused non-finite values already
	return b.Series(last.Add(step)), nil
}
