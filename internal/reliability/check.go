package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// CheckAnswer is what every ECS answer must be, whatever was asked: a 200
// with a JSON object, or a client error (4xx) whose JSON body carries the
// error code in __type (repeated in x-amzn-ErrorType) and a message. A 5xx
// blames ecsd for the client's bytes; anything else is not the protocol.
func CheckAnswer(status int, h http.Header, body []byte) error {
	if h.Get("x-amzn-RequestId") == "" {
		return fmt.Errorf("status %d without x-amzn-RequestId", status)
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Errorf("status %d: body is not a JSON object (%v): %.200q", status, err, body)
	}
	switch {
	case status == http.StatusOK:
		return nil
	case status >= 400 && status < 500:
		code, _ := obj["__type"].(string)
		if code == "" {
			return fmt.Errorf("status %d: no __type in %.200s", status, body)
		}
		if got := h.Get("x-amzn-ErrorType"); got != code {
			return fmt.Errorf("status %d: x-amzn-ErrorType %q, __type %q", status, got, code)
		}
		// ECS's UnknownOperationException carries no message; every
		// error an operation answers does.
		if msg, _ := obj["message"].(string); msg == "" && code != "UnknownOperationException" {
			return fmt.Errorf("status %d %s without a message: %.200s", status, code, body)
		}
		return nil
	}
	return fmt.Errorf("status %d: %.300s", status, body)
}
