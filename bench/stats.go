package main

import (
	"math"
	"slices"
)

// summary is a median with the range of a set of measurements.
type summary struct {
	Median, Min, Max float64
	N                int
}

// summarize returns the median, minimum and maximum of xs, ignoring NaN
// (a failed or missing run). N is the number of values used; with N == 0
// the other fields are NaN.
func summarize(xs []float64) summary {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return summary{Median: med, Min: v[0], Max: v[n-1], N: n}
}

// ratios divides a[i] by b[i] for each repetition i present in both (runs
// paired by repetition, so that drift of the machine between repetitions
// cancels). A repetition where either side is missing, failed (NaN) or
// zero is left out.
func ratios(a, b map[int]float64) []float64 {
	var out []float64
	for rep, x := range a {
		y, ok := b[rep]
		if !ok || math.IsNaN(x) || math.IsNaN(y) || y == 0 {
			continue
		}
		out = append(out, x/y)
	}
	return out
}
