package forecast

// fillGaps returns a copy of v with every non-finite value replaced: interior gaps by linear
// interpolation between the finite neighbours, leading ones by the first finite value and
// trailing ones by the last. Methods that need a complete series (filters, regressions, FFT)
// fit on this. It returns nil when v has no finite value.
func fillGaps(v []float64) []float64 {
	out := make([]float64, len(v))
	prev := -1 // index of the last finite value seen
	for i, x := range v {
		if !finite(x) {
			continue
		}
		out[i] = x
		switch {
		case prev == -1:
			for j := range i {
				out[j] = x
			}
		case i-prev > 1:
			a, b := v[prev], x
			for j := prev + 1; j < i; j++ {
				out[j] = a + (b-a)*float64(j-prev)/float64(i-prev)
			}
		}
		prev = i
	}
	if prev == -1 {
		return nil
	}
	for j := prev + 1; j < len(v); j++ {
		out[j] = v[prev]
	}
	return out
}
