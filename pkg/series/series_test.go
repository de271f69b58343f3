package series

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }

var nan = math.NaN()

func TestBuffer(t *testing.T) {
	tests := map[string]struct {
		capacity int
		adds     [][]Sample
		end      time.Time
		want     Series
		wantRej  int
	}{
		"aligned samples": {
			capacity: 10,
			adds:     [][]Sample{{{at(0), 1}, {at(1), 2}, {at(2), 3}}},
			end:      at(3),
			want:     Series{Start: at(0), Step: time.Minute, Values: []float64{1, 2, 3}},
		},
		"gap stays NaN and quiet source pads": {
			capacity: 10,
			adds:     [][]Sample{{{at(0), 1}, {at(2), 3}}},
			end:      at(5),
			want:     Series{Start: at(0), Step: time.Minute, Values: []float64{1, nan, 3, nan, nan}},
		},
		"off-grid sample goes to the point before it, later one wins": {
			capacity: 10,
			adds:     [][]Sample{{{at(0.2), 1}, {at(0.7), 2}, {at(1.1), 5}}},
			end:      at(2),
			want:     Series{Start: at(0), Step: time.Minute, Values: []float64{2, 5}},
		},
		"capacity drops the oldest": {
			capacity: 3,
			adds:     [][]Sample{{{at(0), 1}, {at(1), 2}}, {{at(2), 3}, {at(3), 4}, {at(4), 5}}},
			end:      at(5),
			want:     Series{Start: at(2), Step: time.Minute, Values: []float64{3, 4, 5}},
		},
		"late sample backfills a gap": {
			capacity: 10,
			adds:     [][]Sample{{{at(2), 3}}, {{at(0), 1}}},
			end:      at(3),
			want:     Series{Start: at(0), Step: time.Minute, Values: []float64{1, nan, 3}},
		},
		"sample older than the window is ignored": {
			capacity: 2,
			adds:     [][]Sample{{{at(5), 5}, {at(6), 6}}, {{at(1), 1}}},
			end:      at(7),
			want:     Series{Start: at(5), Step: time.Minute, Values: []float64{5, 6}},
		},
		"end long after the data returns only capacity points": {
			capacity: 3,
			adds:     [][]Sample{{{at(0), 1}}},
			end:      at(100),
			want:     Series{Start: at(97), Step: time.Minute, Values: []float64{nan, nan, nan}},
		},
		"non-finite sample rejected, rest kept": {
			capacity: 10,
			adds:     [][]Sample{{{at(0), 1}, {at(1), math.Inf(1)}, {at(2), 3}}},
			end:      at(3),
			want:     Series{Start: at(0), Step: time.Minute, Values: []float64{1, nan, 3}},
			wantRej:  1,
		},
		"empty buffer": {
			capacity: 10,
			end:      at(3),
			want:     Series{Start: at(3), Step: time.Minute},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := NewBuffer(time.Minute, tc.capacity)
			if err != nil {
				t.Fatal(err)
			}
			rejected := 0
			for _, a := range tc.adds {
				rejected += b.Add(a)
			}
			if rejected != tc.wantRej {
				t.Errorf("Add() rejected %d samples, want %d", rejected, tc.wantRej)
			}
			got := b.Series(tc.end)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Series(%v) mismatch (-want +got):\n%s", tc.end, diff)
			}
		})
	}
}

func TestNewBufferErrors(t *testing.T) {
	if _, err := NewBuffer(0, 10); err == nil {
		t.Error("NewBuffer(step 0) error = nil, want one")
	}
	if _, err := NewBuffer(time.Minute, 0); err == nil {
		t.Error("NewBuffer(capacity 0) error = nil, want one")
	}
}

func TestSeriesHelpers(t *testing.T) {
	s := Series{Start: at(0), Step: time.Minute, Values: []float64{1, 2, nan}}
	if v, i, ok := s.Last(); !ok || v != 2 || i != 1 {
		t.Errorf("Last() = %v, %d, %v, want 2, 1, true", v, i, ok)
	}
	if got := s.End(); !got.Equal(at(3)) {
		t.Errorf("End() = %v, want %v", got, at(3))
	}
	if got := s.Tail(2); !got.Start.Equal(at(1)) || len(got.Values) != 2 {
		t.Errorf("Tail(2) = %+v, want 2 values from %v", got, at(1))
	}
	if got := s.Before(at(1.5)); len(got.Values) != 2 {
		t.Errorf("Before(12:01:30) has %d values, want 2", len(got.Values))
	}
	if got := s.Before(at(-1)); len(got.Values) != 0 {
		t.Errorf("Before(before start) has %d values, want 0", len(got.Values))
	}
}

