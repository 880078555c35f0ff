package clusterquery

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// instances a table matches against: two T2s in us-east-1a/b, a G2 in
// us-east-1d with a database task, an old disconnected instance.
func instances() map[string]*Target {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	return map[string]*Target{
		"small": {
			Attributes:    map[string]string{"ecs.instance-type": "t2.small", "ecs.availability-zone": "us-east-1a", "stack": "prod"},
			EC2InstanceID: "i-abcd1234", RegisteredAt: at("2018-06-18T22:28:28Z"), RunningTasksCount: 1,
			AgentConnected: true, AgentVersion: "1.14.4", TaskGroups: []string{"service:production"},
		},
		"medium": {
			Attributes:    map[string]string{"ecs.instance-type": "t2.medium", "ecs.availability-zone": "us-east-1b", "stack": "dev", "gpu": ""},
			EC2InstanceID: "i-wxyx7890", RegisteredAt: at("2018-02-12T10:00:00Z"), RunningTasksCount: 0,
			AgentConnected: true, AgentVersion: "1.14.5",
		},
		"g2": {
			Attributes:    map[string]string{"ecs.instance-type": "g2.2xlarge", "ecs.availability-zone": "us-east-1d"},
			EC2InstanceID: "i-0000000g2", RegisteredAt: at("2024-01-01T00:00:00Z"), RunningTasksCount: 3,
			AgentConnected: true, AgentVersion: "1.88.0", TaskGroups: []string{"database", "family:web"},
		},
		"old": {
			Attributes:    map[string]string{"ecs.instance-type": "g2.8xlarge", "ecs.availability-zone": "us-east-1a"},
			EC2InstanceID: "i-old", RegisteredAt: at("2016-01-01T00:00:00Z"), RunningTasksCount: 0,
			AgentConnected: false, AgentVersion: "1.9.0",
		},
	}
}

func matching(t *testing.T, src string) string {
	t.Helper()
	e, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	var out []string
	for _, name := range []string{"small", "medium", "g2", "old"} {
		if e.Match(instances()[name]) {
			out = append(out, name)
		}
	}
	return strings.Join(out, ",")
}

// The page's examples, and the other operators on the subjects it lists.
func TestMatch(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		// The developer guide's examples.
		{"attribute:ecs.instance-type == t2.small", "small"},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", "small,medium,old"},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", "old"},
		{"task:group == service:production", "small"},
		{"not(task:group == database)", "small,medium,old"},
		{"runningTasksCount == 1", "small"},
		{"agentVersion < 1.14.5", "small,old"},
		{"registeredAt < 2018-02-13", "medium,old"},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", "small,medium"},
		{"attribute:ecs.instance-type == g2.2xlarge", "g2"},
		{"attribute:stack == prod", "small"},
		// "!=" lists instances that have the attribute, unless its value
		// is the one given.
		{"attribute:stack != prod", "medium"},
		{"attribute:ecs.instance-type in [t2.small, t2.medium]", "small,medium"},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a", "small"},
		// Word spellings and symbols.
		{"attribute:stack equals prod", "small"},
		{"attribute:stack not_equals prod", "medium"},
		{"attribute:gpu exists", "medium"},
		{"attribute:gpu !exists", "small,g2,old"},
		{"attribute:gpu not_exists", "small,g2,old"},
		{"attribute:stack not_in [prod]", "medium"},
		{"attribute:stack !in [prod, dev]", ""},
		{"attribute:ecs.instance-type matches t2\\..*", "small,medium"},
		{"attribute:ecs.instance-type !~ t2.*", "g2,old"},
		{"attribute:ecs.instance-type not_matches t2.*", "g2,old"},
		// =~ matches the whole value, as Java's Pattern.matches.
		{"attribute:ecs.instance-type =~ t2", ""},
		{"runningTasksCount > 0", "small,g2"},
		{"runningTasksCount greater_than_equal 1", "small,g2"},
		{"runningTasksCount less_than 1", "medium,old"},
		{"runningTasksCount <= 0", "medium,old"},
		{"runningTasksCount != 0", "small,g2"},
		{"agentConnected == false", "old"},
		{"agentConnected == TRUE", "small,medium,g2"},
		{"agentConnected in [false]", "old"},
		{"agentVersion >= 1.14.5", "medium,g2"},
		{"agentVersion > 1.9.0", "small,medium,g2"},
		{"registeredAt >= 2018-06-18T22:28:28+00:00", "small,g2"},
		{"registeredAt > 2018-06-18T22:28:28Z", "g2"},
		{"registeredAt == 2018-06-18T22:28:28", "small"},
		{"ec2InstanceId =~ i-[a-z]+[0-9]+", "small,medium"},
		{"task:group in [database, nothing]", "g2"},
		{"task:group =~ family:.*", "g2"},
		{"task:group != database", "small"},
		{"task:group exists", "small,g2"},
		{"task:group !exists", "medium,old"},
		// Compound expressions and precedence: not binds tighter than
		// and, and tighter than or.
		{"(attribute:stack == prod or attribute:stack == dev) and runningTasksCount == 0", "medium"},
		{"attribute:stack == prod || attribute:stack == dev && runningTasksCount == 0", "small,medium"},
		{"attribute:stack == prod OR attribute:stack == dev AND runningTasksCount == 0", "small,medium"},
		{"!(attribute:stack exists) && agentConnected == true", "g2"},
		{"not attribute:stack exists and not agentConnected == true", "old"},
		{"! attribute:stack exists", "g2,old"},
		{"((task:group == database))", "g2"},
		{"attribute:stack==prod", "small"},
		{"runningTasksCount>0&&agentVersion<1.15", "small"},
		{"attribute:ecs.instance-type == 't2.small'", "small"},
		{`attribute:ecs.instance-type == "t2.small"`, "small"},
		{"attribute:ecs.instance-type in ['t2.small',\"g2.2xlarge\" ,t2.medium]", "small,medium,g2"},
	} {
		if got := matching(t, tc.expr); got != tc.want {
			t.Errorf("%s: matches %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// Malformed expressions are errors that say where and what.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "the expression is empty"},
		{"   ", "the expression is empty"},
		{"attribute:", "attribute: needs an attribute name"},
		{"colour == red", `unknown subject "colour"`},
		{"attribute:stack", "expected an operator after attribute:stack"},
		{"attribute:stack === prod", `unexpected "prod"`},
		{"attribute:stack like prod", `unknown operator "like"`},
		{"attribute:stack ==", "expected a value, found the end of the expression"},
		{"attribute:stack in prod", "operator in takes a list: [value1, value2, ...]"},
		{"attribute:stack == [prod]", "operator == takes one value, not a list"},
		{"attribute:stack in [prod", "missing ']'"},
		{"attribute:stack in [prod dev]", `expected ',' or ']' in the list, found "dev]"`},
		{"attribute:stack in []", `expected a value, found "]"`},
		{"attribute:stack == 'prod", "unterminated quoted value"},
		{"(attribute:stack == prod", "missing ')'"},
		{"attribute:stack == prod)", `unexpected ")"`},
		{"attribute:stack == prod and", "expected a subject, found the end of the expression"},
		{"attribute:stack == prod attribute:x exists", `unexpected "attribute:x ..."`},
		{"runningTasksCount == one", `runningTasksCount compares with a whole number, not "one"`},
		{"runningTasksCount exists", "operator exists is not valid for runningTasksCount"},
		{"agentConnected > true", "operator > is not valid for agentConnected"},
		{"ec2InstanceId >= i-1", "operator >= is not valid for ec2InstanceId"},
		{"registeredAt < yesterday", "registeredAt compares with a date"},
		{"registeredAt in [2018-01-01]", "operator in is not valid for registeredAt"},
		{"attribute:x =~ '('", `invalid pattern "("`},
		{"attribute:x =~ 'a(?=b)'", "invalid pattern"},
		{"attribute:x =~ (", `expected a value, found "("`},
		{strings.Repeat("(", MaxDepth+2) + "attribute:x exists" + strings.Repeat(")", MaxDepth+2), "nests deeper than"},
		{strings.Repeat("not ", MaxDepth+2) + "attribute:x exists", "nests deeper than"},
	} {
		_, err := Parse(tc.expr)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want an *Error", tc.expr, err)
			continue
		}
		if !strings.Contains(pe.Msg, tc.want) {
			t.Errorf("Parse(%q): %q, want it to contain %q", tc.expr, pe.Msg, tc.want)
		}
	}
}

