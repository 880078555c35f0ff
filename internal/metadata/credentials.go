package metadata

import (
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"time"
)

// Simulated task-role credentials. ecsd has no IAM and AWS would reject
// these keys; they have the shape of temporary credentials (an ASIA key,
// a secret, a session token, an expiration), are the same for a task
// within an hour, and are replaced every hour with an expiration five to
// six hours ahead, as the ECS agent rotates them. Each secret is derived
// from its key id under the server's key, so CredentialsSecret can give
// it back to a signature verifier without a table.

// credentialsLifetime is how long after the start of its hour a key
// expires.
const credentialsLifetime = 6 * time.Hour

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func (s *Server) simulatedCredentials(taskARN, role string, now time.Time) credentialsResponse {
	hour := now.UTC().Truncate(time.Hour)
	id := "ASIA" + b32.EncodeToString(s.mac("access-key-id", taskARN, role, hour.Format(time.RFC3339))[:10])
	return credentialsResponse{
		RoleArn:         role,
		AccessKeyID:     id,
		SecretAccessKey: s.CredentialsSecret(id),
		Token:           s.sessionToken(id),
		Expiration:      hour.Add(credentialsLifetime).Format("2006-01-02T15:04:05Z"),
	}
}

// CredentialsSecret is the secret access key of a simulated key id this
// server hands out ("" for an id that cannot be one), so a SigV4
// verifier can accept requests signed with task-role credentials.
func (s *Server) CredentialsSecret(accessKeyID string) string {
	if !strings.HasPrefix(accessKeyID, "ASIA") || len(accessKeyID) != 20 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(s.mac("secret-access-key", accessKeyID)[:30])
}

func (s *Server) sessionToken(accessKeyID string) string {
	tok := append(s.mac("session-token", accessKeyID), s.mac("session-token-2", accessKeyID)...)
	return base64.StdEncoding.EncodeToString(tok)
}

// TaskRoleCredential gives a SigV4 verifier the secret and session token
// of a simulated task-role key id this server could have handed out; ok is
// false for an id that cannot be one. Expiry is not checked: the keys are
// simulated, and a task keeps using its key until it fetches the next.
func (s *Server) TaskRoleCredential(accessKeyID string) (secret, token string, ok bool) {
	secret = s.CredentialsSecret(accessKeyID)
	if secret == "" {
		return "", "", false
	}
	return secret, s.sessionToken(accessKeyID), true
}

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
