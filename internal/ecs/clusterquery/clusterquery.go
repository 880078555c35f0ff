// Package clusterquery is ECS's cluster query language: the expressions of
// ListContainerInstances' filter and of memberOf placement constraints,
// exactly as the developer guide's "Cluster query language" page defines
// them (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html):
//
//	subject operator [argument]
//
// with the subjects agentConnected, agentVersion, attribute:NAME,
// ec2InstanceId, registeredAt, runningTasksCount and task:group; the
// operators ==/equals, !=/not_equals, >/greater_than,
// >=/greater_than_equal, </less_than, <=/less_than_equal, exists,
// !exists/not_exists, in, !in/not_in, =~/matches, !~/not_matches; argument
// lists [a, b, ...]; and compound expressions joined by &&/and, ||/or and
// negated by !/not, with parentheses for precedence.
//
// Parse compiles an expression once; Expr.Match evaluates it against a
// Target, the view of one container instance the language can see. The
// package is pure and imports only the standard library, so the placement
// engine can compile memberOf expressions and match thousands of
// instances.
package clusterquery

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// Target is what an expression can see of one container instance.
type Target struct {
	// Attributes are the instance's attributes by name, built-in (ecs.*)
	// and custom; an attribute without a value maps to "".
	Attributes        map[string]string
	EC2InstanceID     string
	RegisteredAt      time.Time
	RunningTasksCount int
	AgentConnected    bool
	// AgentVersion is versionInfo.agentVersion ("" when unknown).
	AgentVersion string
	// TaskGroups are the groups of the tasks on the instance that are not
	// STOPPED ("service:web", "family:nginx", or a RunTask group).
	TaskGroups []string
}

// Subjects, as the page names them.
const (
	SubjectAgentConnected    = "agentConnected"
	SubjectAgentVersion      = "agentVersion"
	SubjectEC2InstanceID     = "ec2InstanceId"
	SubjectRegisteredAt      = "registeredAt"
	SubjectRunningTasksCount = "runningTasksCount"
	SubjectTaskGroup         = "task:group"
	// attributePrefix starts the attribute:NAME subject.
	attributePrefix = "attribute:"
)

// op is a comparison operator.
type op int

const (
	opEq op = iota
	opNe
	opGt
	opGe
	opLt
	opLe
	opExists
	opNotExists
	opIn
	opNotIn
	opMatches
	opNotMatches
)

// opNames maps every spelling the page lists onto its operator; canonical
// spellings (the symbols, and "in"/"exists") come first in opSymbols.
var opNames = map[string]op{
	"==": opEq, "equals": opEq,
	"!=": opNe, "not_equals": opNe,
	">": opGt, "greater_than": opGt,
	">=": opGe, "greater_than_equal": opGe,
	"<": opLt, "less_than": opLt,
	"<=": opLe, "less_than_equal": opLe,
	"exists":  opExists,
	"!exists": opNotExists, "not_exists": opNotExists,
	"in":  opIn,
	"!in": opNotIn, "not_in": opNotIn,
	"=~": opMatches, "matches": opMatches,
	"!~": opNotMatches, "not_matches": opNotMatches,
}

var opSymbols = [...]string{
	opEq: "==", opNe: "!=", opGt: ">", opGe: ">=", opLt: "<", opLe: "<=",
	opExists: "exists", opNotExists: "!exists", opIn: "in", opNotIn: "!in",
	opMatches: "=~", opNotMatches: "!~",
}

func (o op) String() string { return opSymbols[o] }

// negative reports an operator that holds where its positive does not:
// !=, !in, !~ (and !exists).
func (o op) positive() (op, bool) {
	switch o {
	case opNe:
		return opEq, true
	case opNotIn:
		return opIn, true
	case opNotMatches:
		return opMatches, true
	case opNotExists:
		return opExists, true
	}
	return o, false
}

// Operators each field subject accepts, as the page lists them.
// attribute:NAME takes every operator; task:group the equality, list and
// pattern ones plus exists (the page lists none for it; [I]).
var (
	equalityOps   = []op{opEq, opNe, opIn, opNotIn, opMatches, opNotMatches}
	orderingOps   = []op{opEq, opNe, opGt, opGe, opLt, opLe}
	subjectOps    = map[string][]op{SubjectAgentConnected: equalityOps, SubjectEC2InstanceID: equalityOps, SubjectAgentVersion: orderingOps, SubjectRegisteredAt: orderingOps, SubjectRunningTasksCount: orderingOps, SubjectTaskGroup: append(equalityOps[:len(equalityOps):len(equalityOps)], opExists, opNotExists)}
	registeredFmt = []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02"}
)

