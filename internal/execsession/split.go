package execsession

import (
	"errors"
	"strings"
)

// SplitCommand turns ExecuteCommand's command string into a program and
// its arguments the way the SSM agent does in a container: no shell, so
// pipes, redirections and variables need an explicit `sh -c '...'`, but
// shell-like words (github.com/google/shlex's rules):
//
//   - words are separated by spaces, tabs, CR and LF;
//   - '...' quotes literally; "..." quotes, with a backslash taking the
//     next character as it is; outside quotes a backslash does too;
//   - a '#' that starts a word starts a comment running to the end of
//     the line.
//
// A command of only blanks runs `sh`, as the agent does.
func SplitCommand(command string) ([]string, error) {
	if strings.TrimSpace(command) == "" {
		return []string{"sh"}, nil
	}
	var (
		words   []string
		word    []rune
		inWord  bool
		comment bool
		state   = stStart
	)
	for _, r := range command {
		if comment {
			if r == '\n' {
				comment = false
			}
			continue
		}
		switch state {
		case stStart, stWord:
			switch {
			case r == ' ' || r == '\t' || r == '\r' || r == '\n':
				if inWord {
					words, word, inWord = append(words, string(word)), word[:0], false
				}
				state = stStart
			case r == '#' && !inWord:
				comment = true
			case r == '"':
				inWord, state = true, stDouble
			case r == '\'':
				inWord, state = true, stSingle
			case r == '\\':
				inWord, state = true, stEscape
			default:
				inWord, state = true, stWord
				word = append(word, r)
			}
		case stEscape:
			word, state = append(word, r), stWord
		case stSingle:
			if r == '\'' {
				state = stWord
			} else {
				word = append(word, r)
			}
		case stDouble:
			switch r {
			case '"':
				state = stWord
			case '\\':
				state = stDoubleEscape
			default:
				word = append(word, r)
			}
		case stDoubleEscape:
			word, state = append(word, r), stDouble
		}
	}
	switch state {
	case stEscape, stDoubleEscape:
		return nil, errors.New("EOF found after escape character")
	case stSingle, stDouble:
		return nil, errors.New("EOF found when expecting closing quote")
	}
	if inWord {
		words = append(words, string(word))
	}
	if len(words) == 0 {
		return nil, errors.New("no command to run")
	}
	return words, nil
}

const (
	stStart = iota
	stWord
	stEscape
	stSingle
	stDouble
	stDoubleEscape
)
