package pgstore

//go:generate go run ./internal/gen ../sqlitestore .
