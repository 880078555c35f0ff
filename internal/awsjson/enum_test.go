package awsjson

import "testing"

func TestEnumSubject(t *testing.T) {
	tests := map[string]string{
		"include":               "include",
		"include[3]":            "include",
		"managedScaling.status": "managedScaling.status",
		"containerDefinitions[0].logConfiguration.logDriver": "containerDefinitions.logConfiguration.logDriver",
		`m["a[b]\"c"].x`: "m.x",
		"":               "",
	}
	for path, want := range tests {
		if got := enumSubject(path); got != want {
			t.Errorf("enumSubject(%q) = %q, want %q", path, got, want)
		}
	}
}