// The canonical form reads back as itself and means the same.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"attribute:stack equals prod", "attribute:stack == prod"},
		{"not(task:group == database)", "not(task:group == database)"},
		{"(a:x exists)", ""}, // an error: "a:x" is not a subject
		{"attribute:a exists or attribute:b exists and attribute:c exists", "attribute:a exists or attribute:b exists and attribute:c exists"},
		{"(attribute:a exists or attribute:b exists) and attribute:c exists", "(attribute:a exists or attribute:b exists) and attribute:c exists"},
		{"attribute:a exists and (attribute:b exists and attribute:c exists)", "attribute:a exists and (attribute:b exists and attribute:c exists)"},
		{"ec2InstanceId in ['i-1',i-2]", "ec2InstanceId in [i-1, i-2]"},
		{"attribute:x == 'two words'", "attribute:x == 'two words'"},
		{`attribute:x == "it's"`, `attribute:x == it's`},
		{`attribute:x == "it's here"`, `attribute:x == "it's here"`},
		{"attribute:x =~ '(t2|m5).*'", "attribute:x =~ '(t2|m5).*'"},
		{"attribute:x == ''", "attribute:x == ''"},
		{"attribute:x in ['and', or]", "attribute:x in ['and', 'or']"},
		{"! attribute:x not_exists", "not(attribute:x !exists)"},
		{"agentConnected == True", "agentConnected == true"},
	} {
		e, err := Parse(tc.expr)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", tc.expr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.expr, err)
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"attribute:ecs.instance-type == t2.small",
		"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
		"task:group == service:production",
		"not(task:group == database)",
		"runningTasksCount == 1",
		"agentVersion < 1.14.5",
		"registeredAt < 2018-02-13",
		"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
		"(attribute:a exists || !attribute:b exists) && agentConnected == true",
		"attribute:x == \"it's\" or attribute:y !in ['a', b]",
		"registeredAt >= 2018-06-18T22:28:28+00:00",
	} {
		f.Add(s)
	}
	targets := instances()
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(src) {
				t.Fatalf("Parse(%q): error %v is not an *Error within the input", src, err)
			}
			return
		}
		canon := e.String()
		e2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) succeeded but its canonical form %q does not parse: %v", src, canon, err)
		}
		if again := e2.String(); again != canon {
			t.Fatalf("canonical form is not stable: %q -> %q -> %q", src, canon, again)
		}
		for name, tg := range targets {
			if e.Match(tg) != e2.Match(tg) {
				t.Fatalf("%q and its canonical form %q disagree on %s", src, canon, name)
			}
		}
		e.Match(&Target{}) // no attributes, no tasks: must not panic
	})
}
