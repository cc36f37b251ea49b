package main

import (
	"math"
	"slices"
	"testing"
)

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		in   []float64
		want summary
	}{
		{"one", []float64{7}, summary{Median: 7, Min: 7, Max: 7, N: 1}},
		{"odd, unsorted", []float64{9, 1, 5}, summary{Median: 5, Min: 1, Max: 9, N: 3}},
		{"even: mean of the middle two", []float64{4, 1, 3, 10}, summary{Median: 3.5, Min: 1, Max: 10, N: 4}},
		{"failed runs (NaN) are left out", []float64{nan, 2, nan, 4, 6}, summary{Median: 4, Min: 2, Max: 6, N: 3}},
		{"ties", []float64{2, 2, 2}, summary{Median: 2, Min: 2, Max: 2, N: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !slices.EqualFunc(in, tt.in, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Errorf("summarize changed its input: %v", tt.in)
			}
		})
	}
	for _, in := range [][]float64{nil, {}, {nan, nan}} {
		got := summarize(in)
		if got.N != 0 || !math.IsNaN(got.Median) || !math.IsNaN(got.Min) || !math.IsNaN(got.Max) {
			t.Errorf("summarize(%v) = %+v, want N 0 and NaN", in, got)
		}
	}
}

func TestRatios(t *testing.T) {
	nan := math.NaN()
	a := map[int]float64{0: 100, 1: 120, 2: 90, 3: nan, 4: 50}
	b := map[int]float64{0: 80, 1: 100, 2: nan, 3: 70, 5: 10, 4: 0}
	got := ratios(a, b)
	slices.Sort(got)
	want := []float64{1.2, 1.25} // reps 0 and 1; 2, 3 failed on one side, 4 divides by 0, 5 unpaired
	if !slices.Equal(got, want) {
		t.Errorf("ratios = %v, want %v", got, want)
	}
	if s := summarize(ratios(map[int]float64{}, b)); s.N != 0 {
		t.Errorf("no pairs: %+v", s)
	}
}