// MaxDepth bounds the nesting of parentheses and negations, so a hostile
// expression cannot exhaust the stack.
const MaxDepth = 100

// Error is a malformed expression. Pos is the byte offset where the
// problem was found.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (at position %d)", e.Msg, e.Pos) }

// Expr is a compiled expression.
type Expr struct{ root node }

// node is one part of a compiled expression.
type node interface {
	match(t *Target) bool
	// write appends the canonical form; prec is the binding strength of
	// the enclosing operator (0 or, 1 and, 2 not), so parentheses are
	// written only where needed.
	write(b *strings.Builder, prec int)
}

type orNode struct{ l, r node }
type andNode struct{ l, r node }
type notNode struct{ x node }

func (n *orNode) match(t *Target) bool  { return n.l.match(t) || n.r.match(t) }
func (n *andNode) match(t *Target) bool { return n.l.match(t) && n.r.match(t) }
func (n *notNode) match(t *Target) bool { return !n.x.match(t) }

func (n *orNode) write(b *strings.Builder, prec int) {
	paren(b, prec > 0, func() { n.l.write(b, 0); b.WriteString(" or "); n.r.write(b, 1) })
}

func (n *andNode) write(b *strings.Builder, prec int) {
	paren(b, prec > 1, func() { n.l.write(b, 1); b.WriteString(" and "); n.r.write(b, 2) })
}

func (n *notNode) write(b *strings.Builder, prec int) {
	b.WriteString("not(")
	n.x.write(b, 0)
	b.WriteString(")")
}

func paren(b *strings.Builder, on bool, f func()) {
	if on {
		b.WriteByte('(')
	}
	f()
	if on {
		b.WriteByte(')')
	}
}

// cmpNode is one simple expression: subject operator [argument].
type cmpNode struct {
	subject string // a Subject* constant, or attribute:NAME
	attr    string // NAME when subject is attribute:NAME
	op      op
	args    []string // one value, a list (in, !in), or none (exists)
	list    bool     // the argument was written as a list
	re      *regexp.Regexp
	times   []time.Time // registeredAt arguments, parsed
	ints    []int       // runningTasksCount arguments, parsed
}

func (n *cmpNode) write(b *strings.Builder, _ int) {
	b.WriteString(n.subject)
	b.WriteByte(' ')
	b.WriteString(n.op.String())
	switch {
	case n.op == opExists || n.op == opNotExists:
	case n.list:
		b.WriteString(" [")
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, a, true)
		}
		b.WriteByte(']')
	default:
		b.WriteByte(' ')
		writeValue(b, n.args[0], false)
	}
}

// writeValue writes a value bare when it reads back as itself, else in
// single quotes (double quotes when it holds a single quote and no double
// one; values holding both cannot be written, and the parser cannot
// produce them).
func writeValue(b *strings.Builder, v string, inList bool) {
	if v != "" && bareValue(v, inList) && !isKeyword(v) {
		b.WriteString(v)
		return
	}
	q := byte('\'')
	if strings.IndexByte(v, '\'') >= 0 {
		q = '"'
	}
	b.WriteByte(q)
	b.WriteString(v)
	b.WriteByte(q)
}

func bareValue(v string, inList bool) bool {
	for i := range len(v) {
		if endsBare(v[i], inList) {
			return false
		}
	}
	return v[0] != '\'' && v[0] != '"' && v[0] != '[' && !strings.Contains(v, "&&") && !strings.Contains(v, "||")
}

// isKeyword reports words a bare list value could be confused with; they
// are quoted in the canonical form.
func isKeyword(v string) bool {
	switch strings.ToLower(v) {
	case "and", "or", "not":
		return true
	}
	return false
}

func (n *cmpNode) match(t *Target) bool {
	if pos, neg := n.op.positive(); neg {
		// A negative operator needs the subject to exist, as the page's
		// example "attribute:stack != prod" lists "the instances with the
		// custom attribute stack unless the attribute value is prod".
		if pos == opExists {
			return !n.exists(t)
		}
		if !n.exists(t) {
			return false
		}
		return !n.eval(t, pos)
	}
	if n.op == opExists {
		return n.exists(t)
	}
	if !n.exists(t) {
		return false
	}
	return n.eval(t, n.op)
}

