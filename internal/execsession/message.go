package execsession

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The Session Manager data channel frames every binary WebSocket message
// as one ClientMessage, all integers big-endian:
//
//	offset  size  field
//	     0     4  HeaderLength (116: the bytes before PayloadLength)
//	     4    32  MessageType, UTF-8, padded with spaces
//	    36     4  SchemaVersion
//	    40     8  CreatedDate, epoch milliseconds
//	    48     8  SequenceNumber
//	    56     8  Flags (bit 0 SYN, bit 1 FIN)
//	    64    16  MessageId, a UUID, low 8 bytes first
//	    80    32  PayloadDigest, SHA-256 of Payload
//	   112     4  PayloadType
//	   116     4  PayloadLength
//	   120     -  Payload
//
// as github.com/aws/session-manager-plugin's src/message package reads and
// writes it.
const (
	// HeaderLength is what every sender writes in the first field.
	HeaderLength = 116

	offMessageType    = 4
	lenMessageType    = 32
	offSchemaVersion  = 36
	offCreatedDate    = 40
	offSequenceNumber = 48
	offFlags          = 56
	offMessageID      = 64
	offPayloadDigest  = 80
	offPayloadType    = 112
	offPayloadLength  = 116
	minFrame          = HeaderLength + 4
)

// Message types.
const (
	InputStreamData  = "input_stream_data"
	OutputStreamData = "output_stream_data"
	Acknowledge      = "acknowledge"
	ChannelClosed    = "channel_closed"
	StartPublication = "start_publication"
	PausePublication = "pause_publication"
)

// PayloadType says what a stream message's payload is.
type PayloadType uint32

// Payload types.
const (
	PayloadOutput               PayloadType = 1
	PayloadError                PayloadType = 2
	PayloadSize                 PayloadType = 3
	PayloadParameter            PayloadType = 4
	PayloadHandshakeRequest     PayloadType = 5
	PayloadHandshakeResponse    PayloadType = 6
	PayloadHandshakeComplete    PayloadType = 7
	PayloadEncChallengeRequest  PayloadType = 8
	PayloadEncChallengeResponse PayloadType = 9
	PayloadFlag                 PayloadType = 10
	PayloadStdErr               PayloadType = 11
	PayloadExitCode             PayloadType = 12
)

// Flags.
const (
	FlagSYN uint64 = 1
	FlagFIN uint64 = 2
)

// UUID is a message ID in its canonical byte order.
type UUID [16]byte

