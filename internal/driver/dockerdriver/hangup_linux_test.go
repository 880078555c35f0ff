package dockerdriver

import "testing"

func TestStatSession(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want int
		ok   bool
	}{
		{"123 (sh) S 1 123 123 34816 123 4194560", 123, true},
		{"456 (a) b (c)) R 1 2 77 0 -1", 77, true},
		{"789 (x) S 1", 0, false},
		{"garbage", 0, false},
	} {
		got, ok := statSession(tc.stat)
		if got != tc.want || ok != tc.ok {
			t.Errorf("statSession(%q) = %d, %v; want %d, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
}
