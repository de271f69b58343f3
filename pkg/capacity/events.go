package capacity

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Event is a known surge the forecast cannot see coming from history alone: a sale, a launch, a
// batch job. While it lasts, the forecast is multiplied by Multiplier and the plan asks for at
// least MinReplicas. The gateway looks ahead by the lead time, so the capacity is ready when the
// event starts.
type Event struct {
	Name     string
	Start    time.Time
	Duration time.Duration
	// Multiplier scales the forecast during the event (>= 1; 1 when only a floor is wanted).
	Multiplier float64
	// MinReplicas is a floor of replicas during the event (0 for none).
	MinReplicas int32
}

// End is the instant the event is over.
func (e Event) End() time.Time { return e.Start.Add(e.Duration) }

// overlaps reports whether the event covers any part of [from, to).
func (e Event) overlaps(from, to time.Time) bool {
	return e.Start.Before(to) && e.End().After(from)
}

// ParseEvents reads KEDASTRAL_EVENTS: events separated by ";", each a list of key=value fields
// separated by spaces:
//
//	name=black-friday start=2026-11-27T08:00:00Z duration=6h multiplier=3; start=2026-12-01T09:00:00Z duration=1h min=20
//
// start (RFC 3339) and duration are required, and at least one of multiplier and min. Every
// problem is reported, naming the event and the field. An empty string is no events.
func ParseEvents(s string) ([]Event, error) {
	var events []Event
	var errs []error
	for i, text := range strings.Split(s, ";") {
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		e, err := parseEvent(text)
		if err != nil {
			label := fmt.Sprintf("event %d", i+1)
			if e.Name != "" {
				label += fmt.Sprintf(" (%s)", e.Name)
			}
			// One line per problem, each naming its event.
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				errs = append(errs, fmt.Errorf("%s: %w", label, e))
			}
			continue
		}
		events = append(events, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return events, nil
}

func parseEvent(text string) (Event, error) {
	e := Event{Multiplier: 1}
	var errs []error
	seen := map[string]bool{}
	for _, field := range strings.Fields(text) {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%q is not key=value", field))
			continue
		}
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s given twice", key))
			continue
		}
		seen[key] = true
		switch key {
		case "name":
			e.Name = value
		case "start":
			t, err := time.Parse(time.RFC3339, value)
			if err != nil {
				errs = append(errs, fmt.Errorf("start %q is not an RFC 3339 time such as 2026-11-27T08:00:00Z", value))
				break
			}
			e.Start = t
		case "duration":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("duration %q is not a positive duration such as 90m", value))
				break
			}
			e.Duration = d
		case "multiplier":
			m, err := strconv.ParseFloat(value, 64)
			if err != nil || !(m >= 1) || math.IsInf(m, 0) {
				errs = append(errs, fmt.Errorf("multiplier %q must be a number >= 1", value))
				break
			}
			e.Multiplier = m
		case "min":
			n, err := strconv.ParseInt(value, 10, 32)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("min %q must be a whole number of replicas >= 1", value))
				break
			}
			e.MinReplicas = int32(n)
		default:
			errs = append(errs, fmt.Errorf("unknown field %q (want name, start, duration, multiplier, min)", key))
		}
	}
	if !seen["start"] {
		errs = append(errs, errors.New("start is missing"))
	}
	if !seen["duration"] {
		errs = append(errs, errors.New("duration is missing"))
	}
	if !seen["multiplier"] && !seen["min"] {
		errs = append(errs, errors.New("give a multiplier, a min, or both"))
	}
	return e, errors.Join(errs...)
}

// FormatEvents is the inverse of ParseEvents, for logs: the agent logs the events it read.
func FormatEvents(events []Event) string {
	parts := make([]string, len(events))
	for i, e := range events {
		var b strings.Builder
		if e.Name != "" {
			fmt.Fprintf(&b, "name=%s ", e.Name)
		}
		// RFC3339Nano, so that a start with fractions of a second comes back unchanged, and in
		// the start's own offset: in UTC, a start in year 0 east of Greenwich would fall in
		// year -1, which RFC 3339 cannot write.
		fmt.Fprintf(&b, "start=%s duration=%s", e.Start.Format(time.RFC3339Nano), e.Duration)
		if e.Multiplier != 1 || e.MinReplicas == 0 { // an event needs one of the two to parse
			fmt.Fprintf(&b, " multiplier=%s", strconv.FormatFloat(e.Multiplier, 'g', -1, 64))
		}
		if e.MinReplicas > 0 {
			fmt.Fprintf(&b, " min=%d", e.MinReplicas)
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "; ")
}
