package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// kickChannel is the LISTEN/NOTIFY channel replicas wake each other on.
const kickChannel = "ecsd_kick"

// Notify sends payload to every store Listening on the database, this
// one's included. PostgreSQL delivers it only if the sending transaction
// commits; sent outside one, as here, it goes at once, so call it after the
// write it announces has committed. Payloads are at most 8000 bytes.
func (s *Store) Notify(ctx context.Context, payload string) error {
	if s.isClosed() {
		return ErrClosed
	}
	if _, err := s.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", kickChannel, payload); err != nil {
		return fmt.Errorf("pgstore: notify: %w", err)
	}
	return nil
}

// Listen calls fn with the payload of every Notify on the database, from
// any replica, until ctx ends or the store closes. It holds a connection
// of its own and, when that fails, listens again on a new one after
// retry; notifications sent while it was reconnecting are lost, which the
// loops' periodic passes make up for. ready, if not nil, is closed once
// the first LISTEN is in place.
func (s *Store) Listen(ctx context.Context, retry time.Duration, ready chan<- struct{}, fn func(payload string)) {
	s.ListenEach(ctx, retry, func() {
		if ready != nil {
			close(ready)
			ready = nil
		}
	}, fn)
}

// ListenEach is Listen, calling onListen each time a LISTEN is in place:
// at first, and after every reconnection, when the caller may want to
// make up for the notifications it missed meanwhile.
func (s *Store) ListenEach(ctx context.Context, retry time.Duration, onListen func(), fn func(payload string)) {
	for ctx.Err() == nil && !s.isClosed() {
		err := s.listenOnce(ctx, onListen, fn)
		if ctx.Err() != nil || s.isClosed() {
			return
		}
		_ = err // the database is unreachable or the connection dropped: try again
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, onListen func(), fn func(string)) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	// LISTEN belongs to the session: never hand it back to the pool.
	defer discard(conn)
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("pgstore: listen: not a pgx connection")
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+kickChannel); err != nil {
			return err
		}
		if onListen != nil {
			onListen()
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			fn(n.Payload)
		}
	})
}
