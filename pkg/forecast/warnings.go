package forecast

import (
	"fmt"

	"github.com/kedastral/kedastral/pkg/series"
)

// dataWarnings looks for the ways a query commonly returns something other than a load:
// a raw counter (the query lacks rate()), detectable as values that only ever rise, with an
// occasional drop to near zero when the process restarts; and negative values.
func dataWarnings(history series.Series) []string {
	var warnings []string
	v := history.Values
	var rises, falls, resets, negatives, pairs int
	prev := -1
	for i, x := range v {
		if !finite(x) {
			continue
		}
		if x < 0 {
			negatives++
		}
		if prev >= 0 {
			pairs++
			switch d := x - v[prev]; {
			case d > 0:
				rises++
			case d < 0:
				falls++
				if x < v[prev]/10 {
					resets++
				}
			}
		}
		prev = i
	}
	// A load goes up and down about equally often; a counter goes up (on a quiet service, in
	// only some steps: none when no request came), and down only on a reset, which is rare. (A
	// sparse load, 0 but for a burst now and then, also falls only to near zero, but as often
	// as it rises.)
	if pairs >= 60 && rises >= max(30, pairs/20) && falls <= max(resets, pairs/100) && resets*4 <= rises {
		msg := "the metric only ever increases"
		if resets > 0 {
			msg += fmt.Sprintf(", except %d drops to near zero that look like counter resets", resets)
		}
		warnings = append(warnings, msg+": the query seems to return a raw counter; forecast its rate instead, e.g. sum(rate(x_total[1m]))")
	}
	if negatives > 0 {
		warnings = append(warnings, fmt.Sprintf("%d negative values: a load is never negative, so forecasts are clamped at 0; check the query", negatives))
	}
	return warnings
}
