package cwlogs

import (
	"math"
	"testing"

	"github.com/ecsd/ecsd/internal/ecs"
)

func TestPattern(t *testing.T) {
	for _, tt := range []struct {
		pattern, msg string
		want         bool
	}{
		{"", "anything", true},
		{"ERROR", "[ERROR] disk full", true},
		{"ERROR", "[error] disk full", false}, // case-sensitive
		{"ERROR disk", "[ERROR] disk full", true},
		{"ERROR memory", "[ERROR] disk full", false},
		{`"disk full"`, "[ERROR] disk full", true},
		{`"full disk"`, "[ERROR] disk full", false},
		{`"a \"quoted\" b"`, `x a "quoted" b`, true},
		{"?ERROR ?WARN", "WARN low", true},
		{"?ERROR ?WARN", "INFO ok", false},
		{"ERROR -disk", "[ERROR] disk full", false},
		{"ERROR -memory", "[ERROR] disk full", true},
		{`-"disk full"`, "[ERROR] disk full", false},
		{"%ERR[O]R%", "[ERROR] x", true},
		{"%^INFO%", "[ERROR] x", false},
		{"  ERROR   disk ", "ERROR disk", true},
	} {
		p, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		if got := p.Match(tt.msg); got != tt.want {
			t.Errorf("%q on %q = %v, want %v", tt.pattern, tt.msg, got, tt.want)
		}
	}
	for _, bad := range []string{`"open`, `%[%`, `{ $.a = 1 }`, `[ip, user]`, `%%`} {
		_, err := CompilePattern(bad)
		if e := ecs.AsError(err); err == nil || e.Code != "InvalidParameterException" {
			t.Errorf("%q: %v, want InvalidParameterException", bad, err)
		}
	}
}

func TestToken(t *testing.T) {
	for _, p := range []Position{{0, 0}, {1700000000000, 42}, {math.MinInt64, math.MinInt64}, {math.MaxInt64, math.MaxInt64}, {-5, 3}} {
		for _, prefix := range []string{"f", "b", ""} {
			tok := EncodeToken(prefix, p)
			gotPrefix, got, err := DecodeToken(tok)
			if err != nil || got != p || gotPrefix != prefix {
				t.Errorf("%v %q -> %q -> %q %v %v", p, prefix, tok, gotPrefix, got, err)
			}
		}
	}
	// Order of positions is the order of the tokens' text.
	if EncodeToken("f", Position{-1, 0}) >= EncodeToken("f", Position{0, 0}) {
		t.Error("tokens do not sort as positions")
	}
	for _, bad := range []string{"", "f/", "f/123", "x", "f/" + string(make([]byte, 40))} {
		if _, _, err := DecodeToken(bad); ecs.AsError(err).Message != MsgBadToken {
			t.Errorf("DecodeToken(%q) = %v", bad, err)
		}
	}
}

func TestValidation(t *testing.T) {
	var v Validation
	bad := "bad:name"
	v.GroupName(&bad, "logGroupName")
	days := int32(2)
	v.Retention(&days)
	err := ecs.AsError(v.Err())
	want := "2 validation errors detected: Value 'bad:name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; " +
		"Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"
	if err.Code != "InvalidParameterException" || err.Message != want {
		t.Errorf("got %s: %s", err.Code, err.Message)
	}
}

func TestPatternRequired(t *testing.T) {
	p, err := CompilePattern(`ERROR "disk full" ?x -y %re%`)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Required(); len(got) != 2 || got[0] != "ERROR" || got[1] != "disk full" {
		t.Fatalf("Required = %q", got)
	}
}