func TestReadCSV(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []Sample
		wantErr string
	}{
		"rfc3339 with header": {
			in:   "timestamp,value\n2026-11-26T12:00:00Z,1\n2026-11-26T12:01:00Z,2.5\n",
			want: []Sample{{at(0), 1}, {at(1), 2.5}},
		},
		"unix seconds without header": {
			in:   "1795694400,1\n1795694460,2\n",
			want: []Sample{{time.Unix(1795694400, 0).UTC(), 1}, {time.Unix(1795694460, 0).UTC(), 2}},
		},
		"a space for the T, no zone: UTC (pandas, NAB)": {
			in:   "timestamp,value\n2026-11-26 12:00:00,1\n2026-11-26 12:01:00.5,2\n",
			want: []Sample{{at(0), 1}, {at(1).Add(500 * time.Millisecond), 2}},
		},
		"a space for the T, with a zone": {
			in:   "2026-11-26 13:00:00+01:00,1\n2026-11-26 12:01:00Z,2\n",
			want: []Sample{{at(0), 1}, {at(1), 2}},
		},
		"a date alone is not a timestamp": {in: "2026-11-26,1\n", wantErr: `csv line 1: timestamp "2026-11-26" is neither RFC 3339`},
		"bad value names the line":        {in: "timestamp,value\n2026-11-26T12:00:00Z,x\n", wantErr: `csv line 2: value "x" is not a number`},
		"bad timestamp names the line":    {in: "2026-11-26T12:00:00Z,1\nyesterday,2\n", wantErr: `csv line 2: timestamp "yesterday"`},
		"NaN value":                       {in: "2026-11-26T12:00:00Z,NaN\n", wantErr: "not finite"},
		"time going backwards":            {in: "2026-11-26T12:01:00Z,1\n2026-11-26T12:00:00Z,2\n", wantErr: "is not after the previous one"},
		"wrong field count":               {in: "2026-11-26T12:00:00Z,1,2\n", wantErr: "want 2 fields"},
		"header only":                     {in: "timestamp,value\n", wantErr: "no samples"},
		"blank lines and comments keep line numbers": {
			in:      "# exported\ntimestamp,value\n\n2026-11-26T12:00:00Z,1\n\n2026-11-26T12:01:00Z,x\n",
			wantErr: `csv line 6: value "x" is not a number`,
		},
		"a first row without a value is not a header": {in: "2026-11-26T12:00:00Z,\n2026-11-26T12:01:00Z,5\n", wantErr: `csv line 1: value "" is not a number`},
		"a first row of N/A is not a header":          {in: "2026-11-26T12:00:00Z,N/A\n2026-11-26T12:01:00Z,5\n", wantErr: `csv line 1: value "N/A" is not a number`},
		"byte-order mark without header": {
			in:   "\ufeff1795694400,1\n",
			want: []Sample{{time.Unix(1795694400, 0).UTC(), 1}},
		},
		"byte-order mark before a quoted header": {
			in:   "\ufeff\"timestamp\",\"value\"\n2026-11-26T12:00:00Z,1\n",
			want: []Sample{{at(0), 1}},
		},
		"byte-order mark before a comment": {
			in:   "\ufeff# exported\n2026-11-26T12:00:00Z,1\n",
			want: []Sample{{at(0), 1}},
		},
		"byte-order mark with header": {
			in:   "\ufefftimestamp,value\n2026-11-26T12:00:00Z,1\n",
			want: []Sample{{at(0), 1}},
		},
		"empty": {in: "", wantErr: "no samples"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadCSV() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadCSV() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadCSV() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrid(t *testing.T) {
	got, err := Grid([]Sample{{at(0), 1}, {at(3), 4}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := Series{Start: at(0), Step: time.Minute, Values: []float64{1, nan, nan, 4}}
	if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("Grid() mismatch (-want +got):\n%s", diff)
	}
}

func TestGridErrors(t *testing.T) {
	tests := map[string]struct {
		samples []Sample
		step    time.Duration
		want    string
	}{
		"no samples": {step: time.Minute, want: "no samples"},
		"zero step":  {samples: []Sample{{at(0), 1}}, want: "grid step must be > 0 (got 0s)"},
		// A stray 0 before a trace of 2023: 1.7 billion seconds, which would not fit in memory.
		"a stray timestamp": {
			samples: []Sample{{time.Unix(0, 0).UTC(), 0}, {time.Unix(1700000000, 0).UTC(), 5}},
			step:    time.Second,
			want:    "samples from 1970-01-01T00:00:00Z to 2023-11-14T22:13:20Z at a 1s step would make more than 10000000 points: check the timestamps",
		},
		"the whole range of time": {
			samples: []Sample{{time.Unix(-1<<40, 0).UTC(), 0}, {time.Unix(1<<40, 0).UTC(), 5}},
			step:    time.Nanosecond,
			want:    "would make more than 10000000 points",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Grid(tc.samples, tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Grid() = %d points, error %v; want an error containing %q", got.Len(), err, tc.want)
			}
		})
	}
}

// FuzzReadCSV checks that the trace reader never panics and that what it accepts obeys its
// contract: finite values in strictly increasing time.
func FuzzReadCSV(f *testing.F) {
	f.Add("timestamp,value\n2026-11-26T12:00:00Z,1\n")
	f.Add("1795694400,1\n1795694460.5,-2e3\n")
	f.Add("a,b\nc,d\n")
	f.Add("timestamp,value\n2015-02-26 21:42:53,35\n2015-02-26 21:47:53.25+01:00,41\n")
	f.Add("\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for i, s := range got {
			if math.IsNaN(s.V) || math.IsInf(s.V, 0) {
				t.Fatalf("sample %d = %v, want finite", i, s.V)
			}
			if i > 0 && !s.T.After(got[i-1].T) {
				t.Fatalf("sample %d at %v not after %v", i, s.T, got[i-1].T)
			}
		}
	})
}
