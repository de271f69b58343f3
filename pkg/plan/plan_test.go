package plan

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// validPlan is a 6-step, 1-minute plan starting at t0 with replicas 1 2 5 3 3 2.
func validPlan() Plan {
	return Plan{
		Version:     Version,
		Workload:    Workload{Namespace: "shop", Name: "checkout-api"},
		Generation:  7,
		GeneratedAt: t0.Add(-30 * time.Second),
		Start:       t0,
		Step:        Duration(time.Minute),
		Predicted:   []float64{10, 20, 50, 30, 30, 20},
		Upper:       []float64{12, 25, 60, 35, 35, 24},
		Replicas:    []int32{1, 2, 5, 3, 3, 2},
		Policy:      Policy{TargetPerPod: 10, Headroom: 1, MinReplicas: 1, MaxReplicas: 10, LeadTime: Duration(2 * time.Minute)},
		Model:       "seasonal_naive",
		ValidUntil:  t0.Add(5 * time.Minute),
	}
}

func TestReplicasAt(t *testing.T) {
	tests := map[string]struct {
		now     time.Time
		lead    time.Duration
		want    int32
		wantErr error
	}{
		"first step, no lead":          {now: t0, lead: 0, want: 1},
		"lead reaches the peak":        {now: t0, lead: 2 * time.Minute, want: 5},
		"lead ends just before peak":   {now: t0, lead: 2*time.Minute - time.Nanosecond, want: 2},
		"mid-step counts its own step": {now: t0.Add(90 * time.Second), lead: 0, want: 2},
		"after the peak":               {now: t0.Add(3 * time.Minute), lead: time.Minute, want: 3},
		"before start uses first step": {now: t0.Add(-time.Minute), lead: 0, want: 1},
		"lead past the end uses rest":  {now: t0.Add(4 * time.Minute), lead: time.Hour, want: 3},
		"negative lead is no lead":     {now: t0.Add(2 * time.Minute), lead: -time.Minute, want: 5},
		"at valid-until is expired":    {now: t0.Add(5 * time.Minute), wantErr: ErrExpired},
		"long after is expired":        {now: t0.Add(time.Hour), wantErr: ErrExpired},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := validPlan().ReplicasAt(tc.now, tc.lead)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReplicasAt(%v, %v) error = %v, want %v", tc.now, tc.lead, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("ReplicasAt(%v, %v) = %d, want %d", tc.now, tc.lead, got, tc.want)
			}
		})
	}
}

