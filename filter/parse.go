package filter

import (
	"strings"
	"unicode/utf8"

	"github.com/bgp-connector/bgp-connector/internal/suggest"
)

// SyntaxError is a filter string that does not parse. Error prints the filter,
// a caret line under the offending token and what was expected.
type SyntaxError struct {
	// Expr is the whole filter string.
	Expr string
	// Pos is the byte offset of the offending token in Expr (len(Expr) at the
	// end of the input).
	Pos int
	// Token is the offending token as written (empty at the end of input).
	Token string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error returns a three-line message:
//
//	filter: column 7: unknown term "colector" (did you mean "collector"?) ...
//	  type colector rrc00
//	       ^^^^^^^^
func (e *SyntaxError) Error() string {
	col := utf8.RuneCountInString(e.Expr[:min(max(e.Pos, 0), len(e.Expr))])
	width := max(utf8.RuneCountInString(e.Token), 1)
	var b strings.Builder
	b.WriteString("filter: column ")
	b.WriteString(itoa(col + 1))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	b.WriteString("\n  ")
	b.WriteString(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, e.Expr))
	b.WriteString("\n  ")
	b.WriteString(strings.Repeat(" ", col))
	b.WriteString(strings.Repeat("^", width))
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokQuoted
	tokLParen
	tokRParen
)

// token is one lexeme: its kind, unquoted text and byte span in the input.
type token struct {
	kind       tokKind
	text       string // unquoted value for tokQuoted, raw text otherwise
	pos, end   int
	unbalanced bool // a quote was not closed
}

// raw returns the token as written in the input.
func (t token) raw(expr string) string { return expr[t.pos:t.end] }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

type parser struct {
	expr  string
	pos   int
	depth int // nesting of '(' and 'not'
}

// maxDepth bounds the nesting of parentheses and 'not', so that a hostile
// filter cannot exhaust the stack of the parser or of Match.
const maxDepth = 200

func (p *parser) skipSpace() int {
	i := p.pos
	for i < len(p.expr) && isSpace(p.expr[i]) {
		i++
	}
	return i
}

// peekTerm reads the token at the current position in term position, where
// parentheses are always tokens of their own.
func (p *parser) peekTerm() token {
	i := p.skipSpace()
	if i >= len(p.expr) {
		return token{kind: tokEOF, pos: len(p.expr), end: len(p.expr)}
	}
	switch c := p.expr[i]; c {
	case '(':
		return token{kind: tokLParen, text: "(", pos: i, end: i + 1}
	case ')':
		return token{kind: tokRParen, text: ")", pos: i, end: i + 1}
	case '"', '\'':
		return p.quoted(i)
	}
	j := i
	for j < len(p.expr) && !isSpace(p.expr[j]) && p.expr[j] != '(' && p.expr[j] != ')' {
		j++
	}
	return token{kind: tokWord, text: p.expr[i:j], pos: i, end: j}
}

// peekValue reads the token at the current position in value position. A
// value may contain balanced parentheses (AS path regexes do); a ')' that
// closes nothing opened inside the value ends it and is a token of its own.
func (p *parser) peekValue() token {
	i := p.skipSpace()
	if i >= len(p.expr) {
		return token{kind: tokEOF, pos: len(p.expr), end: len(p.expr)}
	}
	switch p.expr[i] {
	case ')':
		return token{kind: tokRParen, text: ")", pos: i, end: i + 1}
	case '"', '\'':
		return p.quoted(i)
	}
	depth := 0
	j := i
	for j < len(p.expr) && !isSpace(p.expr[j]) {
		if p.expr[j] == '(' {
			depth++
		} else if p.expr[j] == ')' {
			if depth == 0 {
				break
			}
			depth--
		}
		j++
	}
	return token{kind: tokWord, text: p.expr[i:j], pos: i, end: j}
}

// quoted reads a quoted value starting at i. Double quotes accept the
// escapes \" and \\; single quotes take everything up to the next quote.
func (p *parser) quoted(i int) token {
	q := p.expr[i]
	var b []byte
	j := i + 1
	for j < len(p.expr) {
		c := p.expr[j]
		if c == q {
			text := p.expr[i+1 : j]
			if b != nil {
				text = string(b)
			}
			return token{kind: tokQuoted, text: text, pos: i, end: j + 1}
		}
		if q == '"' && c == '\\' && j+1 < len(p.expr) && (p.expr[j+1] == '"' || p.expr[j+1] == '\\') {
			if b == nil {
				b = append([]byte(nil), p.expr[i+1:j]...)
			}
			b = append(b, p.expr[j+1])
			j += 2
			continue
		}
		if b != nil {
			b = append(b, c)
		}
		j++
	}
	return token{kind: tokQuoted, pos: i, end: len(p.expr), unbalanced: true}
}

func (p *parser) errAt(t token, format string, args ...any) *SyntaxError {
	return &SyntaxError{Expr: p.expr, Pos: t.pos, Token: t.raw(p.expr), Msg: sprintf(format, args...)}
}

func isKeyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

// Parse compiles a filter string. The error is a *SyntaxError.
func Parse(expr string) (*Filter, error) {
	p := &parser{expr: expr}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	t := p.peekTerm()
	if t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, p.errAt(t, "unexpected ')': no '(' to close")
		}
		return nil, p.errAt(t, "unexpected %q: expected 'and', 'or' or the end of the filter", t.raw(expr))
	}
	return newFilter(x), nil
}