// NewUUID returns a random (version 4) UUID.
func NewUUID() UUID {
	var u UUID
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// String is the hyphenated lower-case form the plugin writes in
// acknowledgements.
func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Message is one ClientMessage.
type Message struct {
	Type           string
	SchemaVersion  uint32
	CreatedDate    uint64 // epoch milliseconds
	SequenceNumber int64
	Flags          uint64
	ID             UUID
	PayloadType    PayloadType
	Payload        []byte
}

// NewMessage returns a message of type typ created now with a fresh ID.
func NewMessage(typ string, seq int64, pt PayloadType, payload []byte) Message {
	return Message{
		Type: typ, SchemaVersion: 1, CreatedDate: uint64(time.Now().UnixMilli()),
		SequenceNumber: seq, ID: NewUUID(), PayloadType: pt, Payload: payload,
	}
}

// Errors Parse returns.
var (
	ErrShortFrame    = errors.New("frame shorter than a message header")
	ErrHeaderLength  = errors.New("header length field is not valid")
	ErrPayloadLength = errors.New("payload length disagrees with the frame")
	ErrDigest        = errors.New("payload digest does not match the payload")
	ErrNoType        = errors.New("message type is missing")
	ErrNoDate        = errors.New("created date is missing")
)

// Marshal encodes m. It fails only for a message type longer than its
// field.
func (m Message) Marshal() ([]byte, error) {
	if len(m.Type) > lenMessageType {
		return nil, fmt.Errorf("message type %q is longer than %d bytes", m.Type, lenMessageType)
	}
	b := make([]byte, minFrame+len(m.Payload))
	binary.BigEndian.PutUint32(b[0:], HeaderLength)
	copy(b[offMessageType:offMessageType+lenMessageType], bytes.Repeat([]byte{' '}, lenMessageType))
	copy(b[offMessageType:], m.Type)
	binary.BigEndian.PutUint32(b[offSchemaVersion:], m.SchemaVersion)
	binary.BigEndian.PutUint64(b[offCreatedDate:], m.CreatedDate)
	binary.BigEndian.PutUint64(b[offSequenceNumber:], uint64(m.SequenceNumber))
	binary.BigEndian.PutUint64(b[offFlags:], m.Flags)
	// The plugin writes a UUID's low half first.
	copy(b[offMessageID:], m.ID[8:])
	copy(b[offMessageID+8:], m.ID[:8])
	d := sha256.Sum256(m.Payload)
	copy(b[offPayloadDigest:], d[:])
	binary.BigEndian.PutUint32(b[offPayloadType:], uint32(m.PayloadType))
	binary.BigEndian.PutUint32(b[offPayloadLength:], uint32(len(m.Payload)))
	copy(b[minFrame:], m.Payload)
	return b, nil
}

// Parse decodes and checks one frame: the header must be whole, the
// payload length must match the frame, the digest the payload, and the
// message must have a type and a creation date (as the plugin checks).
// The payload aliases b.
func Parse(b []byte) (Message, error) {
	if len(b) < minFrame {
		return Message{}, ErrShortFrame
	}
	// Every known sender writes 116; another length would move the
	// payload but not the fields the plugin reads at fixed offsets, so it
	// is refused rather than guessed at.
	if binary.BigEndian.Uint32(b[0:]) != HeaderLength {
		return Message{}, ErrHeaderLength
	}
	var m Message
	m.Type = strings.TrimSpace(string(bytes.Trim(b[offMessageType:offMessageType+lenMessageType], "\x00")))
	m.SchemaVersion = binary.BigEndian.Uint32(b[offSchemaVersion:])
	m.CreatedDate = binary.BigEndian.Uint64(b[offCreatedDate:])
	m.SequenceNumber = int64(binary.BigEndian.Uint64(b[offSequenceNumber:]))
	m.Flags = binary.BigEndian.Uint64(b[offFlags:])
	copy(m.ID[8:], b[offMessageID:offMessageID+8])
	copy(m.ID[:8], b[offMessageID+8:offMessageID+16])
	m.PayloadType = PayloadType(binary.BigEndian.Uint32(b[offPayloadType:]))
	n := binary.BigEndian.Uint32(b[offPayloadLength:])
	payload := b[minFrame:]
	if uint64(n) != uint64(len(payload)) {
		return Message{}, ErrPayloadLength
	}
	m.Payload = payload
	if m.Type == "" {
		return Message{}, ErrNoType
	}
	if m.CreatedDate == 0 {
		return Message{}, ErrNoDate
	}
	if len(payload) > 0 {
		d := sha256.Sum256(payload)
		if !bytes.Equal(d[:], b[offPayloadDigest:offPayloadDigest+32]) {
			return Message{}, ErrDigest
		}
	}
	return m, nil
}

// The JSON payloads, with the member names the plugin uses.

// OpenDataChannelInput is the text message a client sends first.
type OpenDataChannelInput struct {
	MessageSchemaVersion string
	RequestId            string
	TokenValue           string
	ClientId             string
	ClientVersion        string
}

// AcknowledgeContent is the payload of an acknowledge message.
type AcknowledgeContent struct {
	MessageType         string `json:"AcknowledgedMessageType"`
	MessageID           string `json:"AcknowledgedMessageId"`
	SequenceNumber      int64  `json:"AcknowledgedMessageSequenceNumber"`
	IsSequentialMessage bool   `json:"IsSequentialMessage"`
}

// ChannelClosedContent is the payload of a channel_closed message. The
// plugin prints Output and exits.
type ChannelClosedContent struct {
	MessageId     string
	CreatedDate   string
	DestinationId string
	SessionId     string
	MessageType   string
	SchemaVersion int
	Output        string
}

// HandshakeRequest is what the agent asks of the client.
type HandshakeRequest struct {
	AgentVersion           string
	RequestedClientActions []RequestedClientAction
}

// RequestedClientAction is one action of a handshake request.
type RequestedClientAction struct {
	ActionType       string
	ActionParameters any
}

// SessionTypeRequest is the parameters of a SessionType action.
type SessionTypeRequest struct {
	SessionType string
	Properties  any
}

// HandshakeResponse is the client's answer to a handshake request.
type HandshakeResponse struct {
	ClientVersion          string
	ProcessedClientActions []ProcessedClientAction
	Errors                 []string
}

// ProcessedClientAction is the client's result for one action.
type ProcessedClientAction struct {
	ActionType   string
	ActionStatus int // 1 success, 2 failed, 3 unsupported
	ActionResult any
	Error        string
}

// HandshakeComplete ends the handshake; the client prints
// CustomerMessage if there is one.
type HandshakeComplete struct {
	HandshakeTimeToComplete time.Duration
	CustomerMessage         string
}

// SizeData is a terminal size, the payload of a Size message.
type SizeData struct {
	Cols uint32 `json:"cols"`
	Rows uint32 `json:"rows"`
}

// Handshake action types and session types.
const (
	ActionSessionType       = "SessionType"
	ActionKMSEncryption     = "KMSEncryption"
	SessionInteractive      = "InteractiveCommands"
	ActionStatusSuccess     = 1
	flagTerminateSession    = 2
	maxPayload              = 1024 // the agent's StreamDataPayloadSize
	acknowledgeMessageFlags = FlagSYN | FlagFIN
)
