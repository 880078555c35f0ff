package cwlogs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Pattern is a compiled filter pattern for unstructured log events, as
// FilterLogEvents (and `aws logs tail --filter-pattern`) take it:
//
//   - terms separated by spaces must all appear (ERROR Exception);
//   - "a quoted phrase" must appear as written, spaces and symbols included;
//   - ?term makes the ?-terms alternatives: at least one must appear;
//   - -term (or -"phrase") must not appear;
//   - %regex% matches a regular expression (AWS's restricted syntax, which
//     Go's RE2 covers);
//   - the empty pattern matches every event.
//
// Matching is case-sensitive and by substring, as CloudWatch Logs does for
// unstructured events. JSON ({ $.field = ... }) and space-delimited
// ([a, b]) patterns are not supported yet: CompilePattern refuses them
// with an InvalidParameterException saying so (docs/compat.md).
type Pattern struct {
	all, any, none []matcher
	// required are the literal terms and phrases every match contains, so
	// a store can look for them before handing rows to Match.
	required []string
}

type matcher func(string) bool

// CompilePattern parses a filter pattern.
func CompilePattern(p string) (*Pattern, error) {
	pat := &Pattern{}
	s := strings.TrimSpace(p)
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		return nil, InvalidParameter("ecsd does not support JSON or space-delimited filter patterns yet; use terms, \"quoted phrases\", ?alternatives, -exclusions or %%regex%%.")
	}
	for len(s) > 0 {
		neg, alt := false, false
		lit := "" // the literal a term or phrase must contain
		switch s[0] {
		case '-':
			neg, s = true, s[1:]
		case '?':
			alt, s = true, s[1:]
		}
		var m matcher
		var err error
		switch {
		case strings.HasPrefix(s, `"`):
			var phrase string
			phrase, s, err = quoted(s)
			if err != nil {
				return nil, err
			}
			m, lit = contains(phrase), phrase
		case strings.HasPrefix(s, "%"):
			end := strings.IndexByte(s[1:], '%')
			if end < 0 {
				return nil, InvalidParameter("Invalid filter pattern: unterminated regular expression.")
			}
			re, rerr := regexp.Compile(s[1 : 1+end])
			if rerr != nil || end == 0 {
				return nil, InvalidParameter("Invalid filter pattern: invalid regular expression.")
			}
			m = re.MatchString
			s = s[2+end:]
		default:
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			term := s[:end]
			s = s[end:]
			if term == "" {
				return nil, InvalidParameter("Invalid filter pattern.")
			}
			m, lit = contains(term), term
		}
		switch {
		case neg:
			pat.none = append(pat.none, m)
		case alt:
			pat.any = append(pat.any, m)
		default:
			pat.all = append(pat.all, m)
			if lit != "" {
				pat.required = append(pat.required, lit)
			}
		}
		s = strings.TrimLeft(s, " \t")
	}
	return pat, nil
}

// quoted reads a double-quoted phrase with backslash escapes from the
// start of s and returns it and what follows.
func quoted(s string) (string, string, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			phrase, err := strconv.Unquote(s[:i+1])
			if err != nil {
				// Not a Go escape (\d, say): keep the text as written.
				phrase = s[1:i]
			}
			return phrase, s[i+1:], nil
		}
	}
	return "", "", InvalidParameter("Invalid filter pattern: unterminated quoted phrase.")
}

func contains(sub string) matcher {
	return func(msg string) bool { return strings.Contains(msg, sub) }
}

// Match reports whether an event's message matches.
func (p *Pattern) Match(msg string) bool {
	for _, m := range p.none {
		if m(msg) {
			return false
		}
	}
	for _, m := range p.all {
		if !m(msg) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, m := range p.any {
		if m(msg) {
			return true
		}
	}
	return false
}

// Required returns literals every matching message contains.
func (p *Pattern) Required() []string { return p.required }

// MatchesAll reports whether the pattern keeps every event (the empty
// pattern), so a reader can skip matching.
func (p *Pattern) MatchesAll() bool {
	return len(p.all) == 0 && len(p.any) == 0 && len(p.none) == 0
}

// Tokens. GetLogEvents answers "f/..." and "b/..." tokens, FilterLogEvents
// an opaque one; ecsd's carry the (timestamp, eventId) position between
// events, in digits as AWS's do. A client only compares them for equality
// (`aws logs get-log-events` stops paging when the forward token repeats).

// Position is a place between events: after (or before) the event with
// this timestamp and id.
type Position struct{ Timestamp, ID int64 }

// EncodeToken writes a position as a token with a prefix ("f", "b", or ""
// for FilterLogEvents).
func EncodeToken(prefix string, p Position) string {
	body := fmt.Sprintf("%020d%020d", uint64(p.Timestamp)^1<<63, uint64(p.ID)^1<<63)
	if prefix == "" {
		return body
	}
	return prefix + "/" + body
}

// DecodeToken reads a token EncodeToken wrote, returning its prefix.
func DecodeToken(tok string) (string, Position, error) {
	prefix, body, ok := strings.Cut(tok, "/")
	if !ok {
		prefix, body = "", tok
	}
	if len(body) != 40 {
		return "", Position{}, InvalidParameter(MsgBadToken)
	}
	ts, err1 := strconv.ParseUint(body[:20], 10, 64)
	id, err2 := strconv.ParseUint(body[20:], 10, 64)
	if err1 != nil || err2 != nil {
		return "", Position{}, InvalidParameter(MsgBadToken)
	}
	return prefix, Position{Timestamp: int64(ts ^ 1<<63), ID: int64(id ^ 1<<63)}, nil
}

// EventID is the eventId FilterLogEvents reports: unique and stable, so
// `aws logs tail --follow` can tell events it has printed from new ones.
func EventID(id int64) string { return fmt.Sprintf("%056d", id) }