func (p *parser) parseOr() (*expr, error) {
	x, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peekTerm()
		if !isKeyword(t, "or") {
			return x, nil
		}
		p.pos = t.end
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		x = joinExpr(opOr, x, y)
	}
}

func (p *parser) parseAnd() (*expr, error) {
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peekTerm()
		if !isKeyword(t, "and") {
			return x, nil
		}
		p.pos = t.end
		y, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		x = joinExpr(opAnd, x, y)
	}
}

func (p *parser) parseUnary() (*expr, error) {
	t := p.peekTerm()
	if (t.kind == tokLParen || isKeyword(t, "not")) && p.depth >= maxDepth {
		return nil, p.errAt(t, "filter nested more than %d levels deep: expected fewer parentheses and 'not's", maxDepth)
	}
	p.depth++
	defer func() { p.depth-- }()
	switch t.kind {
	case tokEOF:
		if strings.TrimSpace(p.expr) == "" {
			return nil, p.errAt(t, "empty filter: expected a term (%s)", termList)
		}
		return nil, p.errAt(t, "unexpected end of filter: expected a term (%s), 'not' or '('", termList)
	case tokLParen:
		p.pos = t.end
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		c := p.peekTerm()
		if c.kind != tokRParen {
			if c.kind == tokEOF {
				return nil, p.errAt(c, "missing ')' to close the '(' at column %d", t.pos+1)
			}
			return nil, p.errAt(c, "unexpected %q: expected 'and', 'or' or ')' to close the '(' at column %d", c.raw(p.expr), t.pos+1)
		}
		p.pos = c.end
		return x, nil
	case tokRParen:
		return nil, p.errAt(t, "unexpected ')': expected a term, 'not' or '('")
	case tokQuoted:
		return nil, p.errAt(t, "unexpected quoted value: expected a term (%s)", termList)
	}
	if isKeyword(t, "not") {
		p.pos = t.end
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notExpr(x), nil
	}
	if isKeyword(t, "and") || isKeyword(t, "or") {
		return nil, p.errAt(t, "unexpected %q: expected a term (%s)", t.text, termList)
	}
	return p.parseClause(t)
}

// parseClause reads a term and its values.
func (p *parser) parseClause(t token) (*expr, error) {
	def := lookupTerm(t.text)
	if def == nil {
		msg := sprintf("unknown term %q", t.text)
		if s := suggestTerm(t.text); s != "" {
			msg += sprintf(" (did you mean %q?)", s)
		}
		return nil, p.errAt(t, "%s: expected one of %s", msg, termList)
	}
	p.pos = t.end
	var vals []value
	for {
		v := p.peekValue()
		if v.kind == tokEOF || v.kind == tokRParen {
			break
		}
		if v.unbalanced {
			return nil, p.errAt(v, "unterminated quoted value: expected a closing %c", p.expr[v.pos])
		}
		if v.kind == tokWord {
			if isKeyword(v, "and") || isKeyword(v, "or") {
				break
			}
			if isKeyword(v, "not") {
				return nil, p.errAt(v, "unexpected 'not' after the values of %q: expected 'and not' or 'or not' (quote \"not\" to use it as a value)", def.name)
			}
		}
		vals = append(vals, value{text: v.text, pos: v.pos, raw: v.raw(p.expr), quoted: v.kind == tokQuoted})
		p.pos = v.end
	}
	if len(vals) == 0 {
		v := p.peekValue()
		return nil, p.errAt(v, "missing value after %q: expected %s", t.text, def.expect)
	}
	c, err := def.build(vals)
	if err != nil {
		return nil, p.convert(err, t)
	}
	return leafExpr(c), nil
}

// value is one value of a clause as written.
type value struct {
	text   string // unquoted
	raw    string // as written, quotes included
	pos    int    // byte offset in the filter string
	quoted bool
}

// valueError is a bad value; the parser turns it into a SyntaxError.
type valueError struct {
	v     value // the offending value; zero with atEnd
	atEnd bool  // the error is after the last value (e.g. "prefix more")
	msg   string
}

func (e *valueError) Error() string { return e.msg }

func badValue(v value, format string, args ...any) error {
	return &valueError{v: v, msg: sprintf(format, args...)}
}

func (p *parser) convert(err error, term token) error {
	ve, ok := err.(*valueError)
	if !ok {
		return &SyntaxError{Expr: p.expr, Pos: term.pos, Token: term.raw(p.expr), Msg: err.Error()}
	}
	if ve.atEnd {
		t := p.peekValue()
		return &SyntaxError{Expr: p.expr, Pos: t.pos, Token: t.raw(p.expr), Msg: ve.msg}
	}
	return &SyntaxError{Expr: p.expr, Pos: ve.v.pos, Token: ve.v.raw, Msg: ve.msg}
}

// suggestTerm returns the known term name closest to s, if close enough.
func suggestTerm(s string) string {
	s = strings.ToLower(s)
	best, bestD := "", 3
	for _, d := range terms {
		for _, n := range append([]string{d.name}, d.aliases...) {
			if dist := editDistance(s, n); dist < bestD {
				best, bestD = d.name, dist
			}
		}
	}
	if len(s) <= 2 && bestD > 1 {
		return ""
	}
	return best
}

// editDistance bounds the work on long input: what is not a term of at
// most 32 bytes is not close to one.
func editDistance(a, b string) int {
	if len(a) > 32 || len(b) > 32 {
		return 99
	}
	return suggest.Distance(a, b)
}
