package envconf

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type spec struct {
	Name     string        `envconfig:"NAME" required:"true" desc:"the name"`
	Step     time.Duration `envconfig:"STEP" default:"1m" desc:"grid step"`
	Count    int32         `envconfig:"COUNT" default:"3"`
	Ratio    float64       `envconfig:"RATIO" default:"1.5"`
	On       bool          `envconfig:"ON" default:"false"`
	Addrs    []string      `envconfig:"ADDRS" default:"a:1"`
	History  time.Duration `envconfig:"HISTORY" default:"7d"`
	Internal int           `ignored:"true"`
	Embedded
}

type Embedded struct {
	Shared string `envconfig:"SHARED" default:"s"`
}

func TestLoad(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		want    spec
		wantErr []string
	}{
		"defaults": {
			env: map[string]string{"X_NAME": "api"},
			want: spec{Name: "api", Step: time.Minute, Count: 3, Ratio: 1.5, Addrs: []string{"a:1"}, History: 7 * 24 * time.Hour,
				Embedded: Embedded{Shared: "s"}},
		},
		"empty counts as unset": {
			env: map[string]string{"X_NAME": "api", "X_STEP": "", "X_SHARED": "mine"},
			want: spec{Name: "api", Step: time.Minute, Count: 3, Ratio: 1.5, Addrs: []string{"a:1"}, History: 7 * 24 * time.Hour,
				Embedded: Embedded{Shared: "mine"}},
		},
		"every kind set": {
			env: map[string]string{"X_NAME": "api", "X_STEP": "30s", "X_COUNT": "7", "X_RATIO": "2",
				"X_ON": "true", "X_ADDRS": " r1:6379, ,r2:6379 ", "X_HISTORY": "1d12h"},
			want: spec{Name: "api", Step: 30 * time.Second, Count: 7, Ratio: 2, On: true, Addrs: []string{"r1:6379", "r2:6379"},
				History: 36 * time.Hour, Embedded: Embedded{Shared: "s"}},
		},
		"every problem at once": {
			env: map[string]string{"X_NAME": "", "X_STEP": "soon", "X_COUNT": "9999999999", "X_RATIO": "lots", "X_ON": "maybe"},
			wantErr: []string{
				"X_NAME is required (the name)",
				`X_STEP="soon": not a duration`,
				`X_COUNT="9999999999": not an integer that fits int32`,
				`X_RATIO="lots": not a number`,
				`X_ON="maybe": not a boolean`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got spec
			err := Load("X", &got, Map(tc.env))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load() error = nil, want %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load() error = %q, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailed(t *testing.T) {
	var s spec
	err := Load("X", &s, Map(map[string]string{"X_STEP": "soon", "X_COUNT": "1"}))
	got := Failed(err)
	want := map[string]bool{"X_NAME": true, "X_STEP": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Failed(%v) mismatch (-want +got):\n%s", err, diff)
	}
}

func TestLoadRejectsUntaggedField(t *testing.T) {
	var s struct{ Forgotten string }
	if err := Load("X", &s, Map(nil)); err == nil || !strings.Contains(err.Error(), "Forgotten") {
		t.Errorf("Load(untagged field) error = %v, want one naming the field", err)
	}
}

func TestUsage(t *testing.T) {
	var b strings.Builder
	if err := Usage(&b, "X", &spec{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VARIABLE", "X_STEP", "1m", "grid step", "X_NAME", "(required)", "X_SHARED"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Usage() = %q, want it to contain %q", b.String(), want)
		}
	}
	if strings.Contains(b.String(), "INTERNAL") {
		t.Errorf("Usage() lists an ignored field:\n%s", b.String())
	}
}

func TestKeys(t *testing.T) {
	got := Keys("X", &spec{})
	want := []string{"X_NAME", "X_STEP", "X_COUNT", "X_RATIO", "X_ON", "X_ADDRS", "X_HISTORY", "X_SHARED"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Keys() mismatch (-want +got):\n%s", diff)
	}
}

func TestReport(t *testing.T) {
	if err := Report(nil, nil); err != nil {
		t.Errorf("Report(nil, nil) = %v, want nil", err)
	}
	var s spec
	loadErr := Load("X", &s, Map(map[string]string{"X_STEP": "soon"}))
	err := Report(loadErr, []error{errors.New("X_RATIO must be small")})
	want := "config: X_NAME is required (the name)\nconfig: X_STEP=\"soon\": not a duration (use e.g. 500ms, 30s, 5m, 1h, 7d)\nconfig: X_RATIO must be small"
	if err == nil || err.Error() != want {
		t.Errorf("Report() = %q, want %q", err, want)
	}
}