// exists reports whether the subject has a value on t. Fields that every
// instance has always exist; task:group exists when the instance hosts a
// task.
func (n *cmpNode) exists(t *Target) bool {
	switch n.subject {
	case SubjectEC2InstanceID:
		return t.EC2InstanceID != ""
	case SubjectAgentVersion:
		return t.AgentVersion != ""
	case SubjectRegisteredAt:
		return !t.RegisteredAt.IsZero()
	case SubjectTaskGroup:
		return len(t.TaskGroups) > 0
	case SubjectAgentConnected, SubjectRunningTasksCount:
		return true
	}
	_, ok := t.Attributes[n.attr]
	return ok
}

// eval applies a positive operator to an existing subject.
func (n *cmpNode) eval(t *Target, o op) bool {
	switch n.subject {
	case SubjectTaskGroup:
		for _, g := range t.TaskGroups {
			if n.value(g, o) {
				return true
			}
		}
		return false
	case SubjectRunningTasksCount:
		return n.compareInts(t.RunningTasksCount, o)
	case SubjectRegisteredAt:
		return n.compareTimes(t.RegisteredAt, o)
	case SubjectAgentConnected:
		return n.value(strconv.FormatBool(t.AgentConnected), o)
	case SubjectAgentVersion:
		return n.value(t.AgentVersion, o)
	case SubjectEC2InstanceID:
		return n.value(t.EC2InstanceID, o)
	}
	return n.value(t.Attributes[n.attr], o)
}

// value applies a positive operator to a string subject value. Ordering
// compares numbers numerically, dotted versions part by part (agentVersion
// < 1.14.5), anything else as strings.
func (n *cmpNode) value(v string, o op) bool {
	switch o {
	case opEq:
		return v == n.args[0]
	case opIn:
		for _, a := range n.args {
			if v == a {
				return true
			}
		}
		return false
	case opMatches:
		return n.re.MatchString(v)
	}
	c := compareValues(v, n.args[0])
	return ordered(c, o)
}

func (n *cmpNode) compareInts(v int, o op) bool {
	if o == opIn {
		for _, a := range n.ints {
			if v == a {
				return true
			}
		}
		return false
	}
	a := n.ints[0]
	c := 0
	switch {
	case v < a:
		c = -1
	case v > a:
		c = 1
	}
	return ordered(c, o)
}

func (n *cmpNode) compareTimes(v time.Time, o op) bool {
	a := n.times[0]
	return ordered(v.Compare(a), o)
}

func ordered(c int, o op) bool {
	switch o {
	case opEq:
		return c == 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	}
	return false
}

