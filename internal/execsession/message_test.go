package execsession

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []Message{
		NewMessage(OutputStreamData, 0, PayloadHandshakeRequest, []byte(`{"AgentVersion":"x"}`)),
		NewMessage(InputStreamData, 1<<40, PayloadOutput, []byte("ls -l\r")),
		NewMessage(Acknowledge, 0, 0, []byte(`{}`)),
		{Type: ChannelClosed, SchemaVersion: 1, CreatedDate: 1, SequenceNumber: -1, Flags: FlagSYN | FlagFIN, PayloadType: PayloadExitCode},
		{Type: strings.Repeat("x", 32), CreatedDate: ^uint64(0), Payload: bytes.Repeat([]byte{0}, 5000)},
	} {
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", m, err)
		}
		if len(b) != 120+len(m.Payload) {
			t.Errorf("frame length %d, want %d", len(b), 120+len(m.Payload))
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(%s)): %v", m.Type, err)
		}
		if len(m.Payload) == 0 {
			m.Payload = []byte{}
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	if _, err := (Message{Type: strings.Repeat("x", 33)}).Marshal(); err == nil {
		t.Error("a message type longer than 32 bytes was marshalled")
	}
}

// TestMessageLayout pins the byte layout the plugin reads and writes
// (session-manager-plugin src/message/messageparser.go).
func TestMessageLayout(t *testing.T) {
	id := UUID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	m := Message{Type: Acknowledge, SchemaVersion: 1, CreatedDate: 0x0102030405060708, SequenceNumber: 9,
		Flags: 3, ID: id, PayloadType: PayloadSize, Payload: []byte("ab")}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
	u64 := func(off int) uint64 { return binary.BigEndian.Uint64(b[off:]) }
	if u32(0) != 116 {
		t.Errorf("header length %d", u32(0))
	}
	if got := string(b[4:36]); got != "acknowledge"+strings.Repeat(" ", 21) {
		t.Errorf("message type field %q: want the type padded with spaces", got)
	}
	if u32(36) != 1 || u64(40) != 0x0102030405060708 || u64(48) != 9 || u64(56) != 3 {
		t.Errorf("fixed fields: %x", b[36:64])
	}
	if want := []byte{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}; !bytes.Equal(b[64:80], want) {
		t.Errorf("message id %v: want the low half first %v", b[64:80], want)
	}
	if d := sha256.Sum256([]byte("ab")); !bytes.Equal(b[80:112], d[:]) {
		t.Error("digest is not SHA-256 of the payload")
	}
	if u32(112) != 3 || u32(116) != 2 || string(b[120:]) != "ab" {
		t.Errorf("payload fields: %x", b[112:])
	}
	if got := id.String(); got != "00010203-0405-0607-0809-0a0b0c0d0e0f" {
		t.Errorf("UUID string %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := NewMessage(InputStreamData, 3, PayloadOutput, []byte("hello")).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, ErrShortFrame},
		{"header only", good[:119], ErrShortFrame},
		{"header length", mutate(func(b []byte) []byte { b[3] = 117; return b }), ErrHeaderLength},
		{"payload longer than said", mutate(func(b []byte) []byte { return append(b, 'x') }), ErrPayloadLength},
		{"payload shorter than said", good[:len(good)-1], ErrPayloadLength},
		{"tampered payload", mutate(func(b []byte) []byte { b[120] ^= 1; return b }), ErrDigest},
		{"tampered digest", mutate(func(b []byte) []byte { b[80] ^= 1; return b }), ErrDigest},
		{"no type", mutate(func(b []byte) []byte { copy(b[4:36], bytes.Repeat([]byte{' '}, 32)); return b }), ErrNoType},
		{"no date", mutate(func(b []byte) []byte { copy(b[40:48], make([]byte, 8)); return b }), ErrNoDate},
	} {
		if _, err := Parse(tc.frame); !errors.Is(err, tc.want) {
			t.Errorf("%s: Parse = %v, want %v", tc.name, err, tc.want)
		}
	}
	// The plugin pads with spaces; NUL padding reads the same.
	nul := mutate(func(b []byte) []byte {
		copy(b[4:36], make([]byte, 32))
		copy(b[4:], InputStreamData)
		return b
	})
	if m, err := Parse(nul); err != nil || m.Type != InputStreamData {
		t.Errorf("NUL-padded type: %+v, %v", m, err)
	}
	// An empty payload carries no digest to check, as the plugin checks.
	empty := mutate(func(b []byte) []byte {
		b = b[:120]
		binary.BigEndian.PutUint32(b[116:], 0)
		copy(b[80:112], make([]byte, 32))
		return b
	})
	if _, err := Parse(empty); err != nil {
		t.Errorf("empty payload: %v", err)
	}
}

// FuzzParse: no frame makes Parse panic, and whatever it accepts
// re-encodes to a frame that parses to the same message.
func FuzzParse(f *testing.F) {
	for _, m := range []Message{
		NewMessage(InputStreamData, 0, PayloadHandshakeResponse, []byte(`{"ClientVersion":"1.3.0.0"}`)),
		NewMessage(Acknowledge, 0, 0, []byte(`{"AcknowledgedMessageSequenceNumber":1}`)),
		NewMessage(InputStreamData, 7, PayloadSize, []byte(`{"cols":80,"rows":24}`)),
		NewMessage(ChannelClosed, 0, 0, nil),
	} {
		b, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 120))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatalf("an accepted message does not marshal: %v", err)
		}
		m2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("re-encoding changed the message (-first +second):\n%s", diff)
		}
	})
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"/bin/sh", []string{"/bin/sh"}, false},
		{"  ", []string{"sh"}, false},
		{"", []string{"sh"}, false},
		{"echo hi", []string{"echo", "hi"}, false},
		{"sh -c 'echo a && echo b | cat'", []string{"sh", "-c", "echo a && echo b | cat"}, false},
		{`echo "a \"quoted\" \$word" 'it''s'`, []string{"echo", `a "quoted" $word`, "its"}, false},
		{`echo a\ b c\\d`, []string{"echo", "a b", `c\d`}, false},
		{`echo ""`, []string{"echo", ""}, false},
		{"echo a#b # a comment\nls -l", []string{"echo", "a#b", "ls", "-l"}, false},
		{"\techo\r\nx", []string{"echo", "x"}, false},
		{"# only a comment", nil, true},
		{`echo 'open`, nil, true},
		{`echo "open`, nil, true},
		{`echo trailing\`, nil, true},
		{`echo "trailing\`, nil, true},
	} {
		got, err := SplitCommand(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("SplitCommand(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SplitCommand(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