func TestReplicasAtPastLastStep(t *testing.T) {
	p := validPlan()
	p.ValidUntil = t0.Add(time.Hour) // valid, but the plan only covers 6 minutes
	if _, err := p.ReplicasAt(t0.Add(6*time.Minute), 0); !errors.Is(err, ErrExpired) {
		t.Errorf("ReplicasAt(after last step) error = %v, want ErrExpired", err)
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		mutate func(*Plan)
		want   []string // substrings that must all appear
	}{
		"valid":           {mutate: func(*Plan) {}},
		"unknown version": {mutate: func(p *Plan) { p.Version = 2 }, want: []string{"unsupported plan version 2"}},
		"bad names": {mutate: func(p *Plan) { p.Workload = Workload{Namespace: "Shop", Name: ""} },
			want: []string{`namespace "Shop"`, `name ""`}},
		"zero generation":           {mutate: func(p *Plan) { p.Generation = 0 }, want: []string{"generation must be in [1, 2^53]"}},
		"generation beyond doubles": {mutate: func(p *Plan) { p.Generation = MaxGeneration + 1 }, want: []string{"generation must be in [1, 2^53]"}},
		"no steps":                  {mutate: func(p *Plan) { p.Predicted, p.Upper, p.Replicas = nil, nil, nil }, want: []string{"no steps"}},
		"length mismatch":           {mutate: func(p *Plan) { p.Upper = p.Upper[:2] }, want: []string{"one entry per step (got 6, 2, 6)"}},
		"NaN prediction":            {mutate: func(p *Plan) { p.Predicted[3] = math.NaN() }, want: []string{"predicted[3] = NaN"}},
		"negative upper":            {mutate: func(p *Plan) { p.Upper[0] = -1 }, want: []string{"upper[0] = -1"}},
		"replicas too big":          {mutate: func(p *Plan) { p.Replicas[2] = 11 }, want: []string{"replicas[2] = 11 is outside [1, 10]"}},
		"everything wrong at once": {
			mutate: func(p *Plan) {
				p.Step = 0
				p.Policy = Policy{TargetPerPod: 0, Headroom: 0.5, MinReplicas: 3, MaxReplicas: 2}
				p.Model = ""
				p.ValidUntil = p.GeneratedAt
			},
			want: []string{"step must be > 0", "targetPerPod must be > 0", "headroom must be >= 1",
				"minReplicas <= maxReplicas (got 3, 2)", "model is missing", "validUntil"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := validPlan()
			tc.mutate(&p)
			err := p.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	want := validPlan()
	b, err := Marshal(want)
	if err != nil {
		t.Fatalf("Marshal() error = %v", err)
	}
	if !strings.Contains(string(b), `"step":"1m0s"`) || !strings.Contains(string(b), `"version":1`) {
		t.Errorf("Marshal() = %s, want a version field and a readable step", b)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal() error = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unmarshal(Marshal(p)) mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	p := validPlan()
	p.Replicas = nil
	if _, err := Marshal(p); err == nil {
		t.Error("Marshal(plan without steps) error = nil, want an error")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	good, err := Marshal(validPlan())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		in      string
		wantErr error
		want    string
	}{
		"not json":        {in: "{", want: "decode plan"},
		"no version":      {in: `{"generation":1}`, want: "version is missing"},
		"newer version":   {in: `{"version":2,"whatever":true}`, wantErr: ErrUnsupportedVersion},
		"unknown field":   {in: strings.Replace(string(good), `"version":1`, `"version":1,"surprise":1`, 1), want: "unknown field"},
		"trailing data":   {in: string(good) + "{}", want: "after top-level value"},
		"invalid content": {in: strings.Replace(string(good), `"generation":7`, `"generation":0`, 1), want: "generation must be in [1, 2^53]"},
		"bad duration":    {in: strings.Replace(string(good), `"step":"1m0s"`, `"step":"soon"`, 1), want: "soon"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tc.in))
			if err == nil {
				t.Fatalf("Unmarshal(%q) error = nil, want one", tc.in)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Unmarshal() error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unmarshal() error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// FuzzUnmarshalPlan checks that no input crashes the decoder and that whatever it accepts is a
// valid plan that survives a round trip unchanged.
func FuzzUnmarshalPlan(f *testing.F) {
	good, _ := Marshal(validPlan())
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Unmarshal accepted an invalid plan: %v", err)
		}
		again, err := Marshal(p)
		if err != nil {
			t.Fatalf("Marshal(accepted plan) error = %v", err)
		}
		p2, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(p)) error = %v", err)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Fatalf("round trip changed the plan (-first +second):\n%s", diff)
		}
	})
}

// benchPlan is a 30-step plan, the default horizon at the default step.
func benchPlan() Plan {
	p := validPlan()
	p.Predicted, p.Upper, p.Replicas = make([]float64, 30), make([]float64, 30), make([]int32, 30)
	for i := range p.Replicas {
		p.Predicted[i], p.Upper[i], p.Replicas[i] = float64(100+i), float64(120+i), int32(1+i%10)
	}
	p.ValidUntil = t0.Add(time.Hour)
	return p
}

// BenchmarkUnmarshal is the gateway's per-request decoding cost.
func BenchmarkUnmarshal(b *testing.B) {
	data, err := Marshal(benchPlan())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplicasAt is the gateway's per-request rule with the default 3-minute lead time.
func BenchmarkReplicasAt(b *testing.B) {
	p := benchPlan()
	now := t0.Add(90 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ReplicasAt(now, 3*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