// compareValues orders two attribute or version values: as numbers when
// both are, as dotted versions when both are, else as strings.
func compareValues(a, b string) int {
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	if va, ok := parseVersion(a); ok {
		if vb, ok := parseVersion(b); ok {
			for i := 0; i < max(len(va), len(vb)); i++ {
				var x, y int
				if i < len(va) {
					x = va[i]
				}
				if i < len(vb) {
					y = vb[i]
				}
				if x != y {
					if x < y {
						return -1
					}
					return 1
				}
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}

func parseVersion(s string) ([]int, bool) {
	s = strings.TrimPrefix(s, "v")
	parts := strings.Split(s, ".")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// Match reports whether t satisfies the expression.
func (e *Expr) Match(t *Target) bool {
	if e == nil || e.root == nil {
		return true
	}
	return e.root.match(t)
}

// String is the canonical form of the expression: symbols for operators,
// lower-case keywords, single spaces, parentheses only where precedence
// needs them. Parse(e.String()) compiles to an expression with the same
// String.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.write(&b, 0)
	return b.String()
}

// Parse compiles an expression.
func Parse(src string) (*Expr, error) {
	p := &parser{src: src}
	p.skipSpace()
	if p.pos == len(p.src) {
		return nil, &Error{Pos: 0, Msg: "the expression is empty"}
	}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, p.errorf("unexpected %q", p.rest(12))
	}
	return &Expr{root: root}, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) errorf(format string, args ...any) *Error {
	return &Error{Pos: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) rest(n int) string {
	r := p.src[p.pos:]
	if len(r) > n {
		r = r[:n] + "..."
	}
	return r
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// word reads a run of characters up to a space, parenthesis, bracket or
// comma: a keyword, subject or operator spelled in letters.
func (p *parser) peekWord() string {
	i := p.pos
	for i < len(p.src) && !endsBare(p.src[i], false) && !strings.ContainsRune("!=<>~&|", rune(p.src[i])) {
		i++
	}
	return p.src[p.pos:i]
}

// endsBare reports a byte that ends a bare word. Inside a list the comma
// and closing bracket end a value too.
func endsBare(c byte, inList bool) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '(', ')':
		return true
	case ',', ']', '[':
		return inList
	}
	return false
}

// keyword consumes the boolean keyword kw (case-insensitive) if it stands
// alone at the cursor: followed by a space, a parenthesis or the end.
func (p *parser) keyword(kw string) bool {
	w := p.peekWord()
	if !strings.EqualFold(w, kw) {
		return false
	}
	p.pos += len(w)
	return true
}

func (p *parser) symbol(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *parser) parseOr(depth int) (node, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !p.symbol("||") && !p.keyword("or") {
			return l, nil
		}
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
}

func (p *parser) parseAnd(depth int) (node, error) {
	l, err := p.parseNot(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !p.symbol("&&") && !p.keyword("and") {
			return l, nil
		}
		r, err := p.parseNot(depth)
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
}

func (p *parser) parseNot(depth int) (node, error) {
	if depth > MaxDepth {
		return nil, p.errorf("the expression nests deeper than %d levels", MaxDepth)
	}
	p.skipSpace()
	start := p.pos
	// "!" negates unless it begins an operator; "not" negates when it
	// stands alone ("not(...)" and "not attribute:x exists").
	if p.pos < len(p.src) && p.src[p.pos] == '!' && !p.opAhead() {
		p.pos++
		x, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	}
	if p.keyword("not") {
		x, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	}
	p.pos = start
	if p.symbol("(") {
		x, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !p.symbol(")") {
			return nil, p.errorf("missing ')'")
		}
		return x, nil
	}
	return p.parseSimple()
}

// opAhead reports whether the cursor is at an operator spelled with '!'
// (!=, !~, !in, !exists) rather than a negation.
func (p *parser) opAhead() bool {
	r := p.src[p.pos:]
	if strings.HasPrefix(r, "!=") || strings.HasPrefix(r, "!~") {
		return true
	}
	for _, w := range []string{"!in", "!exists"} {
		if strings.HasPrefix(r, w) && (len(r) == len(w) || endsBare(r[len(w)], false)) {
			return true
		}
	}
	return false
}

// parseSimple reads subject operator [argument].
func (p *parser) parseSimple() (node, error) {
	p.skipSpace()
	start := p.pos
	subject := p.readSubject()
	if subject == "" {
		if p.pos == len(p.src) {
			return nil, p.errorf("expected a subject, found the end of the expression")
		}
		return nil, p.errorf("expected a subject, found %q", p.rest(12))
	}
	n := &cmpNode{subject: subject}
	if name, ok := strings.CutPrefix(subject, attributePrefix); ok {
		if name == "" {
			return nil, &Error{Pos: start, Msg: "attribute: needs an attribute name"}
		}
		n.attr = name
	} else if _, ok := subjectOps[subject]; !ok {
		return nil, &Error{Pos: start, Msg: fmt.Sprintf("unknown subject %q; valid subjects are agentConnected, agentVersion, attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount and task:group", subject)}
	}
	p.skipSpace()
	opPos := p.pos
	opText := p.readOperator()
	o, ok := opNames[strings.ToLower(opText)]
	if !ok {
		if opText == "" {
			return nil, p.errorf("expected an operator after %s", subject)
		}
		return nil, &Error{Pos: opPos, Msg: fmt.Sprintf("unknown operator %q", opText)}
	}
	n.op = o
	if allowed, ok := subjectOps[subject]; ok && !contains(allowed, o) {
		return nil, &Error{Pos: opPos, Msg: fmt.Sprintf("operator %s is not valid for %s", opText, subject)}
	}
	if o == opExists || o == opNotExists {
		return n, nil
	}
	p.skipSpace()
	argPos := p.pos
	if p.symbol("[") {
		if o != opIn && o != opNotIn {
			return nil, &Error{Pos: argPos, Msg: fmt.Sprintf("operator %s takes one value, not a list", opText)}
		}
		n.list = true
		args, err := p.readList()
		if err != nil {
			return nil, err
		}
		n.args = args
	} else {
		if o == opIn || o == opNotIn {
			return nil, &Error{Pos: argPos, Msg: fmt.Sprintf("operator %s takes a list: [value1, value2, ...]", opText)}
		}
		v, err := p.readValue(false)
		if err != nil {
			return nil, err
		}
		n.args = []string{v}
	}
	if err := n.compile(argPos); err != nil {
		return nil, err
	}
	return n, nil
}

func contains(ops []op, o op) bool {
	for _, x := range ops {
		if x == o {
			return true
		}
	}
	return false
}

// readSubject reads a subject: a bare word that also ends where an
// operator written without spaces begins (attribute:stack==prod).
func (p *parser) readSubject() string {
	i := p.pos
	for i < len(p.src) && !endsBare(p.src[i], false) && !strings.ContainsRune("!=<>~", rune(p.src[i])) {
		i++
	}
	w := p.src[p.pos:i]
	p.pos = i
	return w
}

// readBare reads a bare word: up to a space, a parenthesis (and in a
// list a comma or bracket).
func (p *parser) readBare(inList bool) string {
	i := p.pos
	for i < len(p.src) && !endsBare(p.src[i], inList) {
		i++
	}
	w := p.src[p.pos:i]
	p.pos = i
	return w
}

// readOperator reads a symbolic operator (==, !=, >=, >, <=, <, =~, !~,
// !in, !exists) or a word one (equals, in, not_in, ...).
func (p *parser) readOperator() string {
	r := p.src[p.pos:]
	for _, s := range []string{"==", "!=", ">=", "<=", "=~", "!~", ">", "<"} {
		if strings.HasPrefix(r, s) {
			p.pos += len(s)
			return s
		}
	}
	return p.readBare(false)
}

// readValue reads one argument: quoted ('x' or "x") or bare.
func (p *parser) readValue(inList bool) (string, error) {
	if p.pos < len(p.src) && (p.src[p.pos] == '\'' || p.src[p.pos] == '"') {
		q := p.src[p.pos]
		end := strings.IndexByte(p.src[p.pos+1:], q)
		if end < 0 {
			return "", p.errorf("unterminated quoted value")
		}
		v := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	}
	v := p.readBare(inList)
	// A bare value ends where && or || begins, so compound expressions
	// may be written without spaces.
	for _, sep := range []string{"&&", "||"} {
		if i := strings.Index(v, sep); i >= 0 {
			p.pos -= len(v) - i
			v = v[:i]
		}
	}
	if v == "" {
		if p.pos == len(p.src) {
			return "", p.errorf("expected a value, found the end of the expression")
		}
		return "", p.errorf("expected a value, found %q", p.rest(12))
	}
	return v, nil
}

// readList reads "v1, v2, ...]" after the opening bracket.
func (p *parser) readList() ([]string, error) {
	var out []string
	for {
		p.skipSpace()
		v, err := p.readValue(true)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.skipSpace()
		if p.symbol("]") {
			return out, nil
		}
		if !p.symbol(",") {
			if p.pos == len(p.src) {
				return nil, p.errorf("missing ']'")
			}
			return nil, p.errorf("expected ',' or ']' in the list, found %q", p.rest(12))
		}
	}
}

// compile checks the arguments against the subject and prepares them.
func (n *cmpNode) compile(pos int) error {
	switch n.subject {
	case SubjectRunningTasksCount:
		for _, a := range n.args {
			v, err := strconv.Atoi(a)
			if err != nil {
				return &Error{Pos: pos, Msg: fmt.Sprintf("runningTasksCount compares with a whole number, not %q", a)}
			}
			n.ints = append(n.ints, v)
		}
	case SubjectAgentConnected:
		for i, a := range n.args {
			n.args[i] = strings.ToLower(a)
		}
	case SubjectRegisteredAt:
		for _, a := range n.args {
			t, err := parseDate(a)
			if err != nil {
				return &Error{Pos: pos, Msg: fmt.Sprintf("registeredAt compares with a date (2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18), not %q", a)}
			}
			n.times = append(n.times, t)
		}
	}
	if n.op == opMatches || n.op == opNotMatches {
		// Java's Pattern.matches, which the page names, matches the whole
		// value.
		re, err := regexp.Compile(`^(?:` + n.args[0] + `)$`)
		if err != nil {
			var se *syntax.Error
			msg := err.Error()
			if errors.As(err, &se) {
				msg = string(se.Code)
			}
			return &Error{Pos: pos, Msg: fmt.Sprintf("invalid pattern %q: %s", n.args[0], msg)}
		}
		n.re = re
	}
	return nil
}

// parseDate reads the date formats the page lists; a time without a zone
// is UTC.
func parseDate(s string) (time.Time, error) {
	var err error
	for _, f := range registeredFmt {
		var t time.Time
		if t, err = time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
